"""A private SoftHSM2 token store for tests and the benchmark: real PKCS#11, no hardware.

How SoftHSM2 behaves decides the design (measured with SoftHSM 2.6.1 and python-pkcs11 0.9.5):

* It reads ``SOFTHSM2_CONF`` once per process, when the module is first initialised
  (``C_Initialize``, i.e. the first ``pkcs11.lib(...)``); python-pkcs11 keeps the module loaded.
* It sees only the **tokens** that existed at that moment; a token created later by
  ``softhsm2-util`` stays invisible until the module is re-initialised (which would kill every
  open session). **Objects** (keys, certificates) added later to a known token are seen at once.

So there is one store per process (:func:`process_softhsm`). It sets ``SOFTHSM2_CONF`` in
``os.environ`` for the whole process (subprocesses inherit it: a CLI or a worker started by a test
sees the same tokens) and refuses to start if libsofthsm2 is already loaded in this process with
another configuration. It initialises a pool of empty tokens up front; :meth:`SoftHsm.add_key` puts a
key and its certificate on the next unused token and returns the :class:`Pkcs11KeySpec` to open it.
Create the store before anything loads libsofthsm2: the ``softhsm`` fixture or a first call of
:func:`process_softhsm` does that. The store's folder is removed when the process exits.

Use it with any key + certificate PEM (``pipeline.certify.dev_pki.make_dev_pki``, a certomancer test PKI…).
Outside pytest (the benchmark): ``dev_token(office)``. In tests: the ``softhsm`` and
``softhsm_token`` fixtures of ``tests/support/softhsm.py`` (a pytest plugin over this module).
If softhsm2 is not installed they fail, never skip.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from pipeline.certify.dev_pki import make_dev_pki
from pipeline.certify.pkcs11_token import SOFTHSM2_MODULE, Pkcs11KeySpec

SOFTHSM2_UTIL = "softhsm2-util"
INSTALL_HINT = "softhsm2 is not installed: run `make sysdeps-test` (apt-get install softhsm2)"


class SoftHsmError(RuntimeError):
    pass


def softhsm_missing() -> str | None:
    """Why SoftHSM2 cannot be used here, or None when it can."""
    if shutil.which(SOFTHSM2_UTIL) is None or not os.path.isfile(SOFTHSM2_MODULE):
        return INSTALL_HINT
    return None


def _module_loaded() -> bool:
    """Is libsofthsm2 mapped into this process (so it has read its configuration already)?"""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return False
    return os.path.basename(SOFTHSM2_MODULE) in maps


def _run(*args: str) -> str:
    done = subprocess.run([SOFTHSM2_UTIL, *args], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:  # args hold PINs: name only the command
        raise SoftHsmError(f"softhsm2-util {args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


@dataclass(frozen=True)
class _Token:
    label: str
    pin: str


class SoftHsm:
    """A token folder of this process. Thread-safe; tokens are handed out once each."""

    def __init__(self, root: Path, pool: int) -> None:
        self.root = root
        self.conf = root / "softhsm2.conf"
        tokens = root / "tokens"
        tokens.mkdir(mode=0o700)
        self.conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        self._lock = threading.Lock()
        self._free: list[_Token] = []
        self._made = 0
        for _ in range(pool):
            self._free.append(self._init_token())

    def _init_token(self) -> _Token:
        self._made += 1
        token = _Token(label=f"ecopy-test-{self._made}", pin=f"{secrets.randbelow(10**8):08d}")
        so_pin = secrets.token_hex(8)
        _run("--init-token", "--free", "--label", token.label, "--pin", token.pin, "--so-pin", so_pin)
        return token

    def _take_token(self) -> _Token:
        with self._lock:
            if self._free:
                return self._free.pop(0)
            if _module_loaded():
                raise SoftHsmError(
                    f"all {self._made} pre-initialised SoftHSM2 tokens are used and libsofthsm2 is already loaded "
                    "(it would not see a new token): ask process_softhsm(pool=N) for more at the start"
                )
            return self._init_token()

    def add_key(
        self,
        key_pem: bytes,
        cert_pem: bytes,
        *,
        key_label: str = "signer",
        cert_label: str | None = None,
        other_certs: Sequence[bytes] = (),
        key_password: bytes | None = None,
    ) -> Pkcs11KeySpec:
        """Put a private key (any PEM cryptography reads: PKCS#8, PKCS#1, SEC1; encrypted with
        ``key_password``) and its certificate (PEM) on a fresh token; return the spec that opens it.
        ``other_certs`` (chain PEM/DER) go into the spec, to be embedded in signatures, not onto the token."""
        import pkcs11
        from pkcs11 import Attribute, CertificateType, ObjectClass

        token = self._take_token()
        key = serialization.load_pem_private_key(key_pem, password=key_password)
        cert = x509.load_pem_x509_certificate(cert_pem)
        object_id = hashlib.sha1(
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).digest()[:8]
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd, key_file = tempfile.mkstemp(dir=self.root, suffix=".pem")  # 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pkcs8)
            _run(
                "--import", key_file, "--token", token.label, "--label", key_label,
                "--id", object_id.hex(), "--pin", token.pin,
            )  # fmt: skip
        finally:
            os.unlink(key_file)
        with pkcs11.lib(SOFTHSM2_MODULE).get_token(token_label=token.label).open(rw=True, user_pin=token.pin) as s:
            s.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.LABEL: cert_label if cert_label is not None else key_label,
                    Attribute.ID: object_id,
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
                }
            )
        return Pkcs11KeySpec(
            token_label=token.label,
            pin=token.pin,
            key_label=key_label,
            cert_label=cert_label,
            module_path=SOFTHSM2_MODULE,
            other_certs=tuple(other_certs),
        )


_store: SoftHsm | None = None
_store_lock = threading.Lock()


def _remove_store(root: Path, owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # a forked child that exits normally must not take the parent's tokens
        shutil.rmtree(root, ignore_errors=True)


def process_softhsm(pool: int = 12) -> SoftHsm:
    """This process's token store, created (with ``pool`` empty tokens) on the first call."""
    global _store
    with _store_lock:
        if _store is not None:
            return _store
        missing = softhsm_missing()
        if missing:
            raise SoftHsmError(missing)
        if _module_loaded():
            raise SoftHsmError(
                "libsofthsm2 was loaded in this process before the test token store was created, so it read "
                f"another configuration (SOFTHSM2_CONF={os.environ.get('SOFTHSM2_CONF')!r}); create the store "
                "first (the `softhsm` fixture or tests.support.softhsm.process_softhsm())"
            )
        root = Path(tempfile.mkdtemp(prefix="ecopy-softhsm-"))
        atexit.register(_remove_store, root, os.getpid())
        os.environ["SOFTHSM2_CONF"] = str(root / "softhsm2.conf")
        _store = SoftHsm(root, pool)
        return _store


@dataclass(frozen=True)
class DevToken:
    spec: Pkcs11KeySpec
    root_pem: bytes
    cert_pem: bytes


def dev_token(office: str = "UBND Phường Bến Nghé (token thử nghiệm)", *, key_label: str = "signer") -> DevToken:
    """A development PKI (EC P-256 signer) whose signer key lives on a fresh SoftHSM2 token."""
    password = secrets.token_urlsafe(12).encode()
    pki = make_dev_pki(office, password=password)
    key, cert, _ = pkcs12.load_key_and_certificates(pki.signer_p12, password)
    assert key is not None and cert is not None
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    spec = process_softhsm().add_key(
        key_pem, pki.signer_cert_pem, key_label=key_label, other_certs=(pki.root_cert_pem,)
    )
    return DevToken(spec=spec, root_pem=pki.root_cert_pem, cert_pem=pki.signer_cert_pem)

