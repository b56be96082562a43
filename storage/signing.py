"""The registry's signing part: the certificates our offices have signed with, and the stored
versions of each e-copy. Mixed into :class:`storage.registry.Registry`; the schema is migration 0004.

* **Signer certificates** are recorded the first time a signer worker uses them and never deleted:
  after a key rotation the old certificate still identifies the copies it signed, and the public
  trust list (``/.well-known/ecopy-keys.json``, the offline QR check) keeps offering it.
* **Versions**: version 1 is the copy as issued. ``ecopy extend`` adds a document time-stamp before
  the last one's certificates expire and stores the result as a new object version; the e-copy row
  then points at the newest version, and every version's SHA-256 still finds the copy, because a
  citizen may hold any of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, RowMapping

from storage.errors import InvalidStateError, NotFoundError, RegistryError


@dataclass(frozen=True, kw_only=True)
class SignerCertificate:
    sha256: str
    office: str
    cert_pem: bytes = field(repr=False)
    not_before: dt.datetime
    not_after: dt.datetime
    first_seen: dt.datetime


@dataclass(frozen=True, kw_only=True)
class EcopyVersion:
    ecopy_id: str
    version: int
    sha256: str
    object_version: str | None
    signature_level: str
    timestamp_expiry: dt.datetime | None
    created_at: dt.datetime


def build_tables(metadata: sa.MetaData, ts: Callable[[], sa.types.TypeEngine[dt.datetime]]) -> None:
    """Table objects for queries (the migration owns the schema)."""
    sa.Table(
        "signer_certificates",
        metadata,
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("office", sa.String(255), nullable=False),
        sa.Column("cert_pem", sa.Text, nullable=False),
        sa.Column("not_before", ts(), nullable=False),
        sa.Column("not_after", ts(), nullable=False),
        sa.Column("first_seen", ts(), nullable=False),
    )
    sa.Table(
        "ecopy_versions",
        metadata,
        sa.Column("ecopy_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("object_version", sa.String(255), nullable=True),
        sa.Column("signature_level", sa.String(8), nullable=False),
        sa.Column("timestamp_expiry", ts(), nullable=True),
        sa.Column("created_at", ts(), nullable=False),
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SigningMixin:
    """Registry methods for signer certificates and e-copy versions (host provides ``_tx``, ``_tables``)."""

    _tx: Callable[..., Any]
    _tables: sa.MetaData
    _recorded_signer_certs: set[str]  # fingerprints this instance has already recorded (host initialises)

    def _st(self, name: str) -> sa.Table:
        return self._tables.tables[name]

    # ---- signer certificates -----------------------------------------------------------------
    def record_signer_certificate(self, sha256: str, office: str, cert_pem: bytes) -> None:
        """Remember a certificate an office signs with (idempotent; the first office stays).

        Called for every copy issued; after the first, a batch does not go to the database again."""
        if sha256.lower() in self._recorded_signer_certs:
            return
        cert = x509.load_pem_x509_certificate(cert_pem)
        t = self._st("signer_certificates")
        row = {
            "sha256": sha256.lower(),
            "office": office,
            "cert_pem": cert_pem.decode("ascii"),
            "not_before": cert.not_valid_before_utc,
            "not_after": cert.not_valid_after_utc,
            "first_seen": _utcnow(),
        }

        def insert(conn: Connection) -> None:
            if conn.execute(sa.select(t.c.sha256).where(t.c.sha256 == row["sha256"])).first() is None:
                conn.execute(t.insert().values(**row))

        try:
            self._tx("record signer certificate", insert)
        except RegistryError as e:  # a concurrent first use inserted it
            if not isinstance(e.__cause__, sa_exc.IntegrityError):
                raise
        self._recorded_signer_certs.add(sha256.lower())

    def signer_certificates(self) -> list[SignerCertificate]:
        t = self._st("signer_certificates")
        rows = self._tx(
            "list signer certificates",
            lambda c: c.execute(sa.select(t).order_by(t.c.office, t.c.not_before)).mappings().all(),
        )
        return [_cert_from_row(r) for r in rows]

    def known_signer_fingerprints(self) -> set[str]:
        t = self._st("signer_certificates")
        rows = self._tx("list signer fingerprints", lambda c: c.execute(sa.select(t.c.sha256)).all())
        return {r[0] for r in rows}

    # ---- versions ------------------------------------------------------------------------------
    def ecopy_versions(self, ecopy_id: str) -> list[EcopyVersion]:
        t = self._st("ecopy_versions")
        query = sa.select(t).where(t.c.ecopy_id == ecopy_id).order_by(t.c.version)
        return [_version_from_row(r) for r in self._tx("list e-copy versions", lambda c: c.execute(query).mappings())]

    def _insert_version(self, conn: Connection, v: EcopyVersion) -> None:
        t = self._st("ecopy_versions")
        conn.execute(
            t.insert().values(
                ecopy_id=v.ecopy_id,
                version=v.version,
                sha256=v.sha256.lower(),
                object_version=v.object_version,
                signature_level=v.signature_level,
                timestamp_expiry=v.timestamp_expiry,
                created_at=v.created_at,
            )
        )

    def add_ecopy_version(self, ecopy_id: str, *, after_version: int, version: EcopyVersion) -> None:
        """Make ``version`` the copy's current one, if its current version is still ``after_version``
        (two extenders of the same copy: one wins, the other gets InvalidStateError)."""
        ecopies = self._st("ecopies")

        def change(conn: Connection) -> None:
            updated = conn.execute(
                ecopies.update()
                .where(ecopies.c.ecopy_id == ecopy_id, ecopies.c.version == after_version)
                .values(
                    sha256=version.sha256.lower(),
                    version=version.version,
                    signature_level=version.signature_level,
                    timestamp_expiry=version.timestamp_expiry,
                    updated_at=version.created_at,
                )
            ).rowcount
            if not updated:
                exists = conn.execute(sa.select(ecopies.c.version).where(ecopies.c.ecopy_id == ecopy_id)).first()
                if exists is None:
                    raise NotFoundError(detail=f"e-copy {ecopy_id} not in registry")
                raise InvalidStateError(
                    f"Bản sao {ecopy_id} vừa được cập nhật bởi tiến trình khác.",
                    detail=f"e-copy {ecopy_id} is at version {exists[0]}, not {after_version}",
                )
            self._insert_version(conn, version)

        self._tx("add e-copy version", change)


def _cert_from_row(r: RowMapping) -> SignerCertificate:
    return SignerCertificate(
        sha256=r["sha256"],
        office=r["office"],
        cert_pem=str(r["cert_pem"]).encode("ascii"),
        not_before=r["not_before"],
        not_after=r["not_after"],
        first_seen=r["first_seen"],
    )


def _version_from_row(r: RowMapping) -> EcopyVersion:
    return EcopyVersion(
        ecopy_id=r["ecopy_id"],
        version=int(r["version"]),
        sha256=r["sha256"],
        object_version=r["object_version"],
        signature_level=r["signature_level"],
        timestamp_expiry=r["timestamp_expiry"],
        created_at=r["created_at"],
    )
