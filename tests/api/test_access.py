"""Who may do what: every role × endpoint of the API, object-level office rules, CSRF, rate limits
and the lookup audit log. Fast: intakes and e-copies are seeded in the registry (no OCR); the real
read → approve → sign → verify path runs in test_api_worker and test_browser.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image
from redis import Redis
from rq import Queue

from api.app import create_app
from api.auth import new_api_key, new_user
from api.state import AppState, RateLimits
from pipeline.ecopy_id import new_ecopy_id
from storage.objectstore import FilesystemStore
from storage.registry import EcopyRecord, Registry
from workers.queues import INTAKE_QUEUE, SIGN_QUEUE
from workflow.signing import pages_prefix

OFFICE_A = "UBND phường Bến Nghé"
OFFICE_B = "UBND phường Đa Kao"
AGENCY = "Trường Đại học Thử Nghiệm"


@pytest.fixture
def env(tmp_path: Path, redis_url: str) -> Iterator[dict[str, Any]]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    redis = Redis.from_url(redis_url)

    def forget_rate_counters() -> None:  # not flushdb: the test run's claim on this DB lives there too
        for key in redis.scan_iter("ecopy:rl:*"):
            redis.delete(key)

    forget_rate_counters()
    state = AppState(
        registry=registry,
        store=FilesystemStore(tmp_path / "store"),
        redis=redis,
        trust_roots=(),
        max_upload_bytes=2 * 1024 * 1024,
        office=OFFICE_A,
        rate_limits=RateLimits(public_lookups=8, public_misses=3, agency_lookups=1000, logins=3),
        approve_wait_seconds=0,
    )
    keys = {
        who: new_api_key(registry, role=role, office=office)[1]
        for who, role, office in (
            ("clerkA", "clerk", OFFICE_A),
            ("signerA", "signer", OFFICE_A),
            ("clerkB", "clerk", OFFICE_B),
            ("signerB", "signer", OFFICE_B),
            ("verifier", "verifier", AGENCY),
            ("admin", "admin", OFFICE_A),
        )
    }
    with TestClient(create_app(state)) as client:
        yield {"client": client, "state": state, "registry": registry, "keys": keys}
    for q in (INTAKE_QUEUE, SIGN_QUEUE):
        Queue(q, connection=redis).empty()
    forget_rate_counters()
    registry.close()


def as_(env: dict[str, Any], who: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['keys'][who]}"} if who else {}


def seed_intake(env: dict[str, Any], office: str = OFFICE_A, status: str = "ready") -> str:
    """An ID card read as the workers would leave it, with one doubtful field."""
    intake_id = uuid.uuid4().hex
    registry: Registry = env["registry"]
    registry.create_intake(intake_id, office=office, file_keys=["k"], file_names=["scan.png"], status="queued")
    png = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(png, format="PNG")
    env["state"].store.put(f"{pages_prefix(intake_id)}page-000.png", png.getvalue(), content_type="image/png")
    registry.update_intake(
        intake_id,
        status=status,
        doc_type="cccd_front",
        page_count=1,
        text=["CĂN CƯỚC CÔNG DÂN\nHọ và tên: NGUYỄN VĂN AN"],
        fields={
            "id_number": {"value": "001203004567", "confidence": 0.99},
            "full_name": {"value": "NGUYỄN VĂN ẤN", "confidence": 0.41},
        },
        min_confidence=0.41,
        needs_review=True,
    )
    return intake_id


def seed_ecopy(env: dict[str, Any], office: str = OFFICE_A) -> str:
    ecopy_id = new_ecopy_id()
    env["registry"].add_ecopy(
        EcopyRecord(
            ecopy_id=ecopy_id,
            doc_type="cccd_front",
            fields={"full_name": {"value": "NGUYỄN VĂN AN", "confidence": 1.0}, "id_number": {"value": "001203004567"}},
            sha256=hashlib.sha256(ecopy_id.encode()).hexdigest(),
            object_key=f"ecopies/{ecopy_id}.pdf",
            office=office,
            signer_cert_sha256="0" * 64,
            certificate_number="7",
            page_count=1,
        )
    )
    env["state"].store.put(f"ecopies/{ecopy_id}.pdf", b"%PDF-1.7 test bytes", content_type="application/pdf")
    return ecopy_id


ROLES = (None, "clerkA", "signerA", "verifier", "admin", "clerkB", "signerB")


def _png_upload() -> list[tuple[str, tuple[str, bytes, str]]]:
    png = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(png, format="PNG")
    return [("files", ("scan.png", png.getvalue(), "image/png"))]


# endpoint -> expected status per caller (None = no credentials). 404 for another office's intake.
MATRIX: dict[str, dict[str | None, int]] = {
    "create": {None: 401, "clerkA": 202, "signerA": 403, "verifier": 403, "admin": 403, "clerkB": 202, "signerB": 403},
    "get": {None: 401, "clerkA": 200, "signerA": 200, "verifier": 403, "admin": 200, "clerkB": 404, "signerB": 404},
    "page": {None: 401, "clerkA": 200, "signerA": 200, "verifier": 403, "admin": 200, "clerkB": 404, "signerB": 404},
    "correct": {None: 401, "clerkA": 200, "signerA": 403, "verifier": 403, "admin": 403, "clerkB": 404, "signerB": 403},
    "submit": {None: 401, "clerkA": 200, "signerA": 403, "verifier": 403, "admin": 403, "clerkB": 404, "signerB": 403},
    "type": {None: 401, "clerkA": 200, "signerA": 403, "verifier": 403, "admin": 403, "clerkB": 404, "signerB": 403},
    "approve": {None: 401, "clerkA": 403, "signerA": 202, "verifier": 403, "admin": 403, "clerkB": 403, "signerB": 404},
    "reject": {None: 401, "clerkA": 403, "signerA": 200, "verifier": 403, "admin": 403, "clerkB": 403, "signerB": 404},
    "approvals": {
        None: 401,
        "clerkA": 403,
        "signerA": 200,
        "verifier": 403,
        "admin": 403,
        "clerkB": 403,
        "signerB": 200,
    },
    "ecopy": {None: 401, "clerkA": 200, "signerA": 200, "verifier": 200, "admin": 200, "clerkB": 403, "signerB": 403},
    "pdf": {None: 401, "clerkA": 200, "signerA": 200, "verifier": 200, "admin": 200, "clerkB": 403, "signerB": 403},
    "lookups": {None: 401, "clerkA": 200, "signerA": 200, "verifier": 403, "admin": 200, "clerkB": 403, "signerB": 403},
    "revoke": {None: 401, "clerkA": 403, "signerA": 200, "verifier": 403, "admin": 200, "clerkB": 403, "signerB": 403},
    "verify": {None: 200, "clerkA": 200, "signerA": 200, "verifier": 200, "admin": 200, "clerkB": 200, "signerB": 200},
}


def call(env: dict[str, Any], endpoint: str, who: str | None) -> Any:
    """One request to ``endpoint`` as ``who``, on fresh objects of office A in the right state."""
    c, h = env["client"], as_(env, who)
    if endpoint == "create":
        return c.post("/api/v1/intakes", files=_png_upload(), headers=h)
    if endpoint in ("get", "page", "correct", "submit", "type"):
        intake_id = seed_intake(env)
        return {
            "get": lambda: c.get(f"/api/v1/intakes/{intake_id}", headers=h),
            "page": lambda: c.get(f"/api/v1/intakes/{intake_id}/pages/0", headers=h),
            "correct": lambda: c.patch(
                f"/api/v1/intakes/{intake_id}/fields", json={"fields": {"full_name": "NGUYỄN VĂN AN"}}, headers=h
            ),
            "submit": lambda: c.post(f"/api/v1/intakes/{intake_id}/submit", headers=h),
            "type": lambda: c.post(
                f"/api/v1/intakes/{intake_id}/type",
                json={"doc_type": "other", "doc_title": "Bảng điểm toàn khóa"},
                headers=h,
            ),
        }[endpoint]()
    if endpoint in ("approve", "reject", "approvals"):
        intake_id = seed_intake(env, status="submitted")
        if endpoint == "approve":
            return c.post(f"/api/v1/intakes/{intake_id}/approve", headers=h)
        if endpoint == "reject":
            return c.post(f"/api/v1/intakes/{intake_id}/reject", json={"reason": "Ảnh mờ, quét lại"}, headers=h)
        return c.post("/api/v1/approvals", json={"intake_ids": [intake_id]}, headers=h)
    ecopy_id = seed_ecopy(env)
    return {
        "ecopy": lambda: c.get(f"/api/v1/ecopies/{ecopy_id}", headers=h),
        "pdf": lambda: c.get(f"/api/v1/ecopies/{ecopy_id}/pdf", headers=h),
        "lookups": lambda: c.get(f"/api/v1/ecopies/{ecopy_id}/lookups", headers=h),
        "revoke": lambda: c.post(f"/api/v1/ecopies/{ecopy_id}/revoke", json={"reason": "Cấp nhầm"}, headers=h),
        "verify": lambda: c.post("/api/v1/verify", json={"ecopy_id": ecopy_id}, headers=h),
    }[endpoint]()


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_every_role_on_every_endpoint(env: dict[str, Any], endpoint: str) -> None:
    for who in ROLES:
        r = call(env, endpoint, who)
        expected = MATRIX[endpoint][who]
        assert r.status_code == expected, f"{endpoint} as {who}: {r.status_code} {r.text[:300]}"
        if expected >= 400:
            body = r.json()
            assert body["code"] in ("auth.required", "auth.forbidden", "intake.not_found"), body
            assert body["message"] and body["message"].isascii() is False  # Vietnamese text for the screen


def test_approvals_approves_only_the_signers_own_office(env: dict[str, Any]) -> None:
    c = env["client"]
    mine, theirs = seed_intake(env, status="submitted"), seed_intake(env, office=OFFICE_B, status="submitted")
    r = c.post("/api/v1/approvals", json={"intake_ids": [mine, theirs]}, headers=as_(env, "signerA"))
    assert r.status_code == 200
    results = {x["id"]: x for x in r.json()["results"]}
    assert results[mine]["status"] == "signing" and results[mine]["ecopy_id"]
    assert results[theirs]["error"]["code"] == "intake.not_found"
    assert (r.json()["approved"], r.json()["failed"]) == (1, 1)
    assert env["registry"].get_intake(theirs).status == "submitted"
    assert Queue(SIGN_QUEUE, connection=env["state"].redis).job_ids == [f"issue-{mine}"]


def test_an_office_lists_only_its_own_intakes(env: dict[str, Any]) -> None:
    a, b = seed_intake(env), seed_intake(env, office=OFFICE_B)
    listed = {
        who: {i["id"] for i in env["client"].get("/api/v1/intakes", headers=as_(env, who)).json()["intakes"]}
        for who in ("clerkA", "clerkB", "admin")
    }
    assert listed == {"clerkA": {a}, "clerkB": {b}, "admin": {a, b}}
    assert env["client"].get("/api/v1/intakes", headers=as_(env, "verifier")).status_code == 403


def test_the_counter_workflow_records_who_and_when(env: dict[str, Any]) -> None:
    c, registry = env["client"], env["registry"]
    intake_id = seed_intake(env)
    before = c.get(f"/api/v1/intakes/{intake_id}", headers=as_(env, "clerkA")).json()
    assert before["fields"]["full_name"]["low"] is True and before["fields"]["id_number"]["low"] is False
    assert before["field_order"] == ["id_number", "full_name"] and before["page_urls"]

    r = c.patch(
        f"/api/v1/intakes/{intake_id}/fields",
        json={"fields": {"full_name": "  NGUYỄN VĂN AN "}},
        headers=as_(env, "clerkA"),
    )
    field = r.json()["fields"]["full_name"]
    assert field["value"] == "NGUYỄN VĂN AN" and field["confidence"] == 1.0 and field["low"] is False
    assert (
        field["corrected_by"] == f"key:{env['keys']['clerkA'].split('_')[1]}" and field["original"] == "NGUYỄN VĂN ẤN"
    )
    assert r.json()["needs_review"] is False
    r = c.patch(f"/api/v1/intakes/{intake_id}/fields", json={"fields": {"salary": "1"}}, headers=as_(env, "clerkA"))
    assert r.status_code == 422 and r.json()["code"] == "input.fields"

    assert c.post(f"/api/v1/intakes/{intake_id}/submit", headers=as_(env, "clerkA")).json()["status"] == "submitted"
    # submitted: no more edits, and no second submission
    r = c.patch(f"/api/v1/intakes/{intake_id}/fields", json={"fields": {"full_name": "X"}}, headers=as_(env, "clerkA"))
    assert r.status_code == 409 and r.json()["code"] == "intake.wrong_state"
    assert c.post(f"/api/v1/intakes/{intake_id}/submit", headers=as_(env, "clerkA")).status_code == 409

    r = c.post(f"/api/v1/intakes/{intake_id}/reject", json={"reason": ""}, headers=as_(env, "signerA"))
    assert r.status_code == 422 and r.json()["code"] == "input.reason_required"
    r = c.post(f"/api/v1/intakes/{intake_id}/reject", json={"reason": "Sai ngày sinh"}, headers=as_(env, "signerA"))
    assert r.json()["status"] == "rejected" and r.json()["review_note"] == "Sai ngày sinh"
    assert c.post(f"/api/v1/intakes/{intake_id}/submit", headers=as_(env, "clerkA")).json()["status"] == "submitted"

    r = c.post(f"/api/v1/intakes/{intake_id}/approve", headers=as_(env, "signerA"))
    assert r.status_code == 202 and r.json()["status"] == "signing"
    ecopy_id = r.json()["ecopy_id"]
    assert registry.get_intake(intake_id).ecopy_id == ecopy_id  # fixed at approval; the worker signs under it
    again = c.post(f"/api/v1/intakes/{intake_id}/approve", headers=as_(env, "signerA"))
    assert again.status_code == 409  # a double click approves once

    events = [(e.action, e.actor.split(":")[0]) for e in registry.list_intake_events(intake_id)]
    assert [a for a, _ in events] == ["corrected", "submitted", "rejected", "submitted", "approved"]
    corrected = registry.list_intake_events(intake_id)[0]
    assert corrected.detail["fields"]["full_name"] == {"from": "NGUYỄN VĂN ẤN", "to": "NGUYỄN VĂN AN"}
    assert all(
        abs((dt.datetime.now(dt.UTC) - e.at).total_seconds()) < 60 for e in registry.list_intake_events(intake_id)
    )


def test_an_intake_of_an_office_without_a_signing_key_is_not_approved(env: dict[str, Any]) -> None:
    intake_id = seed_intake(env, office=OFFICE_B, status="submitted")
    r = env["client"].post(f"/api/v1/intakes/{intake_id}/approve", headers=as_(env, "signerB"))
    assert r.status_code == 409 and r.json()["code"] == "office.no_signer"


def test_the_public_sees_the_minimum_and_agencies_the_record(env: dict[str, Any]) -> None:
    c = env["client"]
    ecopy_id = seed_ecopy(env)
    public = c.post("/api/v1/verify", json={"ecopy_id": ecopy_id, "purpose": "tuyển sinh"}).json()
    assert public["verdict"] == "valid" and public["full"] is False and "fields" not in public
    assert public["record"]["holder_name"] == "NGUYỄN VĂN AN" and public["record"]["office"] == OFFICE_A
    assert public["record"]["doc_type_label"].startswith("Căn cước")
    agency = c.post("/api/v1/verify", json={"ecopy_id": ecopy_id}, headers=as_(env, "verifier")).json()
    assert agency["full"] is True and agency["fields"]["id_number"]["value"] == "001203004567"
    assert agency["pdf_url"] == f"/api/v1/ecopies/{ecopy_id}/pdf"
    pdf = c.get(agency["pdf_url"], headers=as_(env, "verifier"))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_every_lookup_is_in_the_audit_log_without_content(env: dict[str, Any]) -> None:
    c, registry = env["client"], env["registry"]
    ecopy_id = seed_ecopy(env)
    c.post("/api/v1/verify", json={"ecopy_id": ecopy_id, "purpose": "Hồ sơ tuyển dụng"})
    c.get(f"/api/v1/ecopies/{ecopy_id}?purpose=Kiểm tra", headers=as_(env, "verifier"))
    c.get(f"/api/v1/ecopies/{ecopy_id}/pdf", headers=as_(env, "verifier"))
    c.post("/api/v1/verify", files={"file": ("x.pdf", b"%PDF-1.7 not ours", "application/pdf")})
    rows = c.get(f"/api/v1/ecopies/{ecopy_id}/lookups", headers=as_(env, "clerkA")).json()["lookups"]
    assert [(x["channel"], x["actor"] == "public", x["verdict"]) for x in rows] == [
        ("pdf", False, "valid"),
        ("record", False, "valid"),
        ("api-id", True, "valid"),
    ]
    assert rows[0]["agency"] == AGENCY and rows[0]["role"] == "verifier"
    assert rows[2]["purpose"] == "Hồ sơ tuyển dụng" and rows[1]["purpose"] == "Kiểm tra"
    with registry._engine.connect() as conn:  # the file lookup: its hash, never its bytes
        dump = [dict(r) for r in conn.execute(sa.text("SELECT * FROM lookups")).mappings()]
    assert len(dump) == 4
    assert any(r["file_sha256"] == hashlib.sha256(b"%PDF-1.7 not ours").hexdigest() for r in dump)
    assert "NGUYỄN" not in repr(dump) and "001203004567" not in repr(dump)


def test_the_audit_log_cannot_be_changed(env: dict[str, Any]) -> None:
    registry = env["registry"]
    env["client"].post("/api/v1/verify", json={"ecopy_id": seed_ecopy(env)})
    for statement in ("UPDATE lookups SET verdict = 'unknown'", "DELETE FROM lookups"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), registry._engine.begin() as conn:
            conn.execute(sa.text(statement))
    with registry._engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*), min(verdict) FROM lookups")).one() == (1, "valid")


def test_guessing_ids_is_rate_limited(env: dict[str, Any]) -> None:
    c = env["client"]
    statuses = [c.post("/api/v1/verify", json={"ecopy_id": new_ecopy_id()}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # 3 unknown IDs per 10 minutes and address
    r = c.post("/api/v1/verify", json={"ecopy_id": new_ecopy_id()})
    assert r.status_code == 429 and r.json()["code"] == "rate.limited" and int(r.headers["retry-after"]) > 0
    assert "đợi" in r.json()["message"]
    # an agency's credential has its own, larger allowance
    assert c.post("/api/v1/verify", json={"ecopy_id": new_ecopy_id()}, headers=as_(env, "verifier")).status_code == 200


def test_public_lookups_are_rate_limited_per_minute(env: dict[str, Any]) -> None:
    c = env["client"]
    ecopy_id = seed_ecopy(env)
    codes = [c.get(f"/v/{ecopy_id}", headers={"accept": "text/html"}).status_code for _ in range(9)]
    assert codes[:8] == [200] * 8 and codes[8] == 429


def test_credentials_are_checked(env: dict[str, Any]) -> None:
    c, registry = env["client"], env["registry"]
    assert c.get("/api/v1/me", headers={"Authorization": "Bearer ek_nothing_here"}).json()["code"] == "auth.invalid"
    key_id = env["keys"]["clerkA"].split("_")[1]
    tampered = env["keys"]["clerkA"][:-2] + ("aa" if not env["keys"]["clerkA"].endswith("aa") else "bb")
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    me = c.get("/api/v1/me", headers={"X-API-Key": env["keys"]["clerkA"]}).json()
    assert me["role"] == "clerk" and me["office"] == OFFICE_A
    assert registry.revoke_api_key(key_id)
    assert c.get("/api/v1/me", headers=as_(env, "clerkA")).status_code == 401
    stored = registry.get_api_key(key_id)
    assert env["keys"]["clerkA"].split("_")[2] not in repr(stored) and len(stored.secret_sha256) == 64


def test_web_sessions_need_the_csrf_header_to_change_anything(env: dict[str, Any]) -> None:
    c, registry = env["client"], env["registry"]
    _, password = new_user(registry, username="lan", role="clerk", office=OFFICE_A, display_name="Trần Thị Lan")
    assert registry.get_user_by_username("lan").password_hash.startswith("$argon2")
    r = c.post("/login", data={"username": "lan", "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert c.get("/api/v1/me").json()["display_name"] == "Trần Thị Lan"  # the cookie is enough to read
    intake_id = seed_intake(env)
    r = c.post(f"/api/v1/intakes/{intake_id}/submit")
    assert r.status_code == 403 and r.json()["code"] == "auth.csrf"
    r = c.post(f"/api/v1/intakes/{intake_id}/submit", headers={"X-CSRF-Token": c.cookies["ecopy_csrf"]})
    assert r.status_code == 200 and r.json()["submitted_by"] == "user:lan"
    c.cookies.clear()


def test_wrong_passwords_are_rate_limited(env: dict[str, Any]) -> None:
    c, registry = env["client"], env["registry"]
    _, password = new_user(registry, username="minh", role="signer", office=OFFICE_A)
    for _ in range(3):
        r = c.post("/login", data={"username": "minh", "password": "wrong-password"}, follow_redirects=False)
        assert r.status_code == 401
    r = c.post("/login", data={"username": "minh", "password": password}, follow_redirects=False)
    assert r.status_code == 429  # even the right password waits: the guesser does not learn it was right
