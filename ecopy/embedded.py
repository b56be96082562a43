"""``ecopy up``: the embedded default on one machine — local Redis, one worker, the web service."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from urllib.parse import urlparse

from redis import Redis
from redis.exceptions import RedisError

from ecopy import wiring
from ecopy.settings import Settings

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except RedisError:
        return False


def start_local_redis(s: Settings) -> subprocess.Popen[bytes] | None:
    """Start redis-server for ECOPY_REDIS_URL if it is on loopback and nothing answers there."""
    if _redis_answers(s.redis_url):
        return None
    url = urlparse(s.redis_url)
    if url.hostname not in LOOPBACK:
        raise SystemExit(f"Redis at {s.redis_url} does not answer; start it or fix ECOPY_REDIS_URL.")
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit(
            "redis-server is not installed: run `make run` (it installs it) or apt-get install redis-server"
        )
    redis_dir = (s.data_dir / "redis").resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(url.port or 6379),
            "--dir",
            str(redis_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        if _redis_answers(s.redis_url):
            return proc
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"redis-server did not start on port {url.port}")


def run(s: Settings) -> int:
    wiring.ensure_dev_pki(s)
    wiring.build_registry(s)
    redis_proc = start_local_redis(s)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    worker = subprocess.Popen([sys.executable, "-m", "ecopy.cli", "worker"], env=env)
    url = f"http://{s.host}:{s.port}"
    print(
        f"""
ecopy đang chạy (embedded default) — {url}
  Đăng nhập        : {url}/login        Kiểm tra bản sao: {url}/v        API: {url}/docs
  Tạo tài khoản    : .venv/bin/ecopy admin create-key --role clerk   (signer, verifier --office "…", admin)
                     .venv/bin/ecopy admin create-user TÊN --role clerk --name "Họ và tên"
  Cấp một bản sao  : .venv/bin/ecopy digitize scan.png     (nhiều tệp = nhiều trang)
  Kiểm tra         : .venv/bin/ecopy verify MÃ-BẢN-SAO  hoặc  .venv/bin/ecopy verify banSao.pdf
  Dữ liệu          : {s.data_dir.resolve()}  (chứng thư số THỬ NGHIỆM, không có giá trị pháp lý)
  Dừng             : Ctrl+C
""",
        flush=True,
    )
    try:
        import uvicorn

        uvicorn.run(wiring.build_app(s), host=s.host, port=s.port, log_level=s.log_level.lower())
    finally:
        for proc in (worker, redis_proc):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 0
