"""`make bench`'s cold-start rows import every handler with the environment the template gives it
(bench/coldstart.py): that environment must satisfy every function's settings, or the benchmark stops."""

from __future__ import annotations

import pytest

from bench.coldstart import _handler_env
from posbridge import config


def _all_settings(cls: type[config._Settings]) -> set[type[config._Settings]]:
    return {cls, *(c for sub in cls.__subclasses__() for c in _all_settings(sub))}


@pytest.mark.parametrize(
    "settings",
    sorted(_all_settings(config._Settings) - {config._Settings}, key=lambda c: c.__name__),
    ids=lambda c: c.__name__,
)
def test_the_benchmarks_stand_in_environment_satisfies_every_settings_class(settings: type[config._Settings]) -> None:
    # Given the variables template.yaml gives its functions, references stood in for as a deploy would resolve them
    env = _handler_env()
    # When a handler reads its settings at import / Then they validate (the per-provider JSON maps included)
    settings.from_env(env)
