"""Tenant credentials in Secrets Manager; never in the table, never in logs."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import ValidationError

from posbridge.domain.tenant import PosCredentials
from posbridge.errors import PermanentError, TransientError

CREDENTIALS_MAX_AGE_S = 300  # a rotated token is picked up within five minutes


class TenantSecrets:
    def __init__(self, prefix: str) -> None:
        self._prefix = prefix.rstrip("/")

    @cached_property
    def _client(self) -> Any:
        return boto3.client("secretsmanager")

    def name(self, instance_id: str) -> str:
        return f"{self._prefix}/{instance_id}/pos"

    def put_pos_credentials(self, instance_id: str, credentials: PosCredentials) -> None:
        """Create the tenant's secret, or store a new version of it."""
        value = json.dumps(
            {
                "accessToken": credentials.access_token.get_secret_value(),
                "webhookSignatureKey": credentials.webhook_signature_key.get_secret_value(),
            }
        )
        name = self.name(instance_id)
        try:
            self._client.put_secret_value(SecretId=name, SecretString=value)
        except self._client.exceptions.ResourceNotFoundException:
            self._client.create_secret(Name=name, SecretString=value)

    def pos_credentials(self, instance_id: str) -> PosCredentials:
        """Read through Powertools' cache (TTL), so a busy tenant costs one Secrets Manager call per five minutes."""
        try:
            value = parameters.get_secret(self.name(instance_id), transform="json", max_age=CREDENTIALS_MAX_AGE_S)
            return PosCredentials.model_validate(value)
        except GetParameterError as exc:
            if "ResourceNotFoundException" in str(exc):
                raise PermanentError("missing_pos_credentials", f"no POS credentials for tenant {instance_id}") from exc
            raise TransientError(f"Secrets Manager unavailable for tenant {instance_id}") from exc
        except (ValidationError, TransformParameterError) as exc:
            raise PermanentError("invalid_pos_credentials", f"POS credentials of {instance_id} are unreadable") from exc

    def delete_pos_credentials(self, instance_id: str) -> bool:
        """Delete the tenant's secret at once (no recovery window: the app was removed); False if already gone."""
        try:
            self._client.delete_secret(SecretId=self.name(instance_id), ForceDeleteWithoutRecovery=True)
        except self._client.exceptions.ResourceNotFoundException:
            return False
        return True
