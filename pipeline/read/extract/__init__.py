"""Field extraction, one module per document type (see ``base`` for the contract)."""

from __future__ import annotations

from pipeline.read.extract.base import EXTRACTORS, Extractor, extract_fields

__all__ = ["EXTRACTORS", "Extractor", "extract_fields"]
