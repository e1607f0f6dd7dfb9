"""A strict Clover sandbox: Clover's documented REST wire formats over real HTTP, per-merchant state, OAuth token
rotation, rate limits, `X-Clover-Auth` webhooks and fault injection."""

from devstack.clover_sandbox.app import CloverSandbox
from devstack.clover_sandbox.webhooks import AUTH_HEADER

__all__ = ["AUTH_HEADER", "CloverSandbox"]
