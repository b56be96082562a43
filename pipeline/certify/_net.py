"""The network of issuing: the only place that builds a TSA client or an OCSP/CRL fetcher.

Signing at B-T needs an RFC 3161 time-stamp authority; B-LT, B-LTA and ``ecopy extend`` also fetch
the signer chain's OCSP answers and CRLs. Every such client is made here, with the timeouts the
office configured, so a test or an operator finds every outgoing call of ``certify`` in one file.
Failures are not translated here: the callers turn them into ``sign.timestamp_unavailable`` /
``sign.revocation_unavailable`` (:func:`pipeline.certify.pades.translate_signing_failure`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from asn1crypto import x509
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from pipeline.errors import SigningError

T = TypeVar("T")


def http_timestamper(url: str, timeout: float) -> HTTPTimeStamper:
    """An RFC 3161 client for the office's TSA."""
    return HTTPTimeStamper(url, timeout=timeout)


def fetching_context(
    roots: list[x509.Certificate], backend: AIOHttpFetcherBackend, extra_certs: Iterable[x509.Certificate] = ()
) -> ValidationContext:
    """A validation context that fetches OCSP/CRLs through ``backend`` (the caller closes it) and
    *requires* them for every certificate below a root: without the signer's revocation data a
    signature is not B-LT. With no configured ``roots``, the self-signed certificates among
    ``extra_certs`` are the roots."""
    extra = list(extra_certs)
    if not roots:
        roots = [c for c in extra if c.self_signed in ("maybe", "yes")]
    if not roots:
        raise SigningError(
            "Chưa cấu hình chứng thư gốc (trust_roots) để lấy thông tin thu hồi cho chữ ký dài hạn (B-LT/B-LTA).",
            detail="no trust roots for revocation fetching",
        )
    return ValidationContext(
        trust_roots=roots,
        other_certs=extra,
        allow_fetching=True,
        revocation_mode="require",
        fetcher_backend=backend,
    )


def run_fetching(timeout: float, work: Callable[[AIOHttpFetcherBackend], Awaitable[T]]) -> T:
    """Run ``work`` in a fresh event loop with an HTTP fetcher backend (``timeout`` per request)
    that is closed afterwards (pyHanko leaves a backend passed in by the caller open)."""

    async def run() -> T:
        backend = AIOHttpFetcherBackend(per_request_timeout=timeout)
        try:
            return await work(backend)
        finally:
            await backend.close()

    return asyncio.run(run())
