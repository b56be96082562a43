"""Checking a copy: the hash first, then the signature (:mod:`pipeline.verify.verdict`); the offline
check of our QR token (:mod:`pipeline.verify.qr_check`); the diagnosis of a file that is not the
issued one, parsed in a limited child process (:mod:`pipeline.verify.diagnose`).

May import the shared core and the issued file's format (``pipeline.ecopy_file``,
``pipeline.certify.qr_token``, ``pipeline.certify.trust_list``); never ``read``.
"""
