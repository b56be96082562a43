"""What ecopy knows of Vietnamese text that no document type owns.

Folding and OCR-tolerant matching of lines (``lines``), tokens and their repairs (``tokens``),
person names (``names``), places and administrative units (``places``), ethnic groups,
nationalities and sexes (``people``), dates in digits and in words (``dates``, ``date_words``),
the personal ID (``ids``) and the confidence scale (``confidence``). Knows no document type:
nothing here imports ``pipeline.read.doctypes``.
"""
