"""English means English: every error, verdict reason, diagnosis and QR code has an English text by
code, and the API (``Accept-Language: en``, ``?lang=en``, the language cookie) and the pages
(``?lang=en``, the cookie) answer in English with no Vietnamese letter left; Vietnamese stays the default.

What is data, not interface, is left out of the check on purpose, each by name: the office's name,
the signer certificate's subject and the document's field values (they are the registry's and the
document's own words), and the language switch (``#lang-switch``: "Tiếng Việt" is how Vietnamese is
offered to an English reader).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import pkgutil
import re
import string
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from redis import Redis

import pipeline.verify.verdict as verdict_module
from api import i18n
from api.app import create_app
from api.state import AppState, RateLimits
from pipeline.certify.dev_pki import make_dev_pki
from pipeline.certify.pades import SignOptions, load_pkcs12_key, sign_pdf
from pipeline.certify.render import RenderOptions, render_ecopy
from pipeline.ecopy_id import new_ecopy_id
from pipeline.errors import EcopyError
from pipeline.models import Page
from pipeline.verify.diagnose import MESSAGES as DIAGNOSIS_MESSAGES
from pipeline.verify.qr_check import MESSAGES as QR_MESSAGES
from storage.errors import StorageError
from storage.objectstore import FilesystemStore
from storage.registry import EcopyRecord, Registry
from tests.support import attacks
from tests.support.copies import ECOPY_ID, OFFICE, sample_certification

_VI_LOWER = (
    "ăâđêôơư"
    "àáảãạ" "ằắẳẵặ" "ầấẩẫậ" "èéẻẽẹ" "ềếểễệ" "ìíỉĩị" "òóỏõọ" "ồốổỗộ" "ờớởỡợ" "ùúủũụ" "ừứửữự" "ỳýỷỹỵ"
)  # fmt: skip
VIETNAMESE = re.compile(f"[{_VI_LOWER}{_VI_LOWER.upper()}]")
PACKAGES = ("pipeline", "storage", "api", "workers", "workflow", "ecopy")
PASSWORD = b"english"


def vietnamese_in(text: str) -> list[str]:
    """The words of ``text`` that hold a Vietnamese letter (empty: none)."""
    return [w for w in text.split() if VIETNAMESE.search(w)]


# ---- every code has an English text ---------------------------------------------------------------------------------
def _import_everything() -> list[str]:
    """Import every module of the project's packages (so every error class exists); the ones that fail."""
    failed: list[str] = []
    for name in PACKAGES:
        try:
            package = importlib.import_module(name)
        except ModuleNotFoundError:  # workflow/ may not exist in every tree
            continue
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if module.name.rsplit(".", 1)[-1] == "__main__":
                continue  # running it is its whole purpose
            try:
                importlib.import_module(module.name)
            except Exception as e:
                failed.append(f"{module.name}: {type(e).__name__}: {e}")
    return failed


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_codes() -> dict[str, str]:
    """code → a class that has it, for every EcopyError and StorageError the project defines."""
    found: dict[str, str] = {}
    for base in (EcopyError, StorageError):
        for cls in (base, *_subclasses(base)):
            if cls.__module__.split(".")[0] in PACKAGES:
                found.setdefault(cls.code, f"{cls.__module__}.{cls.__qualname__}")
    return found


def verdict_codes() -> set[str]:
    """Every code pipeline.verify.verdict adds to a verdict (``out.add("code", …)``), read from its source."""
    tree = ast.parse(inspect.getsource(verdict_module))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def test_every_error_code_has_an_english_text() -> None:
    failed = _import_everything()
    assert not failed, failed
    codes = error_codes()
    assert len(codes) > 50 and {"input.corrupt", "storage.corrupt", "auth.required", "intake.wrong_state"} <= set(codes)
    codes |= {c: "api.app (set at run time)" for c in ("internal", "http.404", "http.405")}
    missing = {code: where for code, where in codes.items() if code not in i18n.ERROR_CODES}
    assert not missing, missing
    for code in codes:
        english = i18n.error_message("en", code, "Tệp không dùng được.")
        assert english and not vietnamese_in(english), (code, english)
        assert i18n.error_message("vi", code, "Tệp không dùng được.") == "Tệp không dùng được."


def test_every_verdict_reason_and_diagnosis_code_has_an_english_text() -> None:
    codes = verdict_codes() | set(DIAGNOSIS_MESSAGES)
    assert {"hash.match", "record.unknown", "id.embedded", "update.page_content", "signature.zeroed"} <= codes
    missing = sorted(codes - set(i18n.REASON_CODES))
    assert not missing, missing
    values = {"ecopy_id": "X", "office": "O", "issued_at": "T", "status": "S", "revoked_reason": "", "signer": "N"}
    values["superseded_by"] = ""
    for code in i18n.REASON_CODES:
        english = i18n.reason_text("en", code, "Chữ ký số không hợp lệ.", **values)
        fields = {name for _, name, _, _ in string.Formatter().parse(i18n._REASONS_EN[code]) if name}
        assert fields <= set(values), (code, fields)
        assert english and not vietnamese_in(english), (code, english)
        assert i18n.reason_text("vi", code, "Chữ ký số không hợp lệ.", **values) == "Chữ ký số không hợp lệ."


def test_every_qr_code_has_an_english_text() -> None:
    for code in QR_MESSAGES:
        english = i18n.qr_message("en", code)
        assert english != QR_MESSAGES[code] and not vietnamese_in(english), (code, english)


def test_an_unknown_code_is_still_english() -> None:
    assert not vietnamese_in(i18n.error_message("en", "no.such_code", "Đã có lỗi xảy ra."))
    assert not vietnamese_in(i18n.reason_text("en", "no.such_code", "Bản sao đã bị thu hồi."))
    assert i18n.error_message("vi", "no.such_code", "Đã có lỗi xảy ra.") == "Đã có lỗi xảy ra."


# ---- through the real app -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def copies() -> dict[str, Any]:
    """A genuine signed copy of the dev PKI, and the same copy with bytes appended (altered)."""
    pki = make_dev_pki(OFFICE, password=PASSWORD)
    key = load_pkcs12_key(pki.signer_p12, PASSWORD)
    scan = np.full((842, 595, 3), 247, np.uint8)
    scan[120:140, 60:535] = 30
    rendered = render_ecopy([Page(0, scan, dpi=72)], None, sample_certification(), RenderOptions()).pdf
    genuine = sign_pdf(rendered, key, SignOptions(location="Phường Bến Nghé"))
    return {
        "root": pki.root_cert_pem,
        "key": key,
        "genuine": genuine,
        "altered": attacks.append_trailing_data(genuine),
    }


@pytest.fixture
def env(tmp_path: Path, redis_url: str, copies: dict[str, Any]) -> Iterator[dict[str, Any]]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    redis = Redis.from_url(redis_url)

    def forget_rate_counters() -> None:
        for key in redis.scan_iter("ecopy:rl:*"):
            redis.delete(key)

    forget_rate_counters()
    registry.add_ecopy(
        EcopyRecord(
            ecopy_id=ECOPY_ID,
            doc_type="birth_certificate",
            fields={"full_name": {"value": "NGUYỄN VĂN AN", "confidence": 1.0}},
            sha256=hashlib.sha256(copies["genuine"]).hexdigest(),
            object_key=f"ecopies/{ECOPY_ID}.pdf",
            office=OFFICE,
            signer_cert_sha256=copies["key"].cert_sha256,
            certificate_number="1.234",
            page_count=1,
        )
    )
    state = AppState(
        registry=registry,
        store=FilesystemStore(tmp_path / "store"),
        redis=redis,
        trust_roots=(copies["root"],),
        max_upload_bytes=2 * 1024 * 1024,
        office=OFFICE,
        rate_limits=RateLimits(public_lookups=100, public_misses=100, agency_lookups=1000, logins=3),
        approve_wait_seconds=0,
    )
    with TestClient(create_app(state)) as client:
        yield {"client": client, "copies": copies, "subject": copies["key"].subject}
    forget_rate_counters()
    registry.close()


EN = {"Accept-Language": "en-GB,en;q=0.9"}


def _error_calls(c: TestClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    """A few error paths of the API: code → response."""
    return {
        "auth.required": c.post(
            f"/api/v1/intakes{query}", files={"files": ("a.png", b"x", "image/png")}, headers=headers
        ),
        "http.404": c.get(f"/api/v1/no-such-thing{query}", headers=headers),
        "input.invalid": c.post(f"/api/v1/verify{query}", json={"purpose": "x"}, headers=headers),
        "http.405": c.get(f"/api/v1/verify{query}", headers=headers),
        "input.too_large": c.post(
            f"/api/v1/verify{query}", files={"file": ("big.pdf", b"%PDF-" + b"0" * (3 * 1024 * 1024))}, headers=headers
        ),
    }


def test_api_errors_answer_in_english_when_asked(env: dict[str, Any]) -> None:
    c = env["client"]
    english = _error_calls(c, EN)
    vietnamese = _error_calls(c, {})
    for code, r in english.items():
        body = r.json()
        assert body["code"] == code, body
        assert not vietnamese_in(body["message"]), body
        assert body["message"] == i18n.error_message("en", code, ""), body
        vi = vietnamese[code].json()
        assert vi["code"] == code and vi["message"] != body["message"] and vietnamese_in(vi["message"]), vi
    assert english["auth.required"].status_code == 401 and english["input.too_large"].status_code == 413
    # the switch link and the cookie say English too; a header preferring Vietnamese keeps it
    for r in _error_calls(c, {}, "?lang=en").values():
        assert not vietnamese_in(r.json()["message"]), r.json()
    c.cookies.set(i18n.LANG_COOKIE, "en")
    assert not vietnamese_in(c.get("/api/v1/no-such-thing").json()["message"])
    c.cookies.clear()
    r = c.get("/api/v1/no-such-thing", headers={"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.8"})
    assert vietnamese_in(r.json()["message"])


# ---- pages: the visible text ----------------------------------------------------------------------------------------
class _Visible(HTMLParser):
    """Text a reader sees: text nodes and the title/alt/placeholder/aria-label/value attributes, without
    scripts, styles and the language switch."""

    SKIP = frozenset({"script", "style", "template"})
    ATTRS = frozenset({"title", "alt", "placeholder", "aria-label", "value"})
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            if tag not in self.VOID:
                self.skipping.append(tag)
            return
        if tag in self.SKIP or dict(attrs).get("id") == "lang-switch":
            if tag not in self.VOID:
                self.skipping.append(tag)
            return
        if tag == "input" and dict(attrs).get("type") in ("hidden", "text", "search", "file"):
            return  # a field's value is the user's, not the page's
        self.parts.extend(v for k, v in attrs if k in self.ATTRS and v)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str, *data: str) -> str:
    """The page's visible text, without the given data values (office, signer, field values)."""
    parser = _Visible()
    parser.feed(html)
    text = " ".join(" ".join(parser.parts).split())
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(" ".join(value.split()), " ")
    return " ".join(text.split())


PAGE = {"accept": "text/html"}


def test_a_verification_page_in_english_has_no_vietnamese(env: dict[str, Any]) -> None:
    c = env["client"]
    for ecopy_id in (new_ecopy_id(), "NOT-AN-ID"):  # not on record; not even an e-copy ID
        r = c.get(f"/v/{ecopy_id}?lang=en", headers=PAGE)
        assert r.status_code == 200 and 'lang="en"' in r.text
        text = visible_text(r.text)
        assert not vietnamese_in(text), (ecopy_id, vietnamese_in(text))
        assert vietnamese_in(visible_text(c.get(f"/v/{ecopy_id}?lang=vi", headers=PAGE).text))
    r = c.get("/no-such-page?lang=en", headers=PAGE)  # an error page
    assert r.status_code == 404 and not vietnamese_in(visible_text(r.text)), vietnamese_in(visible_text(r.text))


def test_an_uploaded_copy_gets_its_reasons_in_english(env: dict[str, Any]) -> None:
    c, copies = env["client"], env["copies"]
    data = (OFFICE, env["subject"], "NGUYỄN VĂN AN")  # the registry's and the certificate's words
    for name, verdict in (("genuine", "valid"), ("altered", "altered")):
        c.cookies.clear()  # the English page below remembers English in a cookie, as the switch does
        upload = {"file": (f"{name}.pdf", copies[name], "application/pdf")}
        en = c.post("/api/v1/verify", files=upload, headers=EN).json()
        vi = c.post("/api/v1/verify", files=upload).json()
        assert en["verdict"] == vi["verdict"] == verdict and en["codes"] == vi["codes"], (en, vi)
        assert len(en["reasons"]) == len(en["codes"]) and en["reasons"] != vi["reasons"]
        for reason in en["reasons"]:
            assert not vietnamese_in(visible_text(reason, *data)), reason
        assert all(vietnamese_in(reason) for reason in vi["reasons"]), vi["reasons"]
        if verdict == "altered":
            assert "file.trailing_data" in en["codes"] and "id.embedded" in en["codes"], en["codes"]
            assert f"The file names e-copy {ECOPY_ID}" in " ".join(en["reasons"])
        else:
            assert any(OFFICE in reason for reason in en["reasons"])  # the same facts as the Vietnamese

        page = c.post("/v?lang=en", files=upload, data={"purpose": ""}, headers=PAGE)
        assert page.status_code == 200
        text = visible_text(page.text, *data)
        assert not vietnamese_in(text), (name, vietnamese_in(text))
        for reason in en["reasons"]:
            assert visible_text(reason, *data) in text
