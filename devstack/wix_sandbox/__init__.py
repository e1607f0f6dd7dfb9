"""A strict Wix sandbox speaking the wire formats of shared/reference/wix-api.md over real HTTP."""

from devstack.wix_sandbox.app import WixSandbox
from devstack.wix_sandbox.orders import RESTAURANTS_APP_ID, STORES_APP_ID
from devstack.wix_sandbox.webhooks import sign_webhook

__all__ = ["RESTAURANTS_APP_ID", "STORES_APP_ID", "WixSandbox", "sign_webhook"]
