"""Reading a scan: pure functions from bytes and arrays to values.

load → preprocess → QR → OCR → classify → signature-block re-read → the type's extractor → second
opinion
(:mod:`pipeline.read.reader` runs them in that order). Nothing here talks to Redis, S3, SQL or the
environment. Its subprocesses are started only in :mod:`pipeline.read._exec`: Tesseract, and the
limited child that decodes every uploaded file (:mod:`pipeline.read._exec.parse_sandbox`).
May import the shared core (``pipeline.*`` modules) only: never ``certify`` or ``verify``.

What ecopy knows about each type of document is in one module of :mod:`pipeline.read.doctypes`
(built into :mod:`pipeline.read.doctypes.registry`); Vietnamese text knowledge that no type owns
is in :mod:`pipeline.read.text`.
"""
