"""A strict Square POS sandbox: Square's documented wire formats over real HTTP, per-merchant state, signed webhooks."""

from devstack.square_sandbox.app import SquareSandbox
from devstack.square_sandbox.webhooks import sign

__all__ = ["SquareSandbox", "sign"]
