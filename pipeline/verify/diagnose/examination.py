"""The in-process examination: every check in order, the signer attribution first."""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Collection, Sequence

from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline.models import SignatureReport
from pipeline.verify.diagnose._wire import _report_to_json
from pipeline.verify.diagnose.file_checks import (
    _check_last_revision_ends_the_file,
    _check_layout,
    _embedded_ecopy_id,
    _revision_ends,
)
from pipeline.verify.diagnose.findings import Diagnosis, Emit, SignerFacts, _Collector, _reraise_if_fatal
from pipeline.verify.diagnose.revisions import _check_updates
from pipeline.verify.diagnose.signatures import _check_signature, _report, _signature_fields
from pipeline.verify.diagnose.signers import _attribute, load_trust_roots


def examine(
    pdf: bytes,
    trust_roots: Sequence[bytes],
    known_signer_fingerprints: Collection[str] = (),
    *,
    at: dt.datetime | None = None,
    emit: Emit | None = None,
) -> Diagnosis:
    """Check a PDF's signatures and structure, in this process. Never raises on hostile input.

    ``at`` is the moment the first signature's chain must be valid (the registry's issue time for
    a copy on record; default now). Run it on untrusted bytes only through :func:`diagnose`.
    """

    started = time.perf_counter()
    out = _Collector(emit)
    roots = load_trust_roots(trust_roots)
    known = {f.lower() for f in known_signer_fingerprints}
    signers: list[tuple[bytes, SignerFacts]] = []

    def done(report: SignatureReport, ecopy_id: str | None = None) -> Diagnosis:
        if emit is not None:
            emit({"report": _report_to_json(report)})
            emit({"done": True})
        return Diagnosis(
            findings=out.findings(),
            signers=tuple(f for _, f in signers),
            report=report,
            embedded_ecopy_id=ecopy_id,
            elapsed_s=time.perf_counter() - started,
        )

    if not _check_layout(pdf, out):
        return done(SignatureReport(present=False, problems=("unreadable: not a PDF",)))
    signers = _attribute(pdf, roots, known, out, emit)  # first: it decides altered/unknown if a limit stops us

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        _ = reader.root
    except Exception as e:
        _reraise_if_fatal(e)
        out.add("file.unreadable", f"{type(e).__name__}: {e}"[:300])
        return done(SignatureReport(present=False, problems=(f"unreadable: {type(e).__name__}: {e}"[:300],)))
    _check_last_revision_ends_the_file(pdf, reader, out)
    ecopy_id = _embedded_ecopy_id(reader)
    if emit is not None and ecopy_id:
        emit({"ecopy_id": ecopy_id})
    try:
        sigs = _signature_fields(reader)
    except Exception as e:
        _reraise_if_fatal(e)
        out.add("signature.unparsable", f"signature fields: {type(e).__name__}: {e}"[:300])
        sigs = []

    ends = _revision_ends(pdf)
    for s in sigs:
        try:
            _check_signature(pdf, s, reader, ends, out)
        except Exception as e:
            _reraise_if_fatal(e)
            out.add("signature.unparsable", f"{s.name!r}: {type(e).__name__}: {e}"[:300])
    regular = [s for s in sigs if not s.is_timestamp]
    for s in regular[1:]:
        out.add("signature.extra", f"signature {s.name!r} in revision {s.revision}")
    in_fields = {s.contents for s in sigs if s.contents}
    orphans = [f for raw, f in signers if raw not in in_fields]
    if orphans:
        out.add("signature.orphan", f"{len(orphans)} CMS signature(s) outside any signature field")

    if not regular:
        return done(SignatureReport(present=False, problems=("no_signature",)), ecopy_id)
    first = regular[0]
    try:
        _check_updates(reader, first.revision, out)
    except Exception as e:
        _reraise_if_fatal(e)
        out.add("update.structure", f"{type(e).__name__}: {e}"[:300])
    return done(_report(reader, first, roots, at, out, extra=len(regular) - 1), ecopy_id)
