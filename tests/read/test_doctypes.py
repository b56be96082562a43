"""The registry of document types: complete values, in display order, and the import rules.

A type module imports only the contract and the text toolkit, never another type; the toolkit
knows no document type. Both rules are read from the source (AST), so a new import that breaks
them fails here rather than as an import cycle later.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline.errors import UnknownDocumentTypeError
from pipeline.read.doctypes import registry
from pipeline.read.doctypes.contract import DocType
from pipeline.read.doctypes.registry import DOCTYPES, doc_type_names

PIPELINE_READ = Path(__file__).resolve().parents[2] / "pipeline" / "read"
DOCTYPES_DIR = PIPELINE_READ / "doctypes"
TEXT_DIR = PIPELINE_READ / "text"
# Modules of the doctypes package that are not a document type.
NOT_A_TYPE = {"__init__", "contract", "registry"}


def test_registry_order_is_the_display_order() -> None:
    first_five = ("cccd_front", "birth_certificate", "diploma", "marriage_certificate", "generic_letter")
    assert doc_type_names()[:5] == first_five
    assert doc_type_names()[-1] == registry.OTHER == "other"  # last: the clerk's own title
    assert all(name == doc.name for name, doc in DOCTYPES.items())
    assert registry.UNKNOWN == "unknown" and registry.UNKNOWN not in DOCTYPES  # never issued


def test_every_type_module_is_registered() -> None:
    modules = {p.stem for p in DOCTYPES_DIR.glob("*.py")} - NOT_A_TYPE
    two_sided = {name for name, d in DOCTYPES.items() if d.sides}
    assert two_sided == {"cccd", "can_cuoc"}
    assert modules == set(DOCTYPES) - two_sided
    for name in two_sided:  # made of two registered one-sided types, the front's fields first
        front, back = (DOCTYPES[s] for s in DOCTYPES[name].sides)
        assert DOCTYPES[name].field_names[: len(front.fields)] == front.field_names
        assert set(back.field_names) <= set(DOCTYPES[name].field_names)


@pytest.mark.parametrize("doc", list(DOCTYPES.values()), ids=list(DOCTYPES))
def test_a_type_describes_itself_completely(doc: DocType) -> None:
    assert doc.label_vi.strip() and doc.label_en.strip()
    assert doc.fields or doc.title_from_clerk, "a type returns fields (for other, the clerk says what it is)"
    assert len(set(doc.field_names)) == len(doc.fields), "a field is listed once"
    for f in doc.fields:
        assert f.label_vi.strip() and f.label_en.strip(), f.name
    assert set(doc.holder_fields) <= set(doc.field_names)
    # classification finds a type by its cues; "other" is only ever named, a two-sided type is its sides found
    assert bool(doc.cues) != (doc.title_from_clerk or bool(doc.sides))
    assert all(c.text.strip() and c.weight > 0 for c in doc.cues)
    assert doc.extractor.run is not None


def test_other_is_named_by_the_clerk_and_reads_nothing() -> None:
    other = DOCTYPES[registry.OTHER]
    assert (other.label_vi, other.label_en) == ("Giấy tờ khác", "Other document")
    assert other.title_from_clerk and other.fields == () and other.cues == ()
    assert [n for n, d in DOCTYPES.items() if d.title_from_clerk] == ["other"]
    assert other.extractor.run([]) == {}


def test_holders_and_qr() -> None:
    assert DOCTYPES["marriage_certificate"].holder_fields == ("husband_name", "wife_name")
    assert DOCTYPES["generic_letter"].holder_fields == ()  # a letter to an office names no holder
    assert [n for n, d in DOCTYPES.items() if d.qr_payload is not None] == ["cccd_front", "cccd"]


def test_unknown_type_is_refused_with_the_names_expected() -> None:
    with pytest.raises(UnknownDocumentTypeError) as e:
        registry.get("visa")
    assert "visa" in (e.value.detail or "") and "cccd_front" in (e.value.detail or "")
    assert registry.label_vi("visa") == "visa"  # an old record's type is still shown
    assert registry.label_vi("birth_certificate") == "Giấy khai sinh"


def _imports(path: Path) -> set[str]:
    """The modules a source file imports (``from a.b import c`` counts as ``a.b`` and ``a.b.c``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else f"pipeline.read.doctypes.{node.module}"
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


TYPE_MODULES = sorted(p for p in DOCTYPES_DIR.glob("*.py") if p.stem not in NOT_A_TYPE)


@pytest.mark.parametrize("path", TYPE_MODULES, ids=lambda p: p.stem)
def test_a_type_module_imports_no_other_type(path: Path) -> None:
    others = {f"pipeline.read.doctypes.{name}" for name in DOCTYPES if name != path.stem}
    others.add("pipeline.read.doctypes.registry")
    assert not _imports(path) & others


@pytest.mark.parametrize("path", sorted(TEXT_DIR.glob("*.py")), ids=lambda p: p.stem)
def test_the_toolkit_knows_no_document_type(path: Path) -> None:
    assert not {m for m in _imports(path) if m.startswith("pipeline.read.doctypes")}
