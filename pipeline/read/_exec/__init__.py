"""Wrappers around external programs: the only place in ``pipeline.read`` that starts a subprocess.

* :mod:`.tesseract`: the OCR engine.
* :mod:`.parse_sandbox`: the limited child (:mod:`.parse_child`) that decodes every uploaded file
  (PDF, JPEG, PNG, TIFF) under a memory, time, page and pixel budget.
"""
