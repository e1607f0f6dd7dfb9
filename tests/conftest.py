"""Shared fixtures: one devstack per test session (moto + template.yaml + gateway + sandboxes on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.app import Devstack


@pytest.fixture(scope="session")
def devstack() -> Iterator[Devstack]:
    with Devstack() as stack:
        yield stack
