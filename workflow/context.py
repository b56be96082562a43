"""The services the use-cases need, set once per process by the entry point (``ecopy worker``/CLI).

RQ forks a work-horse per job, so what the parent configured is inherited. Jobs never read
settings themselves; only signer workers are configured with a signing key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.certify.pades import SigningKey, SignOptions
from pipeline.errors import SigningError
from pipeline.models import vn_today
from pipeline.read.reader import ReadOptions
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


@dataclass(frozen=True)
class OfficeSigner:
    """What a signer worker needs to issue for one office: who certifies, how, with which key."""

    issuer: IssuerProfile
    sign_options: SignOptions
    signing_key: Callable[[], SigningKey] = field(repr=False)


class NoOfficeKeyError(SigningError):
    code = "office.no_key"
    default_message = (
        "Máy ký này không giữ khóa ký của cơ quan này. Hãy báo quản trị viên cấu hình khóa ký cho cơ quan."
    )


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
    offices: Mapping[str, OfficeSigner] = field(default_factory=dict)  # every office this worker signs for

    def signer_for(self, office: str | None) -> OfficeSigner:
        """The office's signing set-up. A deployment with one office signs every intake with it
        (an intake's office may then be a counter or an archive's name); with several, an intake
        of an office whose key this worker does not hold is refused."""
        found = self.offices.get(office or self.issuer.office)
        if found is not None:
            return found
        if len(self.offices) == 1:
            return next(iter(self.offices.values()))
        if not self.offices and self.signing_key is not None:
            return OfficeSigner(self.issuer, self.sign_options, self.signing_key)
        raise NoOfficeKeyError(detail=f"no signing key for office {office!r} (have: {sorted(self.offices)})")


_services: Services | None = None


def configure(services: Services) -> None:
    global _services
    _services = services


def current() -> Services:
    if _services is None:
        raise RuntimeError("workflow.context.configure() was not called by the entry point")
    return _services
