"""Which offices this deployment signs for, and with which key, level and time-stamp authority.

One office (the embedded default and most deployments) comes from the ``ECOPY_*`` settings. Several
offices sharing one deployment (a district or province running it for its wards) are listed in a
TOML file, ``ECOPY_OFFICES_FILE``::

    [[office]]
    name = "UBND phường Bến Nghé"
    certifier_title = "Công chức Tư pháp - Hộ tịch"
    signing_location = "TP. Hồ Chí Minh"
    signature_level = "B-LTA"                  # B-B | B-T | B-LT | B-LTA
    tsa_url = "http://tsa.example.vn/tsr"
    pkcs12_path = "/run/secrets/ben-nghe.p12"  # a PKCS#12 file …
    pkcs12_password_env = "BEN_NGHE_P12_PASSWORD"

    [[office]]
    name = "UBND phường Đa Kao"
    pkcs11_token_label = "da-kao"              # … or a PKCS#11 token (HSM, USB token, SoftHSM2)
    pkcs11_key_label = "ky-so"
    pkcs11_pin_env = "DA_KAO_TOKEN_PIN"
    trust_roots = ["/etc/ecopy/roots/ca-2026.pem"]

Secrets never sit in the file: it names the environment variable that holds them. Rotating an
office's certificate is changing its key here; the registry keeps every certificate an office
has signed with, so copies signed before the rotation still verify.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.certify.pades import SigningKey, SignOptions, load_pkcs12_key
from pipeline.certify.pkcs11_token import Pkcs11KeySpec, open_pkcs11_key
from pipeline.errors import SigningError
from workflow.context import IssuerProfile, OfficeSigner

log = logging.getLogger(__name__)

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
DEFAULT_PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


class ConfigurationError(SigningError):
    code = "config.signing"
    default_message = "Cấu hình khóa ký chưa đúng. Hãy báo quản trị viên."


@dataclass(frozen=True)
class OfficeConfig:
    name: str
    certifier_name: str
    certifier_title: str
    signing_location: str
    level: str
    tsa_url: str | None
    pkcs12_path: Path | None = None
    pkcs11_token_label: str | None = None
    pkcs11_module: str = DEFAULT_PKCS11_MODULE
    pkcs11_key_label: str = "ecopy-signer"
    pkcs11_cert_label: str | None = None
    secret: str = field(default="", repr=False)  # the PKCS#12 password or the token PIN …
    secret_env: str | None = None  # … or the environment variable holding it (read when the key is opened)
    trust_roots: tuple[Path, ...] = ()
    development_only: bool = False

    def secret_value(self) -> str:
        if not self.secret_env:
            return self.secret
        value = os.environ.get(self.secret_env)
        if value is None:
            raise ConfigurationError(
                f"Thiếu biến môi trường {self.secret_env} (mật khẩu hoặc mã PIN khóa ký) của {self.name}.",
                detail=f"{self.name}: ${self.secret_env} unset",
            )
        return value

    def pkcs11_spec(self, chain: tuple[bytes, ...] = ()) -> Pkcs11KeySpec | None:
        if not self.pkcs11_token_label:
            return None
        return Pkcs11KeySpec(
            module_path=self.pkcs11_module,
            token_label=self.pkcs11_token_label,
            pin=self.secret_value(),
            key_label=self.pkcs11_key_label,
            cert_label=self.pkcs11_cert_label or self.pkcs11_key_label,
            other_certs=chain,
        )


def default_level(level: str | None, tsa_url: str | None) -> str:
    return level or ("B-T" if tsa_url else "B-B")


def parse_offices_file(path: Path, defaults: OfficeConfig) -> list[OfficeConfig]:
    """The offices of a TOML file; missing values fall back to ``defaults`` (the settings)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigurationError(f"Không đọc được tệp danh sách cơ quan {path}.", detail=str(e)) from e
    entries = data.get("office")
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"Tệp {path} không có mục [[office]] nào.", detail="no [[office]] entries")
    offices: list[OfficeConfig] = []
    for n, entry in enumerate(entries, start=1):
        where = f"{path} [[office]] #{n}"
        name = str(entry.get("name") or "").strip()
        if not name:
            raise ConfigurationError(f"Cơ quan thứ {n} trong {path} chưa có tên (name).", detail=f"{where}: no name")
        level = default_level(entry.get("signature_level"), entry.get("tsa_url") or defaults.tsa_url)
        if level not in LEVELS:
            raise ConfigurationError(f"Mức chữ ký {level!r} của {name} không hợp lệ.", detail=f"{where}: {level}")
        if not entry.get("pkcs11_token_label") and not entry.get("pkcs12_path"):
            raise ConfigurationError(
                f"Cơ quan {name} chưa có khóa ký: khai báo pkcs12_path hoặc pkcs11_token_label.",
                detail=f"{where}: no key",
            )
        secret_env = (
            entry.get("pkcs11_pin_env") if entry.get("pkcs11_token_label") else entry.get("pkcs12_password_env")
        )
        offices.append(
            OfficeConfig(
                name=name,
                certifier_name=str(entry.get("certifier_name") or defaults.certifier_name),
                certifier_title=str(entry.get("certifier_title") or defaults.certifier_title),
                signing_location=str(entry.get("signing_location") or defaults.signing_location),
                level=level,
                tsa_url=entry.get("tsa_url") or defaults.tsa_url,
                pkcs12_path=Path(entry["pkcs12_path"]) if entry.get("pkcs12_path") else None,
                pkcs11_token_label=entry.get("pkcs11_token_label"),
                pkcs11_module=str(entry.get("pkcs11_module") or DEFAULT_PKCS11_MODULE),
                pkcs11_key_label=str(entry.get("pkcs11_key_label") or "ecopy-signer"),
                pkcs11_cert_label=entry.get("pkcs11_cert_label"),
                secret_env=str(secret_env) if secret_env else None,
                trust_roots=tuple(Path(p) for p in entry.get("trust_roots") or ()),
            )
        )
    names = [o.name for o in offices]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"Tệp {path} khai báo trùng tên cơ quan.", detail=f"duplicate names in {names}")
    return offices


def key_loader(office: OfficeConfig, chain: tuple[bytes, ...] = ()) -> Callable[[], SigningKey]:
    """Opens the office's key on first use in this process (a token: one session, kept open), then
    returns the same key. Signer workers fork a process per job: the key is opened in that process."""
    cache: list[SigningKey] = []
    pid: list[int] = []

    def load() -> SigningKey:
        if cache and pid == [os.getpid()]:
            return cache[0]
        cache.clear()
        pid[:] = [os.getpid()]
        spec = office.pkcs11_spec(chain)
        if spec is not None:
            cache.append(open_pkcs11_key(spec).key)
        elif office.pkcs12_path is not None:
            try:
                data = office.pkcs12_path.read_bytes()
            except OSError as e:
                raise ConfigurationError(
                    f"Không đọc được tệp khóa ký của {office.name}: {office.pkcs12_path}.", detail=str(e)
                ) from e
            cache.append(load_pkcs12_key(data, office.secret_value().encode() or None))
        else:
            raise ConfigurationError(f"Cơ quan {office.name} chưa có khóa ký.", detail="no key configured")
        log.info("office %r: signing key %s opened", office.name, cache[0].cert_sha256[:16])
        return cache[0]

    return load


def office_signer(office: OfficeConfig, *, public_url: str, trust_roots: tuple[bytes, ...]) -> OfficeSigner:
    return OfficeSigner(
        issuer=IssuerProfile(
            office=office.name,
            certifier_name=office.certifier_name,
            certifier_title=office.certifier_title,
            public_url=public_url,
            development_only=office.development_only,
        ),
        sign_options=SignOptions(
            level=office.level,  # type: ignore[arg-type]
            timestamp_url=office.tsa_url,
            location=office.signing_location,
            trust_roots=trust_roots,
        ),
        signing_key=key_loader(office),
    )
