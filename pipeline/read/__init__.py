"""Reading a scan: pure functions from bytes and arrays to values.

load → preprocess → QR → OCR → classify → signature-block re-read → extract → second opinion
(:mod:`pipeline.read.reader.reader` runs them in that order). Nothing here talks to Redis, S3, SQL or the
environment; the one subprocess, Tesseract, is started only by :mod:`pipeline.read.reader._exec.tesseract`.
May import the shared core (``pipeline.*`` modules) only: never ``certify`` or ``verify``.
"""
