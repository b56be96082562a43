"""The web pages in a real browser: a clerk, a signer and a receiving agency use `ecopy up` through Chromium.

ecopy is started the way a newcomer starts it (``ecopy up``, credentials from ``ecopy admin create-key``);
each person has a browser context of their own (their own cookies). Full-page screenshots of every page
visited go to ``test-artifacts/screenshots/`` in the repository (look at them after a change to the pages).

Needs Debian's Chromium (``make sysdeps-test`` installs it; ECOPY_TEST_CHROMIUM overrides the path):
Playwright drives it and never downloads a browser of its own.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlparse

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from pyzbar.pyzbar import decode as decode_qr
from redis import Redis
from rq import Queue

from ecopy.devtools.ports import free_port
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.support.corpus import corpus_doc
from workers.queues import ALL_QUEUES

AGENCY = "Trường Đại học Thử Nghiệm"
NEW_NAME = "NGUYỄN VĂN THỬ"
REVOKE_REASON = "Cấp nhầm hồ sơ"
SHORT = 10_000  # ms: a page answering, a fetch finishing
READ = 120_000  # ms: the worker reading a scan with Tesseract (one thread)
SIGN = 60_000  # ms: the signer worker signing and registering the PDF


@dataclass
class Ecopy:
    """A running `ecopy up`: its address, the env its CLI needs, its log, and one API key per role."""

    base: str
    env: dict[str, str]
    log: Path
    keys: dict[str, str] = field(default_factory=dict)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def create_key(env: dict[str, str], role: str, office: str | None = None) -> str:
    """As the README tells a newcomer: the key is the only line on stdout (messages go to stderr)."""
    cli = [str(Path(sys.executable).with_name("ecopy")), "admin", "create-key", "--role", role]
    if office:
        cli += ["--office", office]
    out = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"{' '.join(cli)} failed ({out.returncode}):\n{out.stderr}"
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ek_"), f"stdout should be only the key, got {out.stdout!r}"
    return lines[0]


@pytest.fixture(scope="module")
def ecopy(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Ecopy]:
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOPY_")}  # no developer's settings
    env.update(
        ECOPY_DATA_DIR=str(tmp / "data"),
        ECOPY_REDIS_URL=redis_url,  # the tests' Redis: `ecopy up` starts none of its own
        ECOPY_PORT=str(port),
        ECOPY_PUBLIC_URL=base,
        OMP_THREAD_LIMIT="1",
    )
    redis = Redis.from_url(redis_url)
    for q in ALL_QUEUES:  # jobs another test left behind must not reach this worker
        Queue(q, connection=redis).empty()
    server = Ecopy(base=base, env=env, log=tmp / "ecopy-up.log")
    with open(server.log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("ecopy")), "up"],
            env=env,
            cwd=tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        started, deadline = time.monotonic(), time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, f"ecopy up exited ({proc.returncode}):\n{server.log_tail()}"
            assert time.monotonic() < deadline, f"ecopy up did not answer /healthz within 60 s:\n{server.log_tail()}"
            time.sleep(0.2)
        print(f"\n[browser] ecopy up answered in {time.monotonic() - started:.1f} s")
        server.keys = {
            "clerk": create_key(env, "clerk"),
            "signer": create_key(env, "signer"),
            "verifier": create_key(env, "verifier", AGENCY),
        }
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for q in ALL_QUEUES:
            Queue(q, connection=redis).empty()
        redis.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make sysdeps-test` (apt-get install chromium)", pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Person:
    """One person's browser context; collects what went wrong in their pages (JS errors, 5xx answers)."""

    name: str
    context: BrowserContext
    problems: list[str] = field(default_factory=list)

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.problems.append(f"{self.name}: JS error on {page.url}: {e}"))
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"{self.name}: console.error on {page.url}: {m.text}")
                if m.type == "error" and "status of 4" not in m.text  # 4xx pages the test asks for on purpose
                else None
            ),
        )
        return page


@pytest.fixture
def people(browser: Browser, ecopy: Ecopy) -> Iterator[Callable[[str], Person]]:
    made: list[Person] = []

    def person(name: str) -> Person:
        ctx = browser.new_context(base_url=ecopy.base, locale="vi-VN", viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(SHORT)
        p = Person(name, ctx)
        ctx.on(
            "response",
            lambda r: (
                p.problems.append(f"{name}: HTTP {r.status} from {r.request.method} {r.url}")
                if r.status >= 500
                else None
            ),
        )
        made.append(p)
        return p

    try:
        yield person
    finally:
        for p in made:
            p.context.close()


def shot(page: Page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # sticky panels otherwise show where the last click scrolled to
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"[browser] {name}: {time.monotonic() - started:.1f} s")


@contextlib.contextmanager
def server_log_on_failure(server: Ecopy) -> Iterator[None]:
    try:
        yield
    except BaseException:
        print(f"---- ecopy up log (last lines) ----\n{server.log_tail(120)}")
        raise


def sign_in(page: Page, key: str, home: str) -> None:
    page.goto("/login")
    page.fill("#login-api-key", key)
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(rf"^[^?#]*{re.escape(home)}(\?.*)?$"), timeout=SHORT)


def api_json(page: Page, path: str) -> dict[str, Any]:
    """GET a JSON API path with this person's session cookie (the same thing the page's fetch sends)."""
    r = page.context.request.get(path)
    assert r.ok, f"GET {path} → {r.status} {r.text()}"
    data = r.json()
    assert isinstance(data, dict)
    return data


def wait_for_api(page: Page, path: str, done: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any]:
    """Poll the API until ``done`` (the pages poll the same way); fails with the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        data = api_json(page, path)
        if done(data):
            return data
        assert data.get("status") != "failed", data
        assert time.monotonic() < deadline, f"{path} still {data.get('status')} after {timeout_s:.0f} s: {data}"
        time.sleep(0.5)


def id_forms(ecopy_id: str) -> str:
    """A regex for the ID in a URL: as is, or percent-encoded (check symbols ``*~$=`` may be quoted)."""
    return "(" + "|".join(re.escape(f) for f in sorted({ecopy_id, quote(ecopy_id, safe="-")})) + ")"


def links_to(prefix: str, ecopy_id: str) -> str:
    """A CSS selector for links to ``prefix + ID``, written either way."""
    return ", ".join(f"a[href='{prefix}{f}']" for f in sorted({ecopy_id, quote(ecopy_id, safe="-")}))


def decode_svg_qr(page: Page, selector: str) -> str:
    """Render the inline SVG QR as the browser shows it and read it back with zbar."""
    png = page.locator(selector).screenshot()
    img = Image.open(io.BytesIO(png)).convert("L")
    if img.width < 300:
        img = img.resize((img.width * 3, img.height * 3), Image.NEAREST)
    found = decode_qr(img)
    assert found, f"no QR code readable in {selector}"
    return str(found[0].data.decode("utf-8"))


@pytest.mark.slow
def test_clerk_signer_and_agency_issue_and_check_a_copy(ecopy: Ecopy, people: Callable[[str], Person]) -> None:
    scan = corpus_doc("dev_0004")[0][0]  # the front of an ID card
    clerk, signer = people("clerk"), people("signer")
    public, agency = people("public"), people("agency")
    everyone = (clerk, signer, public, agency)
    started = time.monotonic()

    with server_log_on_failure(ecopy):
        # ---- 1. clerk: sign in, upload, correct a field, submit ------------------------------------
        cp = clerk.page()
        with step("1a clerk signs in"):
            cp.goto("/login")
            expect(cp.locator("#login-api-key")).to_be_visible(timeout=SHORT)
            expect(cp.locator("#lang-switch")).to_be_visible(timeout=SHORT)
            shot(cp, "01-login")
            sign_in(cp, ecopy.keys["clerk"], "/counter")
            me = api_json(cp, "/api/v1/me")
            assert me["role"] == "clerk", me
            # the header names who is signed in and where
            expect(cp.locator("body")).to_contain_text(me["office"], timeout=SHORT)
            expect(cp.locator("body")).to_contain_text(me["display_name"], timeout=SHORT)
            expect(cp.locator("#upload-form")).to_be_visible(timeout=SHORT)
            expect(cp.locator("#drop-zone")).to_be_visible(timeout=SHORT)
            expect(cp.locator("#camera-input")).to_have_attribute("capture", "environment", timeout=SHORT)
            shot(cp, "02-counter")

        with step("1b clerk uploads the scan"):
            cp.set_input_files("#upload-files", str(scan))
            cp.click("#upload-submit")
            cp.wait_for_url(re.compile(r"/counter/intakes/[^/?#]+$"), timeout=30_000)
            intake_id = urlparse(cp.url).path.rsplit("/", 1)[-1]
            intake_api = f"/api/v1/intakes/{intake_id}"
            print(f"[browser] intake {intake_id}")

        with step("1c the page shows the reading (worker OCR)"):
            expect(cp.locator("#fields-form")).to_be_visible(timeout=READ)
            intake = api_json(cp, intake_api)
            assert intake["status"] in ("ready", "review"), intake["status"]
            inputs = cp.locator("#fields-form input[id^='field-']")
            assert inputs.count() >= 1
            for name, f in intake["fields"].items():  # one input per field, low-confidence ones marked
                box = cp.locator(f"#field-{name}")
                expect(box).to_have_count(1, timeout=SHORT)
                expect(box).to_have_value(f["value"] or "", timeout=SHORT)
                if f["low"]:
                    expect(box).to_have_class(re.compile(r"\blow\b"), timeout=SHORT)
            if any(f["low"] for f in intake["fields"].values()):
                expect(cp.get_by_text("Cần kiểm tra").first).to_be_visible(timeout=SHORT)
            expect(cp.locator("#fields-form")).to_contain_text(intake["fields"]["full_name"]["label"], timeout=SHORT)
            image = cp.locator("img.page-image").first
            expect(image).to_be_visible(timeout=SHORT)
            loaded = "() => { const i = document.querySelector('img.page-image'); return i && i.naturalWidth > 0 }"
            cp.wait_for_function(loaded, timeout=SHORT)  # the image really loaded (not a broken-image icon)
            ocr = cp.locator("#ocr-text pre")  # may sit folded in a <details>: present, not necessarily visible
            expect(ocr).to_have_count(intake["pages"], timeout=SHORT)
            expect(ocr.first).to_contain_text(intake["text"][0].strip().splitlines()[0], timeout=SHORT)

        with step("1d clerk corrects full_name and saves"):
            name_box = cp.locator("#field-full_name")
            original = name_box.input_value()
            print(f"[browser] read full_name {original!r} → {NEW_NAME!r}")
            name_box.fill(NEW_NAME)
            cp.click("#save-fields")
            expect(cp.get_by_text("Đã lưu").first).to_be_visible(timeout=SHORT)
            shot(cp, "03-intake-review")
            intake = api_json(cp, intake_api)
            full_name = intake["fields"]["full_name"]
            assert full_name["value"] == NEW_NAME, full_name
            assert full_name.get("corrected_by") == me["actor"], full_name
            assert full_name.get("original") == original, full_name
            untouched = [n for n, f in intake["fields"].items() if n != "full_name" and f.get("corrected_by")]
            assert not untouched, f"fields the clerk did not change are marked corrected: {untouched}"

        with step("1e clerk submits to the signer"):
            cp.click("#submit-intake")
            expect(cp.get_by_text("Đã gửi người ký").first).to_be_visible(timeout=SHORT)
            intake = api_json(cp, intake_api)
            assert intake["status"] == "submitted", intake["status"]
            expect(cp.locator("body")).to_contain_text(intake["status_label"], timeout=SHORT)
            shot(cp, "04-intake-submitted")

        # ---- 2. signer: the queue, approve the selected intake --------------------------------------
        sp = signer.page()
        with step("2a signer signs in and sees the queue"):
            sign_in(sp, ecopy.keys["signer"], "/sign")
            row = sp.locator("#sign-queue tr.queue-row").filter(
                has=sp.locator(f"input.select-intake[value='{intake_id}']")
            )
            expect(row).to_have_count(1, timeout=SHORT)
            expect(row).to_contain_text(NEW_NAME, timeout=SHORT)  # the holder's name as corrected
            shot(sp, "05-sign-queue")

        with step("2b signer's read-only view of the intake"):
            sp.goto(f"/sign/intakes/{intake_id}")
            expect(sp.locator("#approve")).to_be_visible(timeout=SHORT)
            expect(sp.locator("#reject")).to_be_visible(timeout=SHORT)
            expect(sp.locator("#field-full_name")).to_have_value(NEW_NAME, timeout=SHORT)
            expect(sp.locator("#field-full_name")).not_to_be_editable(timeout=SHORT)  # the signer only reads
            expect(sp.locator("#save-fields")).to_have_count(0, timeout=SHORT)
            shot(sp, "06-sign-intake")

        with step("2c signer approves from the queue; the copy is signed"):
            sp.goto("/sign")
            sp.locator(f"#sign-queue input.select-intake[value='{intake_id}']").check()
            sp.click("#sign-selected")
            intake = wait_for_api(sp, intake_api, lambda i: i["status"] == "issued" and bool(i["ecopy_id"]), SIGN / 1e3)
            ecopy_id = intake["ecopy_id"]
            print(f"[browser] e-copy {ecopy_id}")
            expect(sp.locator("#sign-queue")).to_contain_text(ecopy_id, timeout=SHORT)  # the row's result
            shot(sp, "07-sign-approved")

        with step("2d the signer's list of recent copies"):
            sp.goto("/sign")
            expect(sp.locator(f"#sign-queue input.select-intake[value='{intake_id}']")).to_have_count(0, timeout=SHORT)
            expect(sp.locator(links_to("/ecopies/", ecopy_id)).first).to_be_visible(timeout=SHORT)

        # ---- 3. clerk: the receipt for the citizen -------------------------------------------------
        with step("3 clerk finds the intake in the office's list and prints the receipt"):
            cp.goto("/counter")
            row_link = cp.locator(f"#intake-list a[href='/counter/intakes/{intake_id}']").first
            expect(row_link).to_be_visible(timeout=SHORT)
            expect(cp.locator("#intake-list")).to_contain_text(intake["status_label"], timeout=SHORT)
            row_link.click()
            expect(cp).to_have_url(re.compile(rf"/counter/intakes/{re.escape(intake_id)}$"), timeout=SHORT)
            expect(cp.locator("#receipt-link")).to_be_visible(timeout=SHORT)
            cp.click("#receipt-link")
            expect(cp).to_have_url(re.compile(rf"/counter/intakes/{re.escape(intake_id)}/receipt$"), timeout=SHORT)
            expect(cp.locator("#receipt-ecopy-id")).to_contain_text(ecopy_id, timeout=SHORT)
            expect(cp.locator("#receipt-qr svg")).to_be_visible(timeout=SHORT)
            expect(cp.locator("#print")).to_be_visible(timeout=SHORT)
            expect(cp.locator("body")).to_contain_text(NEW_NAME, timeout=SHORT)
            verify_url = re.compile(re.escape(f"{ecopy.base}/v/") + id_forms(ecopy_id))
            expect(cp.locator("body")).to_contain_text(verify_url, timeout=SHORT)
            qr_url = decode_svg_qr(cp, "#receipt-qr svg")
            assert unquote(qr_url) == f"{ecopy.base}/v/{ecopy_id}", qr_url
            shot(cp, "08-receipt")
            cp.emulate_media(media="print")  # what the printer gets: the receipt, not the buttons and menus
            expect(cp.locator("#receipt-ecopy-id")).to_be_visible(timeout=SHORT)
            expect(cp.locator("#print")).to_be_hidden(timeout=SHORT)
            shot(cp, "08b-receipt-print")
            cp.emulate_media(media="screen")

        # ---- 4. a receiving agency checks the copy -------------------------------------------------
        fields = intake["fields"]
        private_values = [fields[n]["value"] for n in ("id_number", "date_of_birth") if fields.get(n, {}).get("value")]
        vp = public.page()
        with step("4a anyone scanning the QR sees the minimum"):
            vp.goto(qr_url)  # what a phone does with the receipt's QR code
            verdict = vp.locator("#verdict")
            expect(verdict).to_have_attribute("data-verdict", "valid", timeout=SHORT)
            expect(verdict).to_contain_text("HỢP LỆ", timeout=SHORT)
            body = vp.locator("body")
            expect(body).to_contain_text(NEW_NAME, timeout=SHORT)
            expect(body).to_contain_text("chỉ để đối chiếu với người xuất trình", timeout=SHORT)
            expect(vp.locator("#pdf-link")).to_have_count(0, timeout=SHORT)
            expect(vp.locator("a[href*='/pdf']")).to_have_count(0, timeout=SHORT)
            for value in private_values:  # no field list for an anonymous lookup
                expect(body).not_to_contain_text(value, timeout=SHORT)
            shot(vp, "09-verify-public-valid")

        ap = agency.page()
        with step("4b the agency signed in sees the fields and the PDF"):
            sign_in(ap, ecopy.keys["verifier"], "/v")
            typed = ecopy_id.replace("-", "").lower()  # typed from paper, sloppily
            ap.fill("#verify-id", typed)
            ap.click("#verify-id-submit")
            expect(ap).to_have_url(re.compile(r"/v/" + id_forms(ecopy_id) + r"\?(.*&)?src=id"), timeout=SHORT)
            expect(ap.locator("#verdict")).to_have_attribute("data-verdict", "valid", timeout=SHORT)
            for value in private_values:
                expect(ap.locator("body")).to_contain_text(value, timeout=SHORT)
            pdf_link = ap.locator("#pdf-link")
            expect(pdf_link).to_be_visible(timeout=SHORT)
            href = pdf_link.get_attribute("href") or ""
            assert unquote(href).endswith(f"/api/v1/ecopies/{ecopy_id}/pdf"), href
            pdf = ap.context.request.get(href)
            assert pdf.ok and pdf.headers["content-type"].startswith("application/pdf"), (pdf.status, pdf.headers)
            assert pdf.body().startswith(b"%PDF-")
            shot(ap, "10-verify-agency")

        with step("4c signer revokes the copy on its page"):
            sp.on("dialog", lambda d: d.accept())  # a confirm() before revoking is fine
            sp.goto("/sign")
            sp.locator(links_to("/ecopies/", ecopy_id)).first.click()
            expect(sp).to_have_url(re.compile(r"/ecopies/" + id_forms(ecopy_id) + "$"), timeout=SHORT)
            expect(sp.locator("#pdf-link")).to_be_visible(timeout=SHORT)
            sp.fill("#revoke-reason", REVOKE_REASON)
            shot(sp, "11-ecopy-revoke-form")
            sp.click("#revoke-submit")
            record = wait_for_api(sp, f"/api/v1/ecopies/{ecopy_id}", lambda e: e["record"]["status"] == "revoked", 15)
            assert record["record"]["revoked_reason"] == REVOKE_REASON, record["record"]

        with step("4d the QR now says revoked, with the reason"):
            vp.reload()
            verdict = vp.locator("#verdict")
            expect(verdict).to_have_attribute("data-verdict", "revoked", timeout=SHORT)
            expect(verdict).to_contain_text("ĐÃ BỊ THU HỒI", timeout=SHORT)
            expect(vp.locator("body")).to_contain_text(REVOKE_REASON, timeout=SHORT)
            shot(vp, "12-verify-revoked")

        # ---- 5. English and back -------------------------------------------------------------------
        with step("5 the language switch"):
            vp.click("#lang-switch")
            expect(vp.locator("#verdict")).to_contain_text("REVOKED", timeout=SHORT)
            expect(vp.locator("#verdict")).not_to_contain_text("THU HỒI", timeout=SHORT)
            assert {c["name"]: c["value"] for c in public.context.cookies()}.get("ecopy_lang") == "en"
            shot(vp, "13-verify-english")
            vp.click("#lang-switch")
            expect(vp.locator("#verdict")).to_contain_text("ĐÃ BỊ THU HỒI", timeout=SHORT)
            expect(vp.locator("#verdict")).to_have_attribute("data-verdict", "revoked", timeout=SHORT)

        with step("the issuing office sees who looked it up"):
            lookups = api_json(sp, f"/api/v1/ecopies/{ecopy_id}/lookups")["lookups"]
            assert any(x["channel"] == "qr" and x["verdict"] == "valid" and not x["agency"] for x in lookups), lookups
            assert any(x["agency"] == AGENCY and x["verdict"] == "valid" for x in lookups), lookups

        problems = [p for person in everyone for p in person.problems]
        assert not problems, "\n".join(problems)
    print(f"[browser] whole flow: {time.monotonic() - started:.1f} s")


@pytest.mark.slow
def test_staff_pages_need_sign_in_and_the_right_role(ecopy: Ecopy, people: Callable[[str], Person]) -> None:
    clerk = people("clerk")
    with server_log_on_failure(ecopy):
        page = clerk.page()
        with step("not signed in: /counter → /login"):
            response = page.goto("/counter")
            assert response is not None
            first = response.request.redirected_from
            assert first is not None, "no redirect from /counter"
            first_response = first.response()
            assert first_response is not None and first_response.status == 303, first_response
            url = urlparse(page.url)
            assert url.path == "/login", page.url
            assert parse_qs(url.query).get("next") == ["/counter"], page.url
            expect(page.locator("#login-api-key")).to_be_visible(timeout=SHORT)

        with step("a wrong key: a Vietnamese error on the page"):
            page.fill("#login-api-key", "ek_this-is-not-a-key")
            page.click("#login-submit")
            expect(page.locator("#login-error")).to_be_visible(timeout=SHORT)
            expect(page.locator("#login-error")).to_contain_text(
                re.compile(r"[ạảãàáâậầấẩẫăắằặẳẵđêếềệểễôốồộổỗơớờợởỡưứừựửữ]")
            )
            shot(page, "14-login-error")

        with step("signed in, back to where the clerk wanted to go"):
            page.goto("/login?next=/counter")
            page.fill("#login-api-key", ecopy.keys["clerk"])
            page.click("#login-submit")
            expect(page).to_have_url(re.compile(r"/counter$"), timeout=SHORT)

        with step("a clerk on the signer's page: 403 in Vietnamese"):
            response = page.goto("/sign")
            assert response is not None and response.status == 403, response and response.status
            expect(page.locator("body")).to_contain_text(re.compile(r"quyền", re.IGNORECASE), timeout=SHORT)
            shot(page, "15-forbidden")

        with step("log out: the session is gone"):
            page.goto("/counter")
            page.locator("form[action='/logout'] [type=submit], form[action='/logout'] button").first.click()
            expect(page).to_have_url(re.compile(r"/login"), timeout=SHORT)
            page.goto("/counter")
            expect(page).to_have_url(re.compile(r"/login\?next="), timeout=SHORT)
            assert api_json_status(page, "/api/v1/me") == 401

        problems = list(clerk.problems)
        assert not problems, "\n".join(problems)


def api_json_status(page: Page, path: str) -> int:
    return page.context.request.get(path).status
