"""Secrets and tokens go to the partners' base URLs: the template and every function's settings accept https://, and
plain http:// only to a loopback address (the devstack), nothing else."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from devstack.app import TEMPLATE
from devstack.template import load_sam
from posbridge.config import OrderWorkerSettings, WixApiSettings

ACCEPTED = [
    "https://www.wixapis.com",
    "https://connect.squareupsandbox.com",
    "https://proxy.example.com/square",
    "http://127.0.0.1:8081",
    "http://localhost:9000",
]
REFUSED = [
    "http://www.wixapis.com",
    "http://10.0.0.5:8080",
    "ftp://connect.squareup.com",
    "www.wixapis.com",
    "https://",
]


def _worker(url: str) -> OrderWorkerSettings:
    return OrderWorkerSettings.from_env(
        {
            "MAPPINGS_TABLE": "t",
            "IDEMPOTENCY_TABLE": "i",
            "TENANT_SECRET_PREFIX": "p",
            "DEAD_LETTER_QUEUE_URL": "q",
            "WORK_QUEUE_URL": "w",
            "POS_API_BASE_URL": url,
        }
    )


def _wix(url: str) -> WixApiSettings:
    env = {"WIX_API_BASE_URL": url, "WIX_APP_ID": "a", "WIX_APP_SECRET_NAME": "s", "MAPPINGS_TABLE": "t"}
    return WixApiSettings.from_env(env)


@pytest.mark.parametrize("url", ACCEPTED)
def test_tls_and_loopback_urls_are_accepted(url: str) -> None:
    assert _worker(url).pos_api_base_url == url and _wix(url).wix_api_base_url == url


@pytest.mark.parametrize("url", REFUSED)
def test_other_urls_stop_the_function_at_cold_start(url: str) -> None:
    with pytest.raises(ValidationError, match="https"):
        _worker(url)
    with pytest.raises(ValidationError, match="https"):
        _wix(url)


@pytest.mark.parametrize("parameter", ["WixApiBaseUrl", "PosApiBaseUrl"])
def test_the_template_refuses_the_same_urls_at_deploy(parameter: str) -> None:
    pattern = re.compile(load_sam(TEMPLATE)["Parameters"][parameter]["AllowedPattern"])
    assert all(pattern.fullmatch(url) for url in ACCEPTED)
    assert not any(pattern.fullmatch(url) for url in REFUSED)
