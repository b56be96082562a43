"""`ecopy up` (what `make run` starts): local Redis, one worker and the web service, nothing to configure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support.corpus import corpus_doc
from tests.support.services import free_ports


@pytest.mark.slow
def test_up_serves_reads_and_issues_then_stops_everything(tmp_path: Path) -> None:
    web, redis_port = free_ports(2)
    env = dict(
        os.environ,
        ECOPY_DATA_DIR=str(tmp_path / "data"),
        ECOPY_PORT=str(web),
        ECOPY_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        ECOPY_PUBLIC_URL=f"http://127.0.0.1:{web}",
    )
    env.pop("ECOPY_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecopy.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{web}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "ecopy up did not answer /healthz within 60 s"
            time.sleep(0.3)
        assert health.json()["checks"] == {"registry": "ok", "redis": "ok", "store": "ok"}
        # the embedded default made its own development PKI and SQLite registry under the data dir
        assert (tmp_path / "data" / "pki" / "root.pem").is_file()
        assert (tmp_path / "data" / "registry.sqlite3").is_file()

        # credentials the way the README tells a newcomer: printed once by `ecopy admin create-key`
        def create_key(role: str) -> dict[str, str]:
            cli = [sys.executable, "-m", "ecopy.cli", "admin", "create-key", "--role", role]
            out = subprocess.run(cli, env=env, check=True, capture_output=True, text=True, timeout=60)
            return {"Authorization": f"Bearer {out.stdout.strip()}"}

        clerk, signer = create_key("clerk"), create_key("signer")
        files, _ = corpus_doc("dev_0004")
        files_form = {"files": (files[0].name, files[0].read_bytes())}
        assert httpx.post(f"{base}/api/v1/intakes", files=files_form).status_code == 401
        r = httpx.post(f"{base}/api/v1/intakes", files=files_form, headers=clerk)
        intake_id = r.json()["id"]

        def wait_for(status: str) -> dict:
            deadline = time.monotonic() + 120
            while True:
                intake = httpx.get(f"{base}/api/v1/intakes/{intake_id}", headers=clerk).json()
                if intake["status"] == status:
                    return intake
                assert intake["status"] != "failed", intake
                assert time.monotonic() < deadline, intake
                time.sleep(0.5)

        wait_for("ready")
        assert httpx.post(f"{base}/api/v1/intakes/{intake_id}/submit", headers=clerk).status_code == 200
        approved = httpx.post(f"{base}/api/v1/intakes/{intake_id}/approve", headers=signer, timeout=30).json()
        ecopy_id = wait_for("issued")["ecopy_id"]
        assert ecopy_id == approved["ecopy_id"]
        page = httpx.get(f"{base}/v/{ecopy_id}")
        assert "HỢP LỆ" in page.text
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C
        out, _ = proc.communicate(timeout=30)
    assert "ecopy đang chạy" in out
    with pytest.raises(RedisConnectionError):  # the Redis it started is stopped with it
        Redis(port=redis_port, socket_connect_timeout=0.5).ping()
