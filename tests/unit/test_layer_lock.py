"""The Lambda layer installs exact, hash-verified versions (pip's hash-checking mode): a substituted or changed package
fails `sam build` instead of shipping. requirements.in keeps the ranges, the same as pyproject's dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

LAYER = Path(__file__).resolve().parents[2] / "layers" / "posbridge"
PYPROJECT = LAYER.parents[1] / "pyproject.toml"


def _requirements(text: str) -> list[str]:
    """Requirement lines, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = (line.split(" #")[0].strip() for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_every_locked_package_is_pinned_and_hashed() -> None:
    locked = _requirements((LAYER / "requirements.txt").read_text())
    assert locked
    for line in locked:
        spec, *hashes = line.split(" --hash=")
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[A-Za-z0-9_.+-]+", spec.strip()), spec
        assert hashes and all(h.startswith("sha256:") for h in hashes), spec


def test_the_lock_covers_the_layers_ranges_and_they_match_pyproject() -> None:
    wanted = [Requirement(line) for line in _requirements((LAYER / "requirements.in").read_text())]
    locked = {
        Requirement(line.split(" --hash=")[0]) for line in _requirements((LAYER / "requirements.txt").read_text())
    }
    versions = {r.name.lower(): next(iter(r.specifier)).version for r in locked}
    # Every range is locked at a version it allows
    assert all(w.specifier.contains(versions[w.name.lower()]) for w in wanted)
    # And the layer's ranges are the project's runtime dependencies
    project = [Requirement(d) for d in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]]
    assert {(r.name, r.specifier, frozenset(r.extras)) for r in project} == {
        (r.name, r.specifier, frozenset(r.extras)) for r in wanted
    }
