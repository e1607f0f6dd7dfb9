from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.wix_sdk import WixSdk


@pytest.fixture(scope="session")
def wix_sdk() -> Iterator[WixSdk]:
    """The official Wix SDK modules, one Node process for the session."""
    sdk = WixSdk()
    yield sdk
    sdk.close()
