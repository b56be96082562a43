"""The production compose file parses (Debian's docker-compose validates without an engine)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_is_valid_and_keeps_the_key_on_the_signer_only() -> None:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is not installed (make test installs it)"
    out = subprocess.run(
        [exe, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True, text=True, check=True
    ).stdout
    services = yaml.safe_load(out)["services"]
    assert {"seaweedfs", "redis", "postgres", "api", "worker", "signer"} <= set(services)
    holders = [name for name, svc in services.items() if "ECOPY_PKCS12_PATH" in (svc.get("environment") or {})]
    assert holders == ["signer"]
    assert "--appendonly" in services["redis"]["command"] and "noeviction" in services["redis"]["command"]
    # Workers scale (no fixed name or host port), split by queue, and all have health checks.
    assert services["worker"]["command"][-1] == "intake,batch" and services["signer"]["command"][-1] == "sign"
    for name in ("worker", "signer"):
        assert "container_name" not in services[name] and "ports" not in services[name]
    for name in ("seaweedfs", "redis", "postgres", "api", "worker", "signer"):
        assert services[name].get("healthcheck"), f"{name} has no health check"
        assert services[name].get("restart") == "unless-stopped"
    volumes = yaml.safe_load(out)["volumes"]
    assert {"seaweedfs-data", "redis-data", "postgres-data"} <= set(volumes)
