"""Shared fixtures: real Redis, a real S3 server, real PostgreSQL, migrated registries.

Services start once per test session, lazily (a test run that needs no S3 starts none), and stop
at the end. They never skip: if one cannot be started, the tests that need it fail with a message
saying what to install.

* ``redis_url``   — "redis://host:port/db", an empty database of its own (flushed at start and end).
* ``s3_server``   — :class:`tests.support.services.S3Service` (endpoint "127.0.0.1:PORT", access_key, secret_key).
* ``s3_bucket``   — a fresh bucket name per test, every version removed afterwards.
* ``pg_server``   — :class:`tests.support.services.PostgresService` (session): the server tests create databases on.
* ``pg_url``      — SQLAlchemy URL of a fresh PostgreSQL database for this test, dropped after it.
* ``registry_url``/``registry`` — parametrized over sqlite and postgresql; every test gets an empty,
  migrated registry (its own SQLite file or its own PostgreSQL database).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from storage.registry import Registry
from tests.support import services
from tests.support.services import PostgresService, S3Service
from tests.support.tsa import running_tsa

pytest_plugins = ["tests.support.issued_audit", "tests.support.pki"]

T = TypeVar("T")


def _start(what: str, start: Callable[[], T]) -> T:
    try:
        return start()
    except services.ServiceError as e:
        pytest.fail(f"cannot start {what} for the tests: {e}", pytrace=False)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    svc = _start("Redis", services.start_redis)
    try:
        yield svc.url
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Service]:
    svc = _start("an S3 server (SeaweedFS)", services.start_s3)
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Service) -> Iterator[str]:
    """A bucket name nobody has used; the bucket (if a test created it) is emptied and removed after."""
    name = f"ecopy-test-{secrets.token_hex(6)}"
    yield name
    services.s3_remove_bucket(s3_server, name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresService]:
    svc = _start("PostgreSQL", services.start_postgres)
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def pg_url(pg_server: PostgresService) -> Iterator[str]:
    """A fresh, empty database for this test (≈50 ms), dropped afterwards."""
    url, drop = pg_server.create_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    reg = Registry(registry_url)
    reg.migrate()
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture(scope="session")
def tsa() -> Iterator[tuple[str, bytes]]:
    """A time-stamp authority on 127.0.0.1: (URL, its root certificate PEM)."""
    with running_tsa() as running:
        yield running
