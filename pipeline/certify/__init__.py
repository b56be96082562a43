"""Issuing a copy: render the PDF/A with its statement and QR seal, sign it (PAdES B-B…B-LTA),
check its structure, extend it later; keys (PKCS#12, PKCS#11 tokens, the development PKI).

Its contacts with the outside are named: :mod:`pipeline.certify._net` builds every TSA and
OCSP/CRL client, :mod:`pipeline.certify.pkcs11_token` holds the per-process token sessions.
May import the shared core and values of ``read``; never ``verify``.
"""
