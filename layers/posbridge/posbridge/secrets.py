"""Tenant credentials in Secrets Manager; never in the table, never in logs."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import boto3

from posbridge.domain.tenant import PosCredentials


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
