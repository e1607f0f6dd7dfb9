"""The signed app instance Wix hands the app's dashboard page: the one way the restaurant's page and its API know
which site they act for.

Wix opens an app's dashboard page (and iframe endpoints) with a query parameter `instance` = `<signature>.<data>`
(dev.wix.com/docs/build-apps/develop-your-app/access/app-instances/parse-the-app-instance-query-parameter;
devforum.wix.com/en/article/app-instance-client-side):
- data: base64url (no padding) of a JSON object with `instanceId`, `signDate`, `uid`, `permissions`, ... ;
- signature: base64url (no padding) of HMAC-SHA256 over the *data part as sent* (the base64url text, not the decoded
  JSON), keyed with the app secret.
The page sends it back to the API in the `Authorization: Instance <instance>` header (ours: Wix documents sending the
instance "in the authorization header" to the app's backend, dev.wix.com/docs/build-apps/develop-your-app/frameworks/
wix-cli/app-development/authenticate-incoming-requests-to-your-backend). Wix's article "App Instance (Client Side)"
says to block access when the instance carries `aid` (an anonymous visitor, not the owner or a collaborator), so an
instance without `uid`, or with `aid`, is refused too.

Expiry: Wix documents none for this parameter, only `signDate` (when Wix signed it). So the age cap is ours: a page
stays open for a working day at most before the owner reloads it from the dashboard (which signs a fresh one), so an
instance signed more than MAX_AGE ago, or in the future beyond the clock skew, is refused. Wix now recommends its Token
Info endpoint over this HMAC check (same article, "legacy approach"); the HMAC check costs no call to Wix per request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_AGE = timedelta(hours=12)
CLOCK_SKEW = timedelta(minutes=5)
HEADER_SCHEME = "Instance"
MAX_INSTANCE_CHARS = 4096  # a signed instance is a few hundred characters


class InstanceRejected(Exception):
    """The instance is missing, malformed, not signed with our app secret, too old, or not a site user's. The message
    names the rule (never the instance itself)."""


@dataclass(frozen=True)
class SignedInstance:
    instance_id: str  # the Wix site's app instance: the tenant
    user_id: str  # `uid`: the Wix user (owner or collaborator) in the dashboard
    signed_at: datetime
    permissions: str  # "OWNER" for the site owner


def _b64url(text: str) -> bytes:
    # Wix leaves the padding off (the article says to add it back in Python).
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_instance(data: dict[str, object], app_secret: str) -> str:
    """The instance Wix would send for `data` (the Wix sandbox signs with it; tests too)."""
    payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    digest = hmac.new(app_secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=") + "." + payload


def verify_instance(instance: str | None, app_secret: str, now: datetime) -> SignedInstance:
    if not instance:
        raise InstanceRejected("no signed Wix app instance")
    if len(instance) > MAX_INSTANCE_CHARS or instance.count(".") != 1:
        raise InstanceRejected("the Wix app instance is malformed")
    signature_part, data_part = instance.split(".")
    try:
        signature = _b64url(signature_part)
    except (binascii.Error, ValueError):
        raise InstanceRejected("the Wix app instance is malformed") from None
    expected = hmac.new(app_secret.encode(), data_part.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InstanceRejected("the Wix app instance is not signed with this app's secret")
    try:
        data = json.loads(_b64url(data_part))
    except (binascii.Error, ValueError):
        raise InstanceRejected("the Wix app instance's data is not JSON") from None
    if not isinstance(data, dict):
        raise InstanceRejected("the Wix app instance's data is not an object")
    instance_id, uid, sign_date = data.get("instanceId"), data.get("uid"), data.get("signDate")
    if not isinstance(instance_id, str) or not instance_id:
        raise InstanceRejected("the Wix app instance names no instanceId")
    if data.get("aid") or not isinstance(uid, str) or not uid:
        raise InstanceRejected("the Wix app instance is not a site user's (anonymous)")
    try:
        signed_at = datetime.fromisoformat(str(sign_date).replace("Z", "+00:00"))
    except ValueError:
        raise InstanceRejected("the Wix app instance has no valid signDate") from None
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    if signed_at > now + CLOCK_SKEW or now - signed_at > MAX_AGE:
        raise InstanceRejected("the Wix app instance has expired: reopen the page from the Wix dashboard")
    permissions = data.get("permissions")
    return SignedInstance(instance_id, uid, signed_at, permissions if isinstance(permissions, str) else "")


def instance_from_header(authorization: str | None) -> str | None:
    """`Authorization: Instance <signed instance>` -> the instance (None when absent or another scheme)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() or None if scheme == HEADER_SCHEME else None
