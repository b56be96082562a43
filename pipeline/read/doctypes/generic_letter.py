"""Công văn and the other administrative documents (Nghị định 30/2020 layout).

Header (``letter.header``): parent body and issuing body, "Số: …", "V/v …" (subject) on the left;
the national motto and "<place>, ngày … tháng … năm …" on the right; for a titled document the kind
("THÔNG BÁO", "CHỈ THỊ"…) and its subject centred under it; then "Kính gửi: …". The signature block
closes the letter: "Nơi nhận:" list on the left, the signer's title ("KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC"),
a red seal, a signature and the printed name in the right column.

The seal and the signature hide the name from the page OCR; ``refine_ocr`` re-reads the signature
column with the coloured ink removed (the name is printed black; see ``pipeline.read.signer_block``) and is
meant to run between OCR and extraction for letters. The words of a value are repaired and scored
by ``letter.words`` (glued syllables split, fixed phrases snapped).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
from collections.abc import Sequence

from pipeline.models import Box, FieldValue, OcrPage, OcrResult, Page, Word
from pipeline.read import signer_block as signature
from pipeline.read.doctypes.contract import Cue, DocType, Extractor, Field
from pipeline.read.doctypes.letter import weight
from pipeline.read.doctypes.letter.header import DOCUMENT_KINDS, header_rows, layout, read_header
from pipeline.read.doctypes.letter.words import (
    ORG_PHRASES,
    SUBJECT_PHRASES,
    VOCABULARY_CONFIDENCE,
    Tok,
    is_syllable,
    snap_phrases,
    split_glued,
    split_syllables,
    text_field,
    tokens,
    value_confidence,
)
from pipeline.read.ocr import OcrOptions
from pipeline.read.text.lines import (
    Label,
    TextLine,
    document_lines,
    find_fuzzy,
    first,
    fold,
    label_values,
    nfc,
    union_box,
)
from pipeline.read.text.names import SURNAMES, SURNAMES_BY_FOLD

__all__ = [
    "DOCTYPE",
    "ORG_PHRASES",
    "SUBJECT_PHRASES",
    "extract_generic_letter",
    "is_syllable",
    "refine_ocr",
    "signature_region",
    "snap_phrases",
    "split_glued",
    "split_syllables",
]

log = logging.getLogger(__name__)

_RECIPIENT = (Label("recipient", ("Kính gửi:",)),)
# A recipient printed as a list ("- Sở A;" "- Sở B.") is read as its first line only: for review.
LIST_CAP = 0.6


def extract_generic_letter(lines: list[TextLine]) -> dict[str, FieldValue]:
    out = read_header(lines)
    first_page = [ln for ln in lines if ln.page == (lines[0].page if lines else 0)]
    if recipient := first(label_values(first_page, _RECIPIENT), "recipient"):
        text = recipient.span.text
        field = text_field("recipient", [recipient.span], text.lstrip("-–• ").strip(), SUBJECT_PHRASES)
        following = next((ln for ln in first_page if ln.index > recipient.hit.line.index), None)
        if text.startswith(("-", "–", "•")) or (following is not None and following.text.startswith(("-", "–", "•"))):
            # "Kính gửi: - Sở A; - Sở B.": a list, of which one line is not the whole recipient
            field = dataclasses.replace(field, confidence=min(field.confidence, LIST_CAP))
        out["recipient"] = field
    out.update(_signer(lines))
    return out


# ---- the signature block -------------------------------------------------------------------------
# Signer titles, printed upper case in the right column ("KT. GIÁM ĐỐC", "TM. ỦY BAN NHÂN DÂN").
_TITLES = re.compile(
    r"\b(?:giam doc|chu tich|truong phong|chanh van phong|truong ban|thu truong|cuc truong|vien truong|"
    r"chanh an|chanh thanh tra|bi thu|hieu truong|bo truong|truong khoa|chu nhiem|tong bien tap)\b|"
    r"(?:^|\s)(?:kt|tm|tl|tuq|q)\s?\.",
)


def _surname(tok: Tok) -> bool:
    """Whether ``tok`` is a surname; a surname read with wrong diacritics ("Bũi") is snapped to it."""
    if tok.text in SURNAMES:
        return True
    found = SURNAMES_BY_FOLD.get(fold(tok.text), ())
    if len(found) != 1:
        return False
    tok.text, tok.repaired, tok.settled = found[0], True, True
    tok.conf = max(tok.conf, VOCABULARY_CONFIDENCE)
    return True


def _is_title_line(ln: TextLine) -> bool:
    upper = [w.text for w in ln.words if any(c.isalpha() for c in w.text) and w.text.upper() == w.text]
    return len(upper) >= 1 and bool(_TITLES.search(fold(" ".join(upper))))


# "Nơi nhận:" with its first word misread (".Vơi nhận:"): a short word, "nhận" and the colon.
_RECEIVERS = re.compile(r"^\W{0,2}[a-z]{2,4}\s?nhan\s?:")


def _anchor(page_lines: Sequence[TextLine]) -> TextLine | None:
    """The first line of the signature block: "Nơi nhận:" or the signer's title, near the page end."""
    tail = page_lines[-20:]
    for ln in tail:
        if find_fuzzy(ln.folded, "noi nhan", line_start=True) is not None or _RECEIVERS.match(ln.folded):
            return ln
    for ln in tail:
        if _is_title_line(ln) and ln.words[-1].box.x > _text_extent(page_lines)[0] + 0.4 * _width(page_lines):
            return ln
    return None


def _text_extent(page_lines: Sequence[TextLine]) -> tuple[int, int]:
    xs0 = [w.box.x for ln in page_lines for w in ln.words]
    xs1 = [w.box.x + w.box.w for ln in page_lines for w in ln.words]
    return (min(xs0), max(xs1)) if xs0 else (0, 1)


def _width(page_lines: Sequence[TextLine]) -> int:
    lo, hi = _text_extent(page_lines)
    return max(1, hi - lo)


def _column_left(page_lines: Sequence[TextLine], anchor: TextLine) -> float:
    """Where the signature column starts: right of the "Nơi nhận" list, left of the signer's title."""
    lo, _ = _text_extent(page_lines)
    left = lo + 0.45 * _width(page_lines)
    titled = [w for w in anchor.words if w.box.x > left and w.text.upper() == w.text and w.text.isalpha()]
    return min(left, titled[0].box.x) if titled else left


def _signer(lines: list[TextLine]) -> dict[str, FieldValue]:
    """The signer: the last name-like run of words (2-5 capitalised syllables) in the signature column."""
    if not lines:
        return {}
    pages = sorted({ln.page for ln in lines}, reverse=True)
    found = ((pg, a) for pg in pages if (a := _anchor([ln for ln in lines if ln.page == pg])) is not None)
    page_index, anchor = next(found, (pages[0], None))  # the last page with a block (an annex may follow)
    page = [ln for ln in lines if ln.page == page_index]
    if anchor is not None:
        block = [ln for ln in page if ln.index >= anchor.index][:16]
        left = _column_left(page, anchor)
    else:  # no block found: the last lines, right half; a guess, for review
        block = page[-8:]
        lo, _ = _text_extent(page)
        left = lo + 0.4 * _width(page)
    best: tuple[TextLine, list[Word], list[Tok]] | None = None
    for ln in block:
        run = _name_run(ln, left)
        if run:
            best = (ln, *run)
    if best is None:
        return {}
    ln, words, toks = best
    surname = _surname(toks[0])
    value = nfc(" ".join(t.text for t in toks))
    conf = value_confidence(toks) * (1.0 if surname else 0.85) * (1.0 if anchor is not None else 0.8)
    field = FieldValue("signer_name", value, round(min(1.0, conf), 3), ln.page, union_box(words))
    return {"signer_name": field}


def _is_name_token(t: str) -> bool:
    """A capitalised syllable of 2+ letters ("Ngọc"): one word of a person's name."""
    return len(t) >= 2 and t[0].isupper() and t[1:].islower() and is_syllable(t)


def _is_name_word(w: Word) -> bool:
    return all(_is_name_token(t.text) for t in tokens([w]))


def _name_run(ln: TextLine, left: float) -> tuple[list[Word], list[Tok]] | None:
    """The line's trailing run of name words right of ``left``, if it reads as a person's name."""
    words = [w for w in ln.words if w.box.x + w.box.w / 2 >= left]
    i = len(words) - 1
    while i >= 0 and not _is_name_word(words[i]) and not any(c.isalpha() for c in words[i].text):
        i -= 1  # a mark after the name (the seal's edge read as ":" or "*")
    run: list[Word] = []
    while i >= 0 and _is_name_word(words[i]):
        run.insert(0, words[i])
        i -= 1
    # seal text left of the name ("Suy Trần Thị Ngọc Châu"): a doubtful or detached word before a surname
    while len(run) > 2 and not _surname(Tok(run[0].text, 1.0)) and _surname(Tok(run[1].text, 1.0)):
        gaps = [b.box.x - (a.box.x + a.box.w) for a, b in itertools.pairwise(run[1:])]
        detached = run[1].box.x - (run[0].box.x + run[0].box.w) > 2 * max(gaps, default=0)
        if run[0].confidence >= 0.85 and not detached:
            break
        run = run[1:]
    toks = tokens(run)
    if not 2 <= len(toks) <= 5 or find_fuzzy(fold(" ".join(t.text for t in toks)), "luu"):
        return None
    return run, toks


# ---- re-reading the signature block ----------------------------------------------------------------
def signature_region(ocr_page: OcrPage) -> Box | None:
    """The signature column of a page in page pixels: right of the "Nơi nhận" list, from the title down."""
    lines = document_lines(OcrResult((ocr_page,)))
    anchor = _anchor(lines)
    if anchor is None:
        return None
    left = int(_column_left(lines, anchor))
    top = min(w.box.y for w in anchor.words)
    height = max(w.box.h for w in anchor.words)
    top = max(0, top - height // 2)
    bottom = min(ocr_page.height, top + max(int(0.3 * ocr_page.height), 16 * height))  # room to sign
    for ln in lines:  # stop at the first line running across the column's edge (body text)
        if ln.index <= anchor.index:
            continue
        y = min(w.box.y for w in ln.words)
        if y > top and any(w.box.x < left < w.box.x + w.box.w for w in ln.words):
            bottom = min(bottom, y - 2)
            break
    if bottom - top < 2 * height or ocr_page.width - left < 4 * height:
        return None
    return Box(left, top, ocr_page.width - left, bottom - top)


def _signature_block(ocr_page: OcrPage) -> signature.Block | None:
    region = signature_region(ocr_page)
    return None if region is None else signature.Block(region)  # letters are printed black


def reread_signature(page: Page, ocr_page: OcrPage, options: OcrOptions) -> OcrPage:
    """The page's OCR with the signature column re-read without the seal's and the signature's ink.

    Words inside the column are replaced by the re-read ones (boxes in page pixels); lines that
    share a baseline with the "Nơi nhận" list are joined to it as the page OCR does.
    """
    block = _signature_block(ocr_page)
    return ocr_page if block is None else signature.reread(page, ocr_page, block, options)


def refine_ocr(pages: Sequence[Page], ocr: OcrResult, options: OcrOptions) -> OcrResult:
    """A letter's OCR with the signature column re-read (see ``pipeline.read.signer_block``).

    The block is looked for from the last page back (an annex may follow the signature). To run
    after classification for ``generic_letter`` and before extraction; ~0.3 s a letter.
    """
    ocr = signature.refine_ocr(pages, ocr, options, _signature_block)
    return weigh_header(pages, ocr)  # the parent body's regular type over the issuer's bold


def weigh_header(pages: Sequence[Page], ocr: OcrResult) -> OcrResult:
    """``ocr`` with ``Word.weight`` set on the words of the first page's left header block (the
    bodies' lines): a few dozen small crops of the page, no OCR."""
    if not pages or not ocr.pages:
        return ocr
    lay = layout(document_lines(OcrResult(ocr.pages[:1])))
    rows = header_rows(lay) if lay is not None else []
    image = pages[0].image
    if len(rows) < 2 or image.shape[0] < ocr.pages[0].height or image.shape[1] < ocr.pages[0].width:
        return ocr  # one body, or not the pixels the words were read on
    weights = weight.measure(weight.grey(image), [r.words for r in rows])
    return dataclasses.replace(ocr, pages=(weight.with_weights(ocr.pages[0], weights), *ocr.pages[1:]))


DOCTYPE = DocType(
    name="generic_letter",
    label_vi="Công văn / văn bản",
    label_en="Official letter / document",
    fields=(
        Field("parent_org", "Cơ quan chủ quản", "Parent authority"),
        Field("issuing_org", "Cơ quan ban hành", "Issuing authority"),
        Field("doc_number", "Số văn bản", "Document number"),
        Field("issue_place", "Địa danh", "Place of issue"),
        Field("issue_date", "Ngày ban hành", "Date of issue"),
        Field("subject", "Trích yếu (V/v)", "Subject"),
        Field("recipient", "Kính gửi", "Addressed to"),
        Field("signer_name", "Người ký", "Signed by"),
    ),
    cues=(
        Cue("Kính gửi", 1.5),
        Cue("Nơi nhận", 1.5),
        Cue("V/v", 1.0),
        # "Số: 935/STP-HCTP": a number then the issuer's code (a register's "Số: 101/1995" is a year);
        # or, with the number filled in by hand after printing, the code alone: "Số:   /TB-UBND"
        Cue(
            r"^\W{0,2}so\s?[:;.]?\s?(?:\d+\s?/\s?(?:\d{4}\s?/\s?)?[a-z]|[^\s/]{0,6}\s?/\s?[a-z]{1,8}\s?-\s?[a-z])",
            1.0,
            pattern=True,
        ),
        # The kind of administrative document alone on its line, as Decree 30/2020/NĐ-CP lays it out
        # under the number ("CHỈ THỊ", "THÔNG BÁO", "QUYẾT ĐỊNH"…), and its subject line ("Về việc …").
        Cue(DOCUMENT_KINDS, 1.5, pattern=True),
        Cue(r"^\W{0,2}v[ea]\s?viec\b", 1.0, pattern=True),
        # the issuer's header beside the national motto ("UBND QUẬN LÊ CHÂN  CỘNG HÒA XÃ HỘI ...")
        Cue(
            r"^\W{0,2}(?:ubnd|uy ban|so |bo |phong |cuc |chi cuc|tong cuc|van phong|truong ).*cong hoa xa hoi",
            1.0,
            pattern=True,
        ),
    ),
    extractor=Extractor(run=extract_generic_letter, refine=refine_ocr),
)
