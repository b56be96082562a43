"""Who signed: every CMS signature found in the raw bytes, checked against our trust roots and the
certificates our offices sign with. Comes first in a diagnosis, so a limit that stops the child later
still leaves the answer altered (ours) / unknown (someone else's)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from asn1crypto import cms
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.general import extract_signer_info
from pyhanko.sign.validation.generic_cms import (
    cms_basic_validation,
    extract_certs_for_validation,
    extract_self_reported_ts,
)
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from pipeline.verify.diagnose._wire import _facts_to_json
from pipeline.verify.diagnose.findings import Emit, SignerFacts, _Collector, _reraise_if_fatal

log = logging.getLogger(__name__)

_HEX_CONTENTS = re.compile(rb"/Contents\s*<([0-9A-Fa-f\s]{64,})>")
_MAX_SIGNATURES = 32  # signature fields / CMS blobs examined; more is hostile
_MAX_CMS_HEX = 4 * 1024 * 1024


# ---- CMS: who signed ----------------------------------------------------------------------------
def _validation_context(roots: Sequence[Any], moment: dt.datetime | None) -> Any:
    return ValidationContext(trust_roots=list(roots), allow_fetching=False, revocation_mode="soft-fail", moment=moment)


def load_trust_roots(trust_roots: Sequence[bytes]) -> list[Any]:
    roots: list[Any] = []
    for data in trust_roots:
        try:
            roots.extend(load_certs_from_pemder_data(data))
        except Exception as e:  # a bad configured root must not hide the others
            _reraise_if_fatal(e)
            log.warning("ignoring an unreadable trust root: %s", e)
    return roots


def _signer_facts(cms_bytes: bytes, roots: Sequence[Any], known: Collection[str]) -> SignerFacts | None:
    """Facts about a CMS SignedData over external data, None for anything else (time-stamp tokens)."""
    info = cms.ContentInfo.load(cms_bytes)
    if info["content_type"].native != "signed_data":
        return None
    signed_data = info["content"]
    if signed_data["encap_content_info"]["content_type"].native != "data":
        return None
    signer_info = extract_signer_info(signed_data)
    cert = extract_certs_for_validation(signed_data).signer_cert
    fingerprint = hashlib.sha256(cert.dump()).hexdigest()
    subject = cert.subject.human_friendly
    # The moment the signer claims, inside the signed attributes: only believed once the signature
    # verifies, and only to attribute the file, so an expired office certificate still attributes.
    try:
        moment = extract_self_reported_ts(signer_info)
    except Exception as e:
        _reraise_if_fatal(e)
        moment = None
    try:
        kwargs = asyncio.run(
            cms_basic_validation(
                signed_data,
                raw_digest=b"\x00" * 32,  # the document digest is checked elsewhere; here: who signed
                validation_context=_validation_context(roots, moment),
                key_usage_settings=PdfSignatureStatus.default_usage_constraints(None),
            )
        )
        valid = bool(kwargs["valid"])
        chains = valid and kwargs["trust_problem_indic"] is None and kwargs["validation_path"] is not None
    except Exception as e:
        _reraise_if_fatal(e)
        log.debug("CMS signature of %s does not validate: %s", fingerprint[:16], e)
        valid = chains = False
    return SignerFacts(subject, fingerprint, valid, chains, fingerprint in known)


def _cms_blobs(pdf: bytes) -> Iterator[bytes]:
    """Every /Contents hex string in the raw bytes, parsed or not by any PDF reader."""
    seen: set[bytes] = set()
    for n, m in enumerate(_HEX_CONTENTS.finditer(pdf)):
        if n >= _MAX_SIGNATURES * 4:
            return
        hexdata = re.sub(rb"\s", b"", m.group(1))
        if len(hexdata) > _MAX_CMS_HEX or len(hexdata) % 2:
            continue
        raw = bytes.fromhex(hexdata.decode("ascii"))
        if not raw.rstrip(b"\x00") or raw in seen:
            continue
        seen.add(raw)
        yield raw


def _attribute(
    pdf: bytes, roots: Sequence[Any], known: Collection[str], out: _Collector, emit: Emit | None
) -> list[tuple[bytes, SignerFacts]]:
    """(CMS bytes, signer facts) of every signature over external data found in the raw bytes."""
    signers: list[tuple[bytes, SignerFacts]] = []
    for raw in _cms_blobs(pdf):
        try:
            facts = _signer_facts(raw, roots, known)
        except Exception as e:
            _reraise_if_fatal(e)
            log.debug("not a CMS signature: %s", e)
            continue
        if facts is None:
            continue
        if not facts.crypto_valid:
            out.add("signature.invalid", f"CMS signature naming {facts.cert_sha256[:16]}… does not verify")
        signers.append((raw, facts))
        if emit is not None:
            emit({"signer": _facts_to_json(facts)})
        if len(signers) >= _MAX_SIGNATURES:
            break
    return signers
