"""Tenant credentials in Secrets Manager; never in the table, never in logs."""

from __future__ import annotations

import json
import uuid
from functools import cached_property
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import ValidationError

from posbridge.domain.pos_oauth import OAuthCredentials
from posbridge.domain.tenant import PosCredentials
from posbridge.errors import PermanentError, TransientError

CREDENTIALS_MAX_AGE_S = 300  # a rotated token is picked up within five minutes
_CURRENT, _PENDING = "AWSCURRENT", "AWSPENDING"  # Secrets Manager's staging labels: functions read AWSCURRENT


class TenantSecrets:
    def __init__(self, prefix: str) -> None:
        self._prefix = prefix.rstrip("/")
        self._read_for: dict[str, str] = {}  # instance id -> the tenant record (updated_at) credentials were read for

    @cached_property
    def _client(self) -> Any:
        return boto3.client("secretsmanager")

    def name(self, instance_id: str) -> str:
        return f"{self._prefix}/{instance_id}/pos"

    def stage_pos_credentials(self, instance_id: str, credentials: PosCredentials) -> str:
        """Store the credentials as a new, not yet current version (AWSPENDING) and answer its version id: nothing
        reads them until promote_pos_credentials, so a registration refused after this changes nothing."""
        fields: dict[str, str | int] = {
            "accessToken": credentials.access_token.get_secret_value(),
            "webhookSignatureKey": credentials.webhook_signature_key.get_secret_value(),
        }
        # An OAuth grant (Square's, or a registered Clover pair): the refresh token lives beside the access token
        if credentials.refresh_token is not None:
            fields["refreshToken"] = credentials.refresh_token.get_secret_value()
        if credentials.access_token_expiration is not None:
            fields["accessTokenExpiration"] = credentials.access_token_expiration
        if credentials.refresh_token_expiration is not None:
            fields["refreshTokenExpiration"] = credentials.refresh_token_expiration
        value = json.dumps(fields)
        name, version = self.name(instance_id), str(uuid.uuid4())
        try:
            self._put_pending(name, version, value)
        except self._client.exceptions.ResourceNotFoundException:
            # A secret's first version is current at once (PutSecretValue's documented rule): a new tenant has no
            # working credentials to protect, and nothing reads a secret of a site that is not a tenant.
            self._client.create_secret(Name=name, ClientRequestToken=version, SecretString=value)
        return version

    def _put_pending(self, name: str, version: str, value: str) -> None:
        self._client.put_secret_value(
            SecretId=name, ClientRequestToken=version, SecretString=value, VersionStages=[_PENDING]
        )

    def promote_pos_credentials(self, instance_id: str, version: str) -> None:
        """Make a staged version the one every function reads (AWSCURRENT)."""
        name = self.name(instance_id)
        stages = self._client.describe_secret(SecretId=name).get("VersionIdsToStages") or {}
        current = next((v for v, labels in stages.items() if _CURRENT in labels), None)
        if current == version:
            return
        move: dict[str, str] = {"MoveToVersionId": version}
        if current is not None:
            move["RemoveFromVersionId"] = current
        self._client.update_secret_version_stage(SecretId=name, VersionStage=_CURRENT, **move)

    def pos_credentials(self, instance_id: str, tenant_updated_at: str | None = None) -> PosCredentials:
        """Read through Powertools' cache (TTL), so a busy tenant costs one Secrets Manager call per five minutes.

        `tenant_updated_at`: the tenant record the caller acts for. When it changed since the credentials were last
        read for it here, the cache is bypassed: a restaurant that reconnected Square (new credentials, a new tenant
        record) is served with its new token at once, not with the revoked one for up to five minutes."""
        seen = self._read_for.get(instance_id)
        changed = tenant_updated_at is not None and seen is not None and seen != tenant_updated_at
        try:
            # AWSCURRENT is GetSecretValue's default; named because it is the label promote_pos_credentials moves
            # (moto 5.2.5 would otherwise answer the first version after a move)
            value = parameters.get_secret(
                self.name(instance_id),
                transform="json",
                max_age=CREDENTIALS_MAX_AGE_S,
                force_fetch=changed,
                VersionStage=_CURRENT,
            )
            if tenant_updated_at is not None:
                self._read_for[instance_id] = tenant_updated_at
            return _credentials(value)
        except GetParameterError as exc:
            if "ResourceNotFoundException" in str(exc):
                raise PermanentError("missing_pos_credentials", f"no POS credentials for tenant {instance_id}") from exc
            raise TransientError(f"Secrets Manager unavailable for tenant {instance_id}") from exc
        except (ValidationError, TransformParameterError) as exc:
            raise PermanentError("invalid_pos_credentials", f"POS credentials of {instance_id} are unreadable") from exc

    def staged_pos_credentials(self, instance_id: str, version: str) -> PosCredentials:
        """A staged version (not yet current: a Square OAuth grant awaiting its location), read uncached by its id."""
        try:
            value = self._client.get_secret_value(SecretId=self.name(instance_id), VersionId=version)["SecretString"]
            return _credentials(json.loads(value))
        except self._client.exceptions.ResourceNotFoundException as exc:
            raise PermanentError("missing_pos_credentials", f"no staged POS credentials for {instance_id}") from exc
        except (ValidationError, ValueError) as exc:
            raise PermanentError("invalid_pos_credentials", f"staged credentials of {instance_id} unreadable") from exc

    def delete_pos_credentials(self, instance_id: str) -> bool:
        """Delete the tenant's secret at once (no recovery window: the app was removed); False if already gone."""
        try:
            self._client.delete_secret(SecretId=self.name(instance_id), ForceDeleteWithoutRecovery=True)
        except self._client.exceptions.ResourceNotFoundException:
            return False
        return True


def _credentials(value: Any) -> PosCredentials:
    """A personal access token's credentials, or a Square OAuth grant's (with its refresh token)."""
    if isinstance(value, dict) and "refreshToken" in value:
        return OAuthCredentials.model_validate(value)
    return PosCredentials.model_validate(value)
