"""Wix adapter: webhook verification, OAuth tokens, REST clients."""
