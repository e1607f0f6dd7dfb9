"""Cold-start import time of each handler module (python -X importtime), next to a bare boto3 handler."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.template import load_sam

ROOT = Path(__file__).resolve().parent.parent
BARE = ROOT / "bench" / "bare_handler"
RUNS = 7


def function_envs() -> dict[str, tuple[Path, dict[str, str]]]:
    """Each function of template.yaml (logical id) -> its code folder and the environment the template gives it
    (Globals and its own variables): literal values, parameters' defaults, and harmless local stand-ins for the
    references a deploy resolves (nothing is called at import). Only its own: a variable it lacks is lacking here."""
    sam = load_sam(ROOT / "template.yaml")
    defaults = {name: p.get("Default") for name, p in sam.get("Parameters", {}).items()}

    def local(name: str, value: object) -> str:
        if isinstance(value, dict) and defaults.get(str(value.get("Ref"))) not in (None, ""):
            value = defaults[str(value["Ref"])]  # a parameter with a default: what a deploy would pass
        if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):  # e.g. the per-provider JSON maps
            return re.sub(r"\$\{(\w+)\}", lambda m: str(defaults.get(m[1]) or _placeholder(m[1])), value["Fn::Sub"])
        return str(value) if isinstance(value, str | int | float) else _placeholder(name)

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    base = {  # the interpreter's own needs, and nothing else of this process's environment
        **{name: os.environ[name] for name in ("PATH", "HOME", "PYTHONPATH", "LANG") if name in os.environ},
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "posbridge",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    stand_ins = {  # values the template takes from resources whose stand-in must parse
        "WIX_WEBHOOK_PUBLIC_KEY": pem,
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
    }
    global_vars = sam["Globals"]["Function"].get("Environment", {}).get("Variables", {})
    found: dict[str, tuple[Path, dict[str, str]]] = {}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        declared = {**global_vars, **props.get("Environment", {}).get("Variables", {})}
        env = {name: stand_ins.get(name) or local(name, value) for name, value in declared.items()}
        found[logical_id] = (ROOT / str(props["CodeUri"]), {**base, **env})
    return found


def _placeholder(name: str) -> str:
    return f"https://bench.invalid/{name.lower()}" if name.endswith("_URL") else f"bench-{name.lower()}"


def import_ms(code_dir: Path, env: dict[str, str]) -> float:
    """Median cumulative import time of `app` (module body included) in a fresh interpreter."""
    samples = []
    for _ in range(RUNS):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import app"],
            cwd=code_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"importing {code_dir.name}/app.py failed:\n{result.stderr[-2000:]}")
        match = re.search(r"^import time:\s+\d+ \|\s+(\d+) \| app$", result.stderr, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no importtime line for app in {code_dir}")
        samples.append(int(match.group(1)) / 1000)
    return statistics.median(samples)


def rows() -> list[dict[str, object]]:
    envs: dict[Path, dict[str, str]] = {}
    for code_dir, env in function_envs().values():  # a folder serving several functions: its first one's
        envs.setdefault(code_dir.resolve(), env)
    bare = import_ms(BARE, next(iter(envs.values())))
    out: list[dict[str, object]] = [
        {"metric": "cold-start import: bare boto3 handler", "value": round(bare, 1), "unit": "ms", "ratio": 1.0}
    ]
    for code_dir, env in sorted(envs.items()):
        ms = import_ms(code_dir, env)
        out.append(
            {
                "metric": f"cold-start import: {code_dir.name}",
                "value": round(ms, 1),
                "unit": "ms",
                "ratio": round(ms / bare, 2),
            }
        )
    return out
