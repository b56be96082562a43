"""A test PKI with live revocation and time-stamping services: certomancer on 127.0.0.1.

``running_test_pki()`` (a context manager, usable outside pytest) and the session fixture
``test_pki`` generate ECDSA P-256 keys in Python (≈1 ms each, nothing committed), write a
certomancer config into a temporary folder and run ``certomancer --config X animate --port N
--no-web-ui`` on a free loopback port. It is ready when it serves the root certificate; the
certificates are then downloaded from its certificate repository, so every byte (root, TSA,
signers) is the one the server's OCSP responder, CRLs and time-stamps refer to. Start-up takes
well under 2 s. If it cannot start, the fixture fails with the server's log: it never skips.

Architecture ``ecopy`` (root "ecopy TEST root CA", valid 20 years):

* a delegated OCSP responder (EKU OCSPSigning, id-pkix-ocsp-nocheck, as real CAs run them;
  pyHanko's long-term validation rejects a root that answers OCSP itself), a CRL distribution
  point and two TSAs (EKU timeStamping): ``tsa_url`` (``tsa_not_after`` ≈ 3 years from start)
  and ``tsa2_url`` ("after renewal", ``tsa2_not_after`` ≈ 8 years), all served by the animator;
  every end-entity certificate names the OCSP URL (AIA) and the CRL URL (CRLDP).
* ``office-a`` — signer of office A (:data:`OFFICE_A`), 3 years;
* ``office-a-2`` — the same office and person after a key rotation (new key, new certificate);
* ``office-b`` — a second office (:data:`OFFICE_B`);
* ``office-a-revoked`` — office A, revoked (key compromise) one hour before start: OCSP and CRL
  say so;
* ``office-a-short`` — office A, valid from one minute before **its first use** until
  :data:`SHORT_LIFETIME` (8 s) after it. It is issued lazily in Python with the root's key (on the
  first call of any accessor with this name), not by certomancer at start-up: a lifetime counted
  from the fixture's start would already be over when a later test gets to it. Its CRLDP points at
  the root's CRL (which does not list it, so it is "good"); it names no OCSP responder because
  certomancer only answers for certificates in its config. ``issue_short_lived(lifetime,
  crl_url=…)`` issues another one under a new name (its own clock; or a CRLDP on a closed port
  to simulate a revocation outage).

Architecture ``foreign`` (its own root "ecopy FOREIGN root CA", OCSP and CRL): ``foreign`` has
a subject that copies office A's name exactly — the "re-signed with another CA" attack.

Every signer key is ECDSA P-256 (usable for ES256 JWS too). API (:class:`TestPki`):
``root_pem``, ``foreign_root_pem``, ``tsa_url``, ``tsa_cert_pem``, ``tsa_not_after``,
``tsa2_url``, ``tsa2_not_after``, ``ocsp_url``, ``crl_url``, ``base_url``, ``started_at``,
``names``; ``signer(name) -> SigningKey`` (a PKCS#12 with chain through
``pipeline.certify.pades.load_pkcs12_key``), ``pkcs12(name) -> (data, password)``, ``key_pem(name)``
(PKCS#8, unencrypted), ``cert_pem(name)``, ``office(name)``, ``not_after(name)``,
``issue_short_lived(lifetime, crl_url=None) -> name``.

Helpers for poppler's checker: ``nss_db(roots) -> Path`` (an NSS database trusting ``roots`` as
CAs, "CT,C,C") and ``run_pdfsig(pdf, roots, *args) -> str`` (pdfsig's stdout, stderr appended).
pdfsig 22.12 says "Signature is Valid" for these signatures, but "Certificate Validation: Unknown
issue with Certificate or corrupted data" for signers whose certificate names the OCSP responder
(all but the short-lived ones, which say "Certificate is Trusted"), with or without ``-no-ocsp``:
do not read its trust verdict for them; ``vfychain -pp`` on the same NSS database says the chain
is good.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from ecopy.devtools.ports import free_port
from pipeline.certify.dev_pki import SIGNER_KEY_USAGE
from pipeline.certify.pades import SigningKey, load_pkcs12_key

OFFICE_A = "UBND Phường Bến Nghé, Thành phố Hồ Chí Minh"
OFFICE_B = "UBND Xã Bình Chánh, Thành phố Hồ Chí Minh"
TEST_ORG = "ecopy TEST PKI — KHÔNG CÓ GIÁ TRỊ PHÁP LÝ"
PASSWORD = b"ecopy-test"
SHORT_LIFETIME = dt.timedelta(seconds=8)  # long enough to sign on a busy machine, short to wait out
ARCH = "ecopy"
FOREIGN_ARCH = "foreign"

# name → (architecture, entity (subject), office)
_SIGNERS: dict[str, tuple[str, str, str]] = {
    "office-a": (ARCH, "office-a", OFFICE_A),
    "office-a-2": (ARCH, "office-a", OFFICE_A),
    "office-b": (ARCH, "office-b", OFFICE_B),
    "office-a-revoked": (ARCH, "office-a", OFFICE_A),
    "foreign": (FOREIGN_ARCH, "foreign", OFFICE_A),
}
SHORT = "office-a-short"
_KEYS = ("root", "ocsp", "tsa", "tsa2", *_SIGNERS, "foreign-root", "foreign-ocsp")


class PkiStartError(RuntimeError):
    """certomancer could not be started; the message carries its log."""


@dataclass
class _Credential:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    chain_root: x509.Certificate
    office: str


@dataclass
class TestPki:
    """A running test PKI (see the module docstring). Certificates are cached per name."""

    __test__: ClassVar[bool] = False  # not a test class, whatever its name says

    base_url: str
    root_pem: bytes
    foreign_root_pem: bytes
    tsa_url: str
    tsa_cert_pem: bytes
    tsa_not_after: dt.datetime
    tsa2_url: str  # a second TSA ("after renewal"): its certificate lives longer than the first's
    tsa2_not_after: dt.datetime
    ocsp_url: str
    crl_url: str
    started_at: dt.datetime
    _root_key: ec.EllipticCurvePrivateKey = field(repr=False)
    _creds: dict[str, _Credential] = field(repr=False)
    _keys: dict[str, SigningKey] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _short_count: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return (*_SIGNERS, SHORT)

    def _cred(self, name: str) -> _Credential:
        with self._lock:
            if name not in self._creds:
                if name != SHORT:
                    raise KeyError(f"no test signer {name!r}; known: {', '.join(self.names)}")
                self._creds[name] = self._issue_short(SHORT_LIFETIME, self.crl_url)
            return self._creds[name]

    def issue_short_lived(self, lifetime: dt.timedelta = SHORT_LIFETIME, *, crl_url: str | None = None) -> str:
        """A new office-A signer valid from a minute ago until ``lifetime`` from now; its name.
        ``crl_url`` replaces the CRL distribution point (e.g. a closed port: a revocation outage)."""
        with self._lock:
            self._short_count += 1
            name = f"{SHORT}-{self._short_count}"
            self._creds[name] = self._issue_short(lifetime, crl_url or self.crl_url)
        return name

    def _issue_short(self, lifetime: dt.timedelta, crl_url: str) -> _Credential:
        root = x509.load_pem_x509_certificate(self.root_pem)
        template = self._creds["office-a"].cert
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(template.subject)
            .issuer_name(root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + lifetime)
            .add_extension(SIGNER_KEY_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
            .add_extension(
                x509.CRLDistributionPoints(
                    [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
                ),
                critical=False,
            )
            .sign(self._root_key, hashes.SHA256())
        )
        return _Credential(key, cert, root, OFFICE_A)

    def signer(self, name: str) -> SigningKey:
        cred = self._cred(name)
        with self._lock:
            if name not in self._keys:
                data, password = _pkcs12(name, cred)
                self._keys[name] = load_pkcs12_key(data, password)
            return self._keys[name]

    def pkcs12(self, name: str) -> tuple[bytes, bytes]:
        return _pkcs12(name, self._cred(name))

    def key_pem(self, name: str) -> bytes:
        return self._cred(name).key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def cert_pem(self, name: str) -> bytes:
        return self._cred(name).cert.public_bytes(serialization.Encoding.PEM)

    def office(self, name: str) -> str:
        return self._cred(name).office

    def not_after(self, name: str) -> dt.datetime:
        return self._cred(name).cert.not_valid_after_utc


def _pkcs12(name: str, cred: _Credential) -> tuple[bytes, bytes]:
    data = pkcs12.serialize_key_and_certificates(
        name=name.encode(),
        key=cred.key,
        cert=cred.cert,
        cas=[cred.chain_root],
        encryption_algorithm=serialization.BestAvailableEncryption(PASSWORD),
    )
    return data, PASSWORD


# ---- the certomancer configuration ------------------------------------------------------------
def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _ee_extensions(arch_root: str, *extra: dict[str, object]) -> list[dict[str, object]]:
    return [
        {
            "id": "key_usage",
            "critical": True,
            "smart-value": {"schema": "key-usage", "params": ["digital_signature", "non_repudiation"]},
        },
        {
            "id": "crl_distribution_points",
            "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": [arch_root]}},
        },
        {
            "id": "authority_information_access",
            "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": [arch_root]}},
        },
        *extra,
    ]


def _ca_cert(now: dt.datetime, subject: str) -> dict[str, object]:
    return {
        "subject": subject,
        "issuer": subject,
        "validity": {
            "valid-from": _iso(now - dt.timedelta(days=1)),
            "valid-to": _iso(now + dt.timedelta(days=20 * 365)),
        },
        "extensions": [
            {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
            {
                "id": "key_usage",
                "critical": True,
                "smart-value": {"schema": "key-usage", "params": ["digital_signature", "key_cert_sign", "crl_sign"]},
            },
        ],
    }


def _responder_cert(now: dt.datetime, subject: str, ca: str) -> dict[str, object]:
    """A delegated OCSP responder (EKU OCSPSigning, id-pkix-ocsp-nocheck), as real CAs run them:
    pyHanko's long-term validation asks no revocation data for it."""
    return {
        "subject": subject,
        "issuer": ca,
        "validity": {
            "valid-from": _iso(now - dt.timedelta(days=1)),
            "valid-to": _iso(now + dt.timedelta(days=10 * 365)),
        },
        "extensions": [
            {
                "id": "key_usage",
                "critical": True,
                "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
            },
            {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
            {"id": "ocsp_no_check"},
        ],
    }


def _services(ca: str, responder: str) -> dict[str, object]:
    return {
        "ocsp": {ca: {"for-issuer": ca, "responder-cert": responder, "signing-key": responder}},
        "crl-repo": {ca: {"for-issuer": ca, "signing-key": ca, "simulated-update-schedule": "P7D"}},
        "cert-repo": {ca: {"for-issuer": ca, "publish-issued-certs": True}},
    }


def _config(base_url: str, key_dir: Path, now: dt.datetime) -> dict[str, object]:
    ee_validity = {"valid-from": _iso(now - dt.timedelta(days=1)), "valid-to": _iso(now + dt.timedelta(days=3 * 365))}
    office_a = {"organizational-unit-name": OFFICE_A, "common-name": "Trần Thị Ngọc Hương"}

    def signer(subject: str, ca: str, **more: object) -> dict[str, object]:
        return {"subject": subject, "issuer": ca, "validity": ee_validity, "extensions": _ee_extensions(ca), **more}

    services = _services("root", "ocsp")
    services["time-stamping"] = {t: {"signing-key": t, "signing-cert": t} for t in ("tsa", "tsa2")}

    def tsa(years: int) -> dict[str, object]:
        eku = {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]}
        validity = {
            "valid-from": _iso(now - dt.timedelta(days=1)),
            "valid-to": _iso(now + dt.timedelta(days=years * 365)),
        }
        return {"issuer": "root", "validity": validity, "extensions": [*_ee_extensions("root"), eku]}

    keys = list(_KEYS)
    return {
        "external-url-prefix": base_url,
        "keysets": {"ecopy": {"path-prefix": str(key_dir), "keys": {k: {"path": f"{k}.key.pem"} for k in keys}}},
        "pki-architectures": {
            ARCH: {
                "keyset": "ecopy",
                "entity-defaults": {"country-name": "VN", "organization-name": TEST_ORG},
                "entities": {
                    "root": {"common-name": "ecopy TEST root CA"},
                    "ocsp": {"common-name": "ecopy TEST OCSP responder"},
                    "tsa": {"common-name": "ecopy TEST TSA"},
                    "tsa2": {"common-name": "ecopy TEST TSA 2"},
                    "office-a": office_a,
                    "office-b": {"organizational-unit-name": OFFICE_B, "common-name": "Lê Văn Bình"},
                },
                "certs": {
                    "root": _ca_cert(now, "root"),
                    "ocsp": _responder_cert(now, "ocsp", "root"),
                    "tsa": {"subject": "tsa", **tsa(3)},
                    "tsa2": {"subject": "tsa2", **tsa(8)},
                    "office-a": signer("office-a", "root", **{"subject-key": "office-a"}),
                    "office-a-2": signer("office-a", "root", **{"subject-key": "office-a-2"}),
                    "office-b": signer("office-b", "root", **{"subject-key": "office-b"}),
                    "office-a-revoked": signer(
                        "office-a",
                        "root",
                        **{
                            "subject-key": "office-a-revoked",
                            "revocation": {
                                "revoked-since": _iso(now - dt.timedelta(hours=1)),
                                "reason": "key_compromise",
                            },
                        },
                    ),
                },
                "services": services,
            },
            FOREIGN_ARCH: {
                "keyset": "ecopy",
                "entity-defaults": {"country-name": "VN", "organization-name": TEST_ORG},
                "entities": {
                    "foreign-root": {"common-name": "ecopy FOREIGN root CA"},
                    "foreign-ocsp": {"common-name": "ecopy FOREIGN OCSP responder"},
                    "foreign": office_a,
                },
                "certs": {
                    "foreign-root": _ca_cert(now, "foreign-root"),
                    "foreign-ocsp": _responder_cert(now, "foreign-ocsp", "foreign-root"),
                    "foreign": signer("foreign", "foreign-root", **{"subject-key": "foreign"}),
                },
                "services": _services("foreign-root", "foreign-ocsp"),
            },
        },
    }


# ---- running it ---------------------------------------------------------------------------------
def _get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return bytes(reply.read())


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise PkiStartError(f"certomancer exited with code {proc.returncode}:\n{_log_tail(log_path)}")
        try:
            return _get(url, timeout=1.0)
        except urllib.error.HTTPError as e:  # it answers, but not what it should: no use waiting
            raise PkiStartError(f"certomancer answered {url} with HTTP {e.code}:\n{_log_tail(log_path)}") from e
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() > deadline:
                raise PkiStartError(
                    f"certomancer did not answer {url} within {timeout:.0f} s:\n{_log_tail(log_path)}"
                ) from e
            time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def running_test_pki(workdir: Path | None = None, timeout: float = 20.0) -> Iterator[TestPki]:
    """Start certomancer with a fresh test PKI; stop it and remove its folder on exit."""
    own_dir = workdir is None
    root_dir = Path(tempfile.mkdtemp(prefix="ecopy-pki-")) if workdir is None else workdir
    try:
        key_dir = root_dir / "keys"
        key_dir.mkdir(parents=True, exist_ok=True)
        private: dict[str, ec.EllipticCurvePrivateKey] = {}
        for name in _KEYS:
            private[name] = ec.generate_private_key(ec.SECP256R1())
            (key_dir / f"{name}.key.pem").write_bytes(
                private[name].private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        last_error: PkiStartError | None = None
        for _attempt in range(3):  # the free port may be taken between choosing and binding it
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            config = root_dir / "certomancer.yml"
            config.write_text(yaml.safe_dump(_config(base, key_dir, now), allow_unicode=True))
            log_path = root_dir / f"certomancer-{port}.log"
            with log_path.open("wb") as log_file:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "certomancer",
                        "--config",
                        str(config),
                        "animate",
                        "--port",
                        str(port),
                        "--no-web-ui",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=root_dir,
                )
            try:
                root_pem = _wait_ready(proc, f"{base}/{ARCH}/certs/root/ca.crt.pem", log_path, timeout)
                break
            except PkiStartError as e:
                _stop(proc)
                last_error = e
        else:
            raise last_error or PkiStartError("certomancer did not start")
        try:

            def issued(arch: str, ca: str, label: str) -> x509.Certificate:
                return x509.load_pem_x509_certificate(_get(f"{base}/{arch}/certs/{ca}/issued/{label}.crt.pem"))

            root = x509.load_pem_x509_certificate(root_pem)
            foreign_root_pem = _get(f"{base}/{FOREIGN_ARCH}/certs/foreign-root/ca.crt.pem")
            foreign_root = x509.load_pem_x509_certificate(foreign_root_pem)
            creds: dict[str, _Credential] = {}
            for name, (arch, _entity, office) in _SIGNERS.items():
                ca, chain_root = ("root", root) if arch == ARCH else ("foreign-root", foreign_root)
                creds[name] = _Credential(private[name], issued(arch, ca, name), chain_root, office)
            tsa_cert = issued(ARCH, "root", "tsa")
            tsa2_cert = issued(ARCH, "root", "tsa2")
            yield TestPki(
                base_url=base,
                root_pem=root_pem,
                foreign_root_pem=foreign_root_pem,
                tsa_url=f"{base}/{ARCH}/tsa/tsa",
                tsa_cert_pem=tsa_cert.public_bytes(serialization.Encoding.PEM),
                tsa_not_after=tsa_cert.not_valid_after_utc,
                tsa2_url=f"{base}/{ARCH}/tsa/tsa2",
                tsa2_not_after=tsa2_cert.not_valid_after_utc,
                ocsp_url=f"{base}/{ARCH}/ocsp/root",
                crl_url=f"{base}/{ARCH}/crls/root/latest.crl",
                started_at=now,
                _root_key=private["root"],
                _creds=creds,
            )
        finally:
            _stop(proc)
    finally:
        if own_dir:
            shutil.rmtree(root_dir, ignore_errors=True)


@pytest.fixture(scope="session", name="test_pki")
def _test_pki_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPki]:
    """The session's test PKI (certomancer on loopback); fails, never skips, if it cannot start."""
    try:
        started = running_test_pki(tmp_path_factory.mktemp("pki"))
        pki = started.__enter__()
    except PkiStartError as e:
        pytest.fail(f"cannot start the test PKI (certomancer[web-api] from requirements-test.lock): {e}", pytrace=False)
    try:
        yield pki
    finally:
        started.__exit__(None, None, None)


# ---- poppler's pdfsig with an NSS database ---------------------------------------------------
_NSS_ROOT = Path(tempfile.mkdtemp(prefix="ecopy-nss-"))
atexit.register(shutil.rmtree, _NSS_ROOT, True)


def _run(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False)


@functools.cache
def _nss_db_cached(roots: tuple[bytes, ...]) -> Path:
    if not shutil.which("certutil"):
        raise RuntimeError("certutil not found: apt-get install libnss3-tools")
    db = Path(tempfile.mkdtemp(prefix="db-", dir=_NSS_ROOT))
    made = _run("certutil", "-N", "--empty-password", "-d", f"sql:{db}")
    if made.returncode != 0:
        raise RuntimeError(f"certutil -N failed: {made.stderr}")
    for i, root in enumerate(roots):
        pem = db / f"root-{i}.pem"
        der = (
            x509.load_pem_x509_certificate(root)
            if root.lstrip().startswith(b"-----")
            else x509.load_der_x509_certificate(root)
        )
        pem.write_bytes(der.public_bytes(serialization.Encoding.PEM))
        added = _run("certutil", "-A", "-d", f"sql:{db}", "-n", f"ecopy-test-root-{i}", "-t", "CT,C,C", "-i", pem)
        if added.returncode != 0:
            raise RuntimeError(f"certutil -A failed: {added.stderr}")
    return db


def nss_db(roots: Iterable[bytes]) -> Path:
    """An NSS database (``sql:`` format, empty password) trusting ``roots`` (PEM or DER) as CAs.
    Cached per set of roots for the process; removed at exit. Pass ``f"sql:{path}"`` to tools."""
    return _nss_db_cached(tuple(roots))


def run_pdfsig(pdf: bytes, roots: Iterable[bytes], *extra_args: str) -> str:
    """poppler's ``pdfsig -nssdir sql:DB`` on ``pdf``; its stdout with stderr appended."""
    if not shutil.which("pdfsig"):
        raise RuntimeError("pdfsig not found: apt-get install poppler-utils")
    db = nss_db(roots)
    with tempfile.TemporaryDirectory(dir=_NSS_ROOT) as tmp:
        path = Path(tmp) / "copy.pdf"
        path.write_bytes(pdf)
        done = _run("pdfsig", "-nssdir", f"sql:{db}", *extra_args, path)
    return done.stdout + done.stderr
