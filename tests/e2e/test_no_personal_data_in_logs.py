"""A full demo run logs no buyer's personal data and no secret."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devstack import demo
from devstack.app import Devstack

PERSONAL_DATA = ["ada@example.com", "+15555550100", "Ada", "Demo", "Ring the bell"]


@contextmanager
def handler_streams_into(buffer: io.StringIO) -> Iterator[None]:
    """Point every existing log handler at `buffer`: loggers made before this test hold the stdout of their time."""
    handlers = {
        h
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
        for h in logger.handlers
    } | set(logging.getLogger().handlers)
    streams = [(h, h.setStream(buffer)) for h in handlers if type(h) is logging.StreamHandler]
    try:
        yield
    finally:
        for handler, stream in streams:
            if stream is not None:
                handler.setStream(stream)


def test_the_demo_logs_no_personal_data_and_no_secret(devstack: Devstack, capfd: pytest.CaptureFixture[str]) -> None:
    # Given the demo's customers (names, e-mail, phone, note) and credentials (POS token and key, Wix app secret)
    secrets = [demo.POS_TOKEN, demo.POS_SIGNATURE_KEY, devstack.options.wix_app_secret]
    # When the whole demo runs against the session's devstack, every log line and all printed output being captured
    buffer = io.StringIO()
    capfd.readouterr()
    with handler_streams_into(buffer):
        ok = demo.Demo(devstack).run()
    output = buffer.getvalue() + "".join(capfd.readouterr())
    # Then it did its work, logged about it, and none of those values appear anywhere
    assert ok
    assert "wix order processed" in output
    leaks = [value for value in PERSONAL_DATA + secrets if value in output]
    assert leaks == []
