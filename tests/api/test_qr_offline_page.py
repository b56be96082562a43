"""The QR's signed payload checked in a real browser (Chromium, WebCrypto), with the network off.

One e-copy is issued the way the product issues it (render, seal, sign, store, register); its QR is
read back from the PDF with zbar, and the URL in it is opened as a phone's camera would open it.
The app runs in this process (uvicorn on 127.0.0.1), with the tests' Redis. Then the browser context
goes offline: an altered payload, a payload signed by another key and a pasted QR text on ``/v/qr``
are judged by the page alone. A host name mapped to 127.0.0.1 gives an insecure (http, not localhost)
origin, where WebCrypto does not exist: the page says so and ``/v/qr`` falls back to the server.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pypdfium2 as pdfium
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ecopy import wiring
from ecopy.devtools.ports import free_port
from ecopy.settings import Settings
from pipeline.certify.dev_pki import make_dev_pki
from pipeline.certify.pades import load_pkcs12_key
from pipeline.certify.qr_token import QrClaims, b64url, b64url_decode, parse_qr_text, seal
from pipeline.models import Page as ScanPage
from pipeline.verify.qr_check import read_qr_photo
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from workflow.issuing import IssueRequest, issue_ecopy

FIELDS = {
    "full_name": {"value": "Nguyễn Thị Ánh Tuyết", "confidence": 0.97},
    "date_of_birth": {"value": "01/02/2003", "confidence": 0.91},
}
INSECURE_HOST = "ecopy-insecure.test"  # mapped to 127.0.0.1 in Chromium: an http origin that is not localhost
WAIT = 10_000  # ms


@dataclass(frozen=True)
class Issued:
    base: str
    qr: str  # the QR text as zbar read it from the PDF
    ecopy_id: str
    office: str


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Issued]:
    tmp = tmp_path_factory.mktemp("qr-offline")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=tmp / "data", redis_url=redis_url, public_url=base, port=port)
    svc = wiring.build_services(settings, with_key=True)
    scan = np.full((1169, 827, 3), 248, np.uint8)
    scan[150:190, 80:700] = 30
    request = IssueRequest(pages=[ScanPage(0, scan, dpi=100)], ocr=None, doc_type="birth_certificate", fields=FIELDS)
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one, and
    # pyHanko's signing starts a loop of its own (asyncio.run refuses to nest).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        record = pool.submit(issue_ecopy, request, svc).result()
    pdf = pdfium.PdfDocument(svc.store.get(record.object_key))
    try:
        last = np.asarray(pdf[len(pdf) - 1].render(scale=200 / 72).to_pil().convert("RGB"))
    finally:
        pdf.close()
    texts = read_qr_photo(last)
    assert texts, "the certification page's QR could not be read"
    server = uvicorn.Server(
        uvicorn.Config(wiring.build_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="qr-offline-app", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.05)
        yield Issued(base=base, qr=texts[0], ecopy_id=record.ecopy_id, office=record.office)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make sysdeps-test` (apt-get install chromium)", pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    args = [*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def opened(browser: Browser, problems: list[str]) -> Iterator[Page]:
    ctx = browser.new_context(locale="vi-VN", viewport={"width": 1100, "height": 1400})
    ctx.set_default_timeout(WAIT)
    page = ctx.new_page()
    page.on("pageerror", lambda e: problems.append(f"JS error: {e}"))
    try:
        yield page
    finally:
        ctx.close()


def altered(token: str, **claims: str) -> str:
    """The office's token with claims changed and its signature kept: what a forger can make."""
    header, payload, signature = token.split(".")
    changed = json.loads(b64url_decode(payload)) | claims
    return f"{header}.{b64url(json.dumps(changed, ensure_ascii=False, separators=(',', ':')).encode())}.{signature}"


def verdict(page: Page, status: str) -> None:
    expect(page.locator("#qr-verdict")).to_have_attribute("data-status", status)


def test_qr_link_checked_in_the_browser_then_offline(browser: Browser, app: Issued) -> None:
    problems: list[str] = []
    ecopy_id, token = parse_qr_text(app.qr)
    assert ecopy_id == app.ecopy_id and token
    impostor_pki = make_dev_pki(app.office, password=b"x")  # same office name, another key
    impostor = load_pkcs12_key(impostor_pki.signer_p12, b"x")
    claims = QrClaims.from_payload(json.loads(b64url_decode(token.split(".")[1])))
    assert claims is not None and claims.ecopy_id == app.ecopy_id
    foreign = seal(claims, impostor)
    with opened(browser, problems) as page:
        page.goto(app.qr)  # what the phone's camera opens
        verdict(page, "valid")
        expect(page.locator("#qr-verdict")).to_have_attribute("data-code", "qr.valid")
        expect(page.locator("#qr-message")).to_contain_text(f"Mã QR có chữ ký hợp lệ của {app.office}")
        expect(page.locator("#qr-message")).to_contain_text("kiểm tra không cần mạng")
        expect(page.locator("#qr-claims")).to_contain_text(app.ecopy_id)
        expect(page.locator("#qr-claims")).to_contain_text("Giấy khai sinh")
        expect(page.locator("#qr-record")).to_have_attribute("data-record", "match")
        page.screenshot(path=str(SCREENSHOTS / "qr-offline-valid.png"), full_page=True)

        page.context.set_offline(True)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.evaluate("h => { window.location.hash = h; }", altered(token, t="diploma"))
        verdict(page, "tampered")
        expect(page.locator("#qr-label")).to_have_text("MÃ QR ĐÃ BỊ SỬA")
        expect(page.locator("#qr-verdict")).to_have_class("verdict verdict-altered")
        expect(page.locator("#qr-claims-heading")).to_contain_text("KHÔNG được xác nhận")
        page.screenshot(path=str(SCREENSHOTS / "qr-offline-tampered.png"), full_page=True)

        page.evaluate("h => { window.location.hash = h; }", foreign)
        verdict(page, "foreign")
        expect(page.locator("#qr-verdict")).to_have_attribute("data-code", "qr.foreign")

        page.evaluate("h => { window.location.hash = h; }", token[: len(token) // 2])
        verdict(page, "malformed")
        assert requests == [], f"the offline check asked the network: {requests}"
    assert problems == []


def test_pasted_qr_text_checked_with_the_network_off(browser: Browser, app: Issued) -> None:
    problems: list[str] = []
    _, token = parse_qr_text(app.qr)
    assert token
    with opened(browser, problems) as page:
        page.goto(f"{app.base}/v/qr?lang=en")
        page.context.set_offline(True)  # loaded once; from here on nothing can be fetched

        def check(text: str, status: str) -> None:
            page.fill("#qr-text", text)
            page.click("#qr-submit")
            verdict(page, status)

        check(app.qr, "valid")
        expect(page.locator("#qr-label")).to_have_text("QR CODE VALID")
        expect(page.locator("#qr-message")).to_contain_text("checked without network")
        check(app.qr.split("#")[0] + "#" + altered(token, o="UBND Xã Khác"), "tampered")
        expect(page.locator("#qr-label")).to_have_text("QR CODE ALTERED")
        other_id = "0000-0000-0000-0000-0"
        check(app.qr.replace(app.ecopy_id, other_id), "mismatch")
        expect(page.locator("#qr-message")).to_contain_text(other_id)
        check(app.qr.split("#")[0], "unsigned")
        page.screenshot(path=str(SCREENSHOTS / "qr-offline-paste.png"), full_page=True)
    assert problems == []


def test_insecure_origin_says_so_and_the_server_checks(browser: Browser, app: Issued) -> None:
    problems: list[str] = []
    insecure = app.qr.replace("127.0.0.1", INSECURE_HOST, 1)
    with opened(browser, problems) as page:
        page.goto(insecure)
        assert page.evaluate("window.isSecureContext") is False
        verdict(page, "unchecked")
        expect(page.locator("#qr-message")).to_contain_text("https")

        page.goto(insecure.split("/v/")[0] + "/v/qr")
        expect(page.locator("#qr-insecure")).to_be_visible()
        page.fill("#qr-text", app.qr)
        page.click("#qr-submit")  # no WebCrypto: an ordinary form post, judged by the server
        expect(page.locator("#qr-server-note")).to_be_visible()
        verdict(page, "valid")
        expect(page.locator("#qr-claims")).to_contain_text(app.ecopy_id)
    assert problems == []


def test_trust_list_is_published(app: Issued) -> None:
    answer = httpx.get(f"{app.base}/.well-known/ecopy-keys.json", timeout=10)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
    keys = answer.json()["keys"]
    assert [k["office"] for k in keys] == [app.office]
    assert keys[0]["crv"] == "P-256" and keys[0]["cert_pem"].startswith("-----BEGIN CERTIFICATE-----")
    checked = httpx.post(
        f"{app.base}/v/qr", data={"qr": app.qr}, headers={"Accept": "application/json"}, timeout=10
    ).json()
    assert (checked["code"], checked["claims"]["ecopy_id"]) == ("qr.valid", app.ecopy_id)
