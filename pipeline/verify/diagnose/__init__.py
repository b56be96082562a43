"""Why a PDF is not an issued copy: a structural diagnosis that does not take pyHanko's word for it.

The verdict itself never depends on this package: a file whose SHA-256 is not on record is not an
issued copy. The diagnosis only says *why*, and whether the file carries one of our signatures
(then it is an altered copy, otherwise an unknown file). pyHanko alone answers "valid" for
some tampered files (junk after ``%%EOF``: coverage ENTIRE_REVISION, level NONE; a metadata-only
update: ENTIRE_REVISION, LTA_UPDATES; a form filled under an approval signature: FORM_FILLING),
so the raw structure is checked here: each signature's /ByteRange against the bytes, its
/SubFilter and /Contents, bytes after the last ``%%EOF``, and what every revision after the
first signature changes (page content, annotations, form fields, metadata, or only validation
data: DSS and document time-stamps, as PAdES B-LTA and re-time-stamped copies have).

The package, along its seams: :mod:`.findings` (codes, messages, result values), :mod:`.file_checks`
(the raw bytes), :mod:`.signers` (who signed), :mod:`.signatures` (each signature dictionary, and
pyHanko's report), :mod:`.revision_view` and :mod:`.revisions` (what changed after signing),
:mod:`.examination` (:func:`examine`, in-process), :mod:`._sandbox` (:func:`diagnose`: the only place
that starts the limited child), :mod:`._wire` (the child's events) and ``__main__`` (the child).
:func:`examine` is also used in-process by :func:`pipeline.verify.verdict.validate_signature` on the
bytes of issued copies, which we wrote ourselves; untrusted bytes go through :func:`diagnose`.
"""

from __future__ import annotations

from pipeline.verify.diagnose._sandbox import DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT_S, EXIT_MEMORY, diagnose
from pipeline.verify.diagnose.examination import examine
from pipeline.verify.diagnose.findings import INFORMATIONAL, MESSAGES, Diagnosis, Emit, Finding, SignerFacts
from pipeline.verify.diagnose.signatures import SIGNATURE_SUBFILTERS, TIMESTAMP_SUBFILTERS
from pipeline.verify.diagnose.signers import load_trust_roots

__all__ = [
    "DEFAULT_MEMORY_BYTES",
    "DEFAULT_TIMEOUT_S",
    "EXIT_MEMORY",
    "INFORMATIONAL",
    "MESSAGES",
    "SIGNATURE_SUBFILTERS",
    "TIMESTAMP_SUBFILTERS",
    "Diagnosis",
    "Emit",
    "Finding",
    "SignerFacts",
    "diagnose",
    "examine",
    "load_trust_roots",
]
