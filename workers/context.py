"""The services a job needs, set once per process by the entry point (``ecopy worker``/CLI).

RQ forks a work-horse per job, so what the parent configured is inherited. Jobs never read
settings themselves; only signer workers are configured with a signing key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.models import vn_today
from pipeline.read import ReadOptions
from pipeline.sign import SigningKey, SignOptions
from storage.objectstore import ObjectStore
from storage.registry import Registry


@dataclass(frozen=True)
class IssuerProfile:
    """Who certifies, as printed in the certification statement."""

    office: str
    certifier_name: str
    certifier_title: str
    public_url: str  # verification URL base, e.g. https://ecopy.example.gov.vn
    development_only: bool = False

    def verify_url(self, ecopy_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/v/{ecopy_id}"


@dataclass
class Services:
    store: ObjectStore
    registry: Registry
    read_options: ReadOptions
    issuer: IssuerProfile
    sign_options: SignOptions
    trust_roots: Sequence[bytes] = ()
    signing_key: Callable[[], SigningKey] | None = None  # None on OCR-only workers
    today: Callable[[], dt.date] = field(default=vn_today)  # the certification date, Vietnam time


_services: Services | None = None


def configure(services: Services) -> None:
    global _services
    _services = services


def current() -> Services:
    if _services is None:
        raise RuntimeError("workers.context.configure() was not called by the entry point")
    return _services
