"""All configuration, from ``ECOPY_*`` environment variables or a ``.env`` file.

Read only in entry points (CLI, API factory, worker start-up); everything below receives
plain values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ECOPY_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Embedded default: registry, files and dev PKI live here")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite under data_dir")

    store: Literal["fs", "s3"] = "fs"
    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_bucket: str = "ecopy"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    retention_days: int | None = Field(None, description="Object-lock retention for issued copies (S3)")
    retention_mode: Literal["COMPLIANCE", "GOVERNANCE"] = Field(
        "COMPLIANCE", description="COMPLIANCE: nobody, not even an S3 admin, can delete an issued copy early"
    )

    redis_url: str = "redis://127.0.0.1:6380/0"
    queues: str = Field("intake,sign,batch", description="Queues a worker serves, in priority order")

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field("http://127.0.0.1:8000", description="Base of the verification URL in QR codes")

    office: str = "UBND phường Thử Nghiệm (môi trường phát triển)"
    certifier_name: str = "Nguyễn Văn Thử"
    certifier_title: str = "Công chức Tư pháp - Hộ tịch"
    signing_location: str = "Việt Nam"

    pkcs12_path: Path | None = Field(None, description="Signer key; default: dev PKI under data_dir")
    pkcs12_password: SecretStr = SecretStr("")
    trust_roots: str = Field("", description="Comma-separated PEM/DER root certificate paths")
    tsa_url: str | None = Field(None, description="RFC 3161 time-stamp URL; set → PAdES B-T by default")
    signature_level: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None = Field(
        None, description="PAdES level; default B-T with a TSA URL, else B-B. B-LT/B-LTA embed OCSP/CRL"
    )
    pkcs11_token_label: str | None = Field(None, description="sign with this PKCS#11 token instead of a PKCS#12 file")
    pkcs11_module: Path = Field(Path("/usr/lib/softhsm/libsofthsm2.so"), description="the token's PKCS#11 library")
    pkcs11_pin: SecretStr = SecretStr("")
    pkcs11_key_label: str = "ecopy-signer"
    pkcs11_cert_label: str | None = Field(None, description="default: the key label")
    offices_file: Path | None = Field(None, description="TOML list of offices with their own keys (several offices)")
    extend_days: int = Field(90, description="ecopy extend re-time-stamps copies whose time-stamp expires this soon")

    tessdata_dir: Path | None = Field(None, description="OCR model folder; default: the system's (Debian vie, fast)")
    ocr_lang: str = "vie"
    ocr_check: bool = Field(True, description="re-read confident fields with a second OCR model (see make ocr-models)")
    ocr_check_tessdata_dir: Path | None = Field(None, description="second model folder (default: make ocr-models)")
    max_upload_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 60_000_000
    max_pages: int = 50
    max_total_pixels: int = 420_000_000  # over all pages of one document, checked before decoding
    parse_memory_mb: int = Field(
        1024, description="each uploaded file is decoded in a child limited to this much memory (MiB)"
    )
    parse_timeout_s: float = Field(30.0, description="... and this many seconds; past either: input.too_complex")

    # Archive batches (ecopy batch): a source over these is refused whole, a bomb entry alone.
    archive_max_entries: int = 10_000
    archive_max_total_bytes: int = 20 * 1024**3
    archive_max_ratio: float = 100.0

    # Web and API access (issue 5): sessions and rate limits against ID guessing.
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="reverse proxies whose X-Forwarded-For gives the caller's address (comma-separated)"
    )
    session_hours: float = Field(10.0, description="a web sign-in lasts this long (a counter shift)")
    rate_public_lookups_per_minute: int = Field(30, description="public verifications per minute and address")
    rate_public_misses_per_10min: int = Field(10, description="unknown e-copy IDs per 10 minutes and address")
    rate_agency_lookups_per_minute: int = Field(600, description="per minute and agency credential")
    rate_logins_per_10min: int = Field(10, description="failed sign-ins per 10 minutes and address + name")
    approve_wait_seconds: float = Field(8.0, description="an approval waits this long for the signer worker")

    log_level: str = "INFO"

    @field_validator(
        "database_url",
        "pkcs12_path",
        "tsa_url",
        "signature_level",
        "pkcs11_token_label",
        "pkcs11_cert_label",
        "offices_file",
        "tessdata_dir",
        "ocr_check_tessdata_dir",
        "retention_days",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        return None if v == "" else v

    # ---- derived ---------------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'registry.sqlite3').resolve()}"

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def queue_names(self) -> list[str]:
        return [q.strip() for q in self.queues.split(",") if q.strip()]

    @property
    def trust_root_paths(self) -> list[Path]:
        return [Path(p.strip()) for p in self.trust_roots.split(",") if p.strip()]


def load_settings() -> Settings:
    return Settings()
