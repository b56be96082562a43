"""The web pages: the counter (clerks), the signer's desk, a copy's record, and the public check.

Server-rendered Jinja2 shells in Vietnamese (English by switch); ``static/app.js`` calls the JSON API for
anything that changes state, so the pages hold no rule of their own: who may see an intake or a copy is
``api.auth``'s, every check of a copy goes through ``api.lookups`` (rate limit, audit row).
Nothing is fetched from outside: the product runs offline.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import qrcode
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage
from starlette.datastructures import UploadFile

from api import i18n
from api import intakes as steps
from api.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    STAFF,
    Principal,
    RoleName,
    actor_names,
    authenticate_login,
    client_address,
    close_session,
    ecopy_access,
    load_intake_for,
    open_session,
    page_principal,
)
from api.lookups import holder_name, lookup_file, lookup_id
from api.state import AuthInvalidError, CsrfError, EcopyNotFoundError, RateLimitedError, get_state
from pipeline.certify.qr_token import fields_digest, key_field_values
from pipeline.certify.trust_list import TrustedKey, trust_list, trusted_keys_from_certs
from pipeline.ecopy_id import normalize_ecopy_id
from pipeline.errors import EcopyError
from pipeline.models import VN_TZ
from pipeline.read.doctypes import registry as doctypes
from pipeline.verify.qr_check import STATUS_OF_CODE, check_qr_text
from storage.errors import StorageError
from workflow.lifecycle import IntakeStatus

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
HOME = {"clerk": "/counter", "signer": "/sign", "verifier": "/v", "admin": "/counter"}
LANG_COOKIE_DAYS = 365

router = APIRouter(include_in_schema=False)


# ---- rendering ---------------------------------------------------------------------------------
def _as_datetime(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def vn_time(value: dt.datetime | str | None) -> str:
    """A moment as a clerk reads it: Vietnam's time, day first."""
    moment = _as_datetime(value)
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if moment else "—"


def vn_date(value: dt.datetime | str | None) -> str:
    moment = _as_datetime(value)
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y") if moment else "—"


def percent(value: float | str | None) -> str:
    try:
        return f"{round(float(value or 0) * 100)}%"
    except (TypeError, ValueError):
        return "—"


def ecopy_path(ecopy_id: str, base: str = "/ecopies/") -> str:
    """A link to a copy; check symbols like ``*`` or ``$`` are quoted."""
    return base + quote(ecopy_id, safe="-*~$=")  # as in the PDF's QR: the check symbol stays readable


def _static_version(name: str) -> str:
    try:
        return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def static_url(name: str) -> str:
    """``/static/name?v=<hash>``: a changed file is fetched again, an unchanged one comes from the cache."""
    return f"/static/{name}?v={_static_version(name)}"


TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
)
TEMPLATES.filters.update(vn_time=vn_time, vn_date=vn_date, percent=percent)
TEMPLATES.globals.update(static_url=static_url, ecopy_path=ecopy_path, quote=quote)


def _switch_url(request: Request, lang: str) -> str:
    other = "en" if lang == "vi" else "vi"
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*query, ('lang', other)])}"  # a POST's answer: its address, by GET


def _remember_lang(request: Request, response: Response) -> None:
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGS and chosen != request.cookies.get(i18n.LANG_COOKIE):
        response.set_cookie(
            i18n.LANG_COOKIE, chosen, max_age=LANG_COOKIE_DAYS * 86400, samesite="lax", path="/", httponly=False
        )


def _ui_strings(lang: str) -> dict[str, Any]:
    """What the page script needs to say things in the page's language."""
    keys = (
        "loading",
        "error.network",
        "counter.need_file",
        "counter.no_files",
        "counter.uploading",
        "counter.uploaded",
        "counter.empty",
        "col.open",
        "intake.check",
        "intake.confidence",
        "intake.corrected",
        "intake.saved",
        "intake.nothing_to_save",
        "intake.submitted",
        "intake.approved",
        "intake.signing_wait",
        "intake.rejected",
        "sign.selected",
        "sign.signing",
        "sign.done",
        "sign.none_selected",
        "sign.result_ok",
        "ecopy.revoked_done",
        "verify.need_file",
        "doc_type.not_in_list",
        "doc_title.required",
        "intake.type_changing",
        "intake.type_changed",
    )
    return {
        "lang": lang,
        "t": {k: i18n.t(lang, k) for k in keys},
        "statuses": {s: i18n.status_label(lang, s) for s in i18n.INTAKE_STATUSES},
        "doc_types": {d: i18n.doc_type_label(lang, d) for d in doctypes.DOCTYPES},
        "doc_type_unknown": i18n.t(lang, "doc_type.unknown"),
        "doc_type_unrecognised": i18n.t(lang, "doc_type.unrecognised"),
    }


def render(
    request: Request,
    template: str,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    page_data: Mapping[str, Any] | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = i18n.lang_of(request)
    html = TEMPLATES.get_template(template).render(
        request=request,
        lang=lang,
        principal=principal,
        csrf=request.cookies.get(CSRF_COOKIE, ""),
        switch_url=_switch_url(request, lang),
        page_data={"ui": _ui_strings(lang), **(page_data or {})},
        t=functools.partial(i18n.t, lang),
        field_label=functools.partial(i18n.field_label, lang),
        status_label=functools.partial(i18n.status_label, lang),
        ecopy_status_label=functools.partial(i18n.ecopy_status_label, lang),
        role_label=functools.partial(i18n.role_label, lang),
        doc_type_label=functools.partial(i18n.doc_type_label, lang),
        doc_heading=functools.partial(i18n.doc_heading, lang),
        # The type picker: the catalogue in display order, and the types whose title the clerk types.
        doc_type_choices=[(d, i18n.doc_type_label(lang, d)) for d in doctypes.doc_type_names()],
        title_types=[d.name for d in doctypes.DOCTYPES.values() if d.title_from_clerk],
        verdict_label=functools.partial(i18n.verdict_label, lang),
        verdict_explanation=functools.partial(i18n.verdict_explanation, lang),
        channel_label=functools.partial(i18n.channel_label, lang),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Cache-Control"] = "no-store"
    _remember_lang(request, response)
    return response


def _principal_or_none(request: Request) -> Principal | None:
    """The signed-in person for the header of an error page; an error page never fails on it."""
    try:
        return page_principal(request)
    except Exception:  # the registry is what failed: show the error without the header's name
        return None


def error_page(request: Request, err: EcopyError | StorageError) -> HTMLResponse:
    """The page for an error on a page route: the message in the page's language, the code, the HTTP status."""
    headers = {"Retry-After": str(err.retry_after)} if isinstance(err, RateLimitedError) else None
    message = i18n.error_message(i18n.lang_of(request), err.code, err.message)
    return render(
        request,
        "error.html",
        principal=_principal_or_none(request),
        status_code=err.http_status,
        headers=headers,
        err={"code": err.code, "message": message, "http_status": err.http_status},
        public=request.url.path == "/v" or request.url.path.startswith("/v/"),
    )


def _forbidden(request: Request, principal: Principal) -> HTMLResponse:
    return render(request, "forbidden.html", principal=principal, status_code=403)


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def _gate(request: Request, roles: Iterable[RoleName]) -> Principal | Response:
    """The signed-in person if they have one of ``roles``; else the sign-in redirect or the no-access page."""
    principal = page_principal(request)
    if principal is None:
        return _login_redirect(request)
    if principal.role not in tuple(roles):
        return _forbidden(request, principal)
    return principal


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site: never ``//evil.example`` or ``https://…``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(c in target for c in "\r\n\t") or ":" in target.split("?", 1)[0]:
        return None
    return target


def _csrf_ok(request: Request, presented: str | None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, presented or "")


def _form_text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# ---- signing in --------------------------------------------------------------------------------
@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    next_url = _safe_next(request.query_params.get("next")) or ""
    return render(request, "login.html", principal=page_principal(request), next_url=next_url, error="", username="")


@router.post("/login")
async def login(request: Request) -> Response:
    state = get_state(request)
    form = await request.form()
    username, password = _form_text(form, "username").strip(), _form_text(form, "password")
    api_key, next_url = _form_text(form, "api_key").strip(), _safe_next(_form_text(form, "next"))
    lang = i18n.lang_of(request)

    def again(message: str, status_code: int, headers: Mapping[str, str] | None = None) -> HTMLResponse:
        return render(
            request,
            "login.html",
            status_code=status_code,
            headers=headers,
            next_url=next_url or "",
            error=message,
            username=username,
        )

    if not api_key and not (username and password):
        return again(i18n.t(lang, "login.missing"), 400)
    try:
        principal = await run_in_threadpool(
            authenticate_login,
            state,
            username=username,
            password=password,
            api_key=api_key,
            client=client_address(request),
        )
    except RateLimitedError as e:
        return again(i18n.error_message(lang, e.code, e.message), e.http_status, {"Retry-After": str(e.retry_after)})
    except AuthInvalidError as e:
        return again(i18n.error_message(lang, e.code, e.message), e.http_status)
    response = RedirectResponse(next_url or HOME.get(principal.role, "/v"), status_code=303)
    await run_in_threadpool(open_session, state, response, principal)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    state = get_state(request)
    form = await request.form()
    response = RedirectResponse("/login", status_code=303)
    if request.cookies.get(SESSION_COOKIE) and not _csrf_ok(request, _form_text(form, "csrf")):
        return error_page(request, CsrfError(detail="logout form without the session's csrf value"))
    await run_in_threadpool(close_session, state, request, response)
    return response


@router.get("/")
def home(request: Request) -> Response:
    principal = page_principal(request)
    return RedirectResponse(HOME.get(principal.role, "/v") if principal else "/v", status_code=303)


# ---- the counter ------------------------------------------------------------------------------
@router.get("/counter")
def counter(request: Request) -> Response:
    gate = _gate(request, ("clerk", "admin"))
    if not isinstance(gate, Principal):
        return gate
    state, lang = get_state(request), i18n.lang_of(request)
    office = None if gate.role == "admin" else gate.office
    rows = [steps.intake_summary(i, lang) for i in state.registry.list_intakes(office=office, limit=50)]
    return render(
        request,
        "counter.html",
        principal=gate,
        intakes=rows,
        doc_types=doctypes.doc_type_names(),
        can_upload=gate.role == "clerk",
        page_data={"page": "counter"},
    )


def _event_rows(lang: str, doc_type: str | None, events: list[dict[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for e in events:
        action, detail = str(e.get("action") or ""), e.get("detail") or {}
        label = i18n.t(lang, f"event.{action}")
        parts: list[str] = []
        if isinstance(detail, dict):
            if detail.get("files"):
                parts.append(i18n.t(lang, "event.files", n=detail["files"]))
            if detail.get("doc_type"):
                parts.append(i18n.doc_type_label(lang, str(detail["doc_type"])))
            if detail.get("doc_title"):
                parts.append(str(detail["doc_title"]))
            if isinstance(detail.get("from"), dict) and isinstance(detail.get("to"), dict):  # a type change
                old, new = detail["from"], detail["to"]
                parts.append(
                    i18n.t(
                        lang,
                        "event.type_from_to",
                        old=i18n.doc_heading(lang, old.get("doc_type"), old.get("doc_title")),
                        new=i18n.doc_heading(lang, new.get("doc_type"), new.get("doc_title")),
                    )
                )
            if isinstance(detail.get("fields"), list | dict):
                parts.append(", ".join(i18n.field_label(lang, str(f), doc_type) for f in detail["fields"]))
            if detail.get("reason"):
                parts.append(i18n.t(lang, "event.reason", reason=detail["reason"]))
            for key in ("ecopy_id", "superseded_by"):
                if detail.get(key):
                    parts.append(str(detail[key]))
        actor = str(e.get("actor") or "")
        rows.append(
            {
                "at": vn_time(e.get("at")),
                "actor": i18n.t(lang, "event.system")
                if actor == "system"
                else str(e.get("actor_name") or actor.split(":", 1)[-1]),
                "action": action if label == f"event.{action}" else label,
                "detail": " · ".join(parts),
            }
        )
    return rows


def _intake_view(
    request: Request, principal: Principal, intake_id: str, *, mode: str, roles: Iterable[RoleName]
) -> HTMLResponse:
    state, lang = get_state(request), i18n.lang_of(request)
    try:
        intake = load_intake_for(state, principal, intake_id, roles=tuple(roles))
    except EcopyError as e:
        return error_page(request, e)
    detail = steps.intake_detail(state, intake, lang)
    editable = mode == "counter" and principal.role == "clerk" and intake.status in steps.EDITABLE
    return render(
        request,
        "intake.html",
        principal=principal,
        mode=mode,
        intake=detail,
        editable=editable,
        events=_event_rows(lang, intake.doc_type, detail["events"]),
        in_flight=intake.status in steps.IN_FLIGHT,
        page_data={
            "page": "intake",
            "mode": mode,
            "intake_id": intake.id,
            "status": intake.status,
            "in_flight": list(steps.IN_FLIGHT),
        },
    )


@router.get("/counter/intakes/{intake_id}")
def counter_intake(request: Request, intake_id: str) -> Response:
    gate = _gate(request, STAFF)
    if not isinstance(gate, Principal):
        return gate
    return _intake_view(request, gate, intake_id, mode="counter", roles=STAFF)


def qr_svg(text: str) -> Markup:
    """The QR code as inline SVG (no image file, no network), for the receipt."""
    image = qrcode.make(text, image_factory=SvgPathImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    label = "QR"
    return Markup(svg.replace("<svg", f'<svg role="img" aria-label="{label}" class="qr"', 1))


@router.get("/counter/intakes/{intake_id}/receipt")
def receipt(request: Request, intake_id: str) -> Response:
    gate = _gate(request, STAFF)
    if not isinstance(gate, Principal):
        return gate
    state = get_state(request)
    try:
        intake = load_intake_for(state, gate, intake_id)
    except EcopyError as e:
        return error_page(request, e)
    issued = intake.status == IntakeStatus.ISSUED
    rec = state.registry.get_ecopy(intake.ecopy_id) if intake.ecopy_id and issued else None
    if rec is None:
        return render(request, "receipt.html", principal=gate, intake_id=intake.id, rec=None, status_code=409)
    verify_url = state.public_url.rstrip("/") + ecopy_path(rec.ecopy_id, "/v/")
    return render(
        request,
        "receipt.html",
        principal=gate,
        intake_id=intake.id,
        rec=rec,
        holder=holder_name(rec.doc_type, rec.fields),
        owner_id=intake.owner_id,
        verify_url=verify_url,
        qr=qr_svg(verify_url),
    )


# ---- the signer's desk ------------------------------------------------------------------------
@router.get("/sign")
def sign_queue(request: Request) -> Response:
    gate = _gate(request, ("signer",))
    if not isinstance(gate, Principal):
        return gate
    state, lang = get_state(request), i18n.lang_of(request)
    waiting = state.registry.list_intakes(status=IntakeStatus.SUBMITTED, office=gate.office, limit=500)
    submitters = actor_names(state.registry, [i.submitted_by for i in waiting])
    waiting.sort(key=lambda i: i.submitted_at or i.updated_at)  # first come, first signed
    issued = state.registry.list_intakes(status=IntakeStatus.ISSUED, office=gate.office, limit=20)
    return render(
        request,
        "sign.html",
        principal=gate,
        queue=[steps.intake_summary(i, lang, submitters) for i in waiting],
        issued=[steps.intake_summary(i, lang) | {"finished_at": i.finished_at or i.updated_at} for i in issued],
        page_data={"page": "sign"},
    )


@router.get("/sign/intakes/{intake_id}")
def sign_intake(request: Request, intake_id: str) -> Response:
    gate = _gate(request, ("signer",))
    if not isinstance(gate, Principal):
        return gate
    return _intake_view(request, gate, intake_id, mode="sign", roles=("signer",))


# ---- a copy's record (staff of the issuing office, agencies, admins) ---------------------------
@router.get("/ecopies/{ecopy_id}")
def ecopy_page(request: Request, ecopy_id: str) -> Response:
    gate = _gate(request, ("clerk", "signer", "verifier", "admin"))
    if not isinstance(gate, Principal):
        return gate
    state = get_state(request)
    canonical = normalize_ecopy_id(ecopy_id)
    rec = state.registry.get_ecopy(canonical) if canonical else None
    if rec is None:
        return error_page(request, EcopyNotFoundError(detail=ecopy_id))
    access = ecopy_access(gate, rec)
    if not access.full:
        return _forbidden(request, gate)
    try:
        result = lookup_id(
            state, request, gate, rec.ecopy_id, channel="record", purpose=None, lang=i18n.lang_of(request)
        )
    except EcopyError as e:
        return error_page(request, e)
    lookups = state.registry.list_lookups(rec.ecopy_id) if access.lookups else None
    names = actor_names(state.registry, [x.actor for x in lookups or [] if x.actor != "public"])
    return render(
        request,
        "ecopy.html",
        principal=gate,
        rec=rec,
        result=result,
        holder=holder_name(rec.doc_type, rec.fields),
        can_revoke=access.revoke and rec.status == "issued",
        lookups=lookups,
        actor_name=names,
        page_data={"page": "ecopy", "ecopy_id": rec.ecopy_id},
    )


# ---- the public check -------------------------------------------------------------------------
def _verify_page(
    request: Request,
    principal: Principal | None,
    *,
    result: Mapping[str, Any] | None = None,
    queried: str = "",
    purpose: str = "",
    error: str = "",
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    # /v/{id}: the QR's URL, whose fragment may carry the signed payload checked by static/qrcheck.js
    qr = queried and request.url.path.startswith("/v/")
    return render(
        request,
        "verify.html",
        principal=principal,
        result=result,
        queried=queried,
        purpose=purpose,
        page_error=error,
        status_code=status_code,
        headers=headers,
        qr_panel=bool(qr),
        qr_server=None,
        page_data={"page": "verify"} | ({"qr": _qr_page_data(request, "fragment", queried, result)} if qr else {}),
    )


def _verify_failed(request: Request, principal: Principal | None, err: EcopyError, **kw: Any) -> HTMLResponse:
    headers = {"Retry-After": str(err.retry_after)} if isinstance(err, RateLimitedError) else None
    message = i18n.error_message(i18n.lang_of(request), err.code, err.message)
    return _verify_page(request, principal, error=message, status_code=err.http_status, headers=headers, **kw)


@router.get("/v")
def verify_form(request: Request, id: str | None = None, purpose: str | None = None) -> Response:
    principal = page_principal(request)
    typed = (id or "").strip()
    if typed:
        query = {"src": "id"} | ({"purpose": purpose.strip()} if purpose and purpose.strip() else {})
        target = normalize_ecopy_id(typed) or typed
        return RedirectResponse(f"{ecopy_path(target, '/v/')}?{urlencode(query)}", status_code=303)
    return _verify_page(request, principal, purpose=(purpose or "").strip())


# ---- the offline check of the QR's signed payload (pipeline.certify.qr_token, static/qrcheck.js) -------------------
QR_PAGE_TEXT = (
    "qr.heading",
    "qr.claims",
    "qr.claims_unconfirmed",
    "qr.ecopy_id",
    "qr.doc_type",
    "qr.issued_on",
    "qr.office",
    "qr.fields_hash",
    "qr.key",
    "qr.checking",
    "qr.revocation_note",
    "qr.record_match",
    "qr.record_differs",
    "qr.insecure",
    "qr.unsupported",
    "qr.need_text",
)


def trusted_qr_keys(request: Request) -> dict[str, TrustedKey]:
    """The office keys a QR payload may be signed with: every certificate our signer workers used."""
    return trusted_keys_from_certs((c.office, c.cert_pem) for c in get_state(request).registry.signer_certificates())


def _vn_day(moment: dt.datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%Y%m%d")


def _qr_record(request: Request, ecopy_id: str, result: Mapping[str, Any] | None) -> dict[str, str] | None:
    """What the registry says of the copy, in the payload's terms, for the page to compare with the QR."""
    if not result or not result.get("record"):
        return None
    rec = get_state(request).registry.get_ecopy(ecopy_id)
    if rec is None:
        return None
    return {"i": rec.ecopy_id, "t": rec.doc_type, "o": rec.office, "h": fields_digest(key_field_values(rec.fields))}


def _qr_page_data(
    request: Request, mode: str, queried: str = "", result: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON the page script checks a QR payload with: office keys, words, and (on /v/{id}) the
    ID of the URL and the registry's facts. No key, no check: a registry error leaves the list empty."""
    lang = i18n.lang_of(request)
    try:
        keys = trusted_qr_keys(request)
    except (StorageError, EcopyError):
        log.warning("QR check: the office keys could not be read from the registry", exc_info=True)
        keys = {}
    expected = (normalize_ecopy_id(queried) or queried) if queried else None
    record = None
    if expected and mode == "fragment":
        try:
            record = _qr_record(request, expected, result)
        except (StorageError, EcopyError):
            record = None
    return {
        "mode": mode,
        "expected_id": expected,
        "record": record,
        "keys": [
            {
                "kid": k.kid,
                "office": k.office,
                "x": k.jwk["x"],
                "y": k.jwk["y"],
                "nbf": _vn_day(k.not_before),
                "naf": _vn_day(k.not_after),
            }
            for k in keys.values()
        ],
        "t": {key: i18n.t(lang, key) for key in QR_PAGE_TEXT},
        "labels": {status: i18n.qr_status_label(lang, status) for status in set(STATUS_OF_CODE.values())},
        "messages": {code: i18n.qr_message(lang, code) for code in STATUS_OF_CODE},
        "statuses": dict(STATUS_OF_CODE),
    }


@router.get("/.well-known/ecopy-keys.json")
def ecopy_keys(request: Request) -> JSONResponse:
    """The public trust list: an agency saves it once and checks paper QR codes offline with it
    (``ecopy verify --qr PHOTO --trust-list ecopy-keys.json``)."""
    body = trust_list(trusted_qr_keys(request), generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0))
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})


def _qr_offline_page(request: Request, *, text: str = "", server: Mapping[str, Any] | None = None) -> HTMLResponse:
    return render(
        request,
        "verify_qr.html",
        principal=page_principal(request),
        qr_text=text,
        qr_panel=True,
        qr_server=server,
        page_data={"page": "qr", "qr": _qr_page_data(request, "paste")},
    )


@router.get("/v/qr")
def qr_offline_form(request: Request) -> HTMLResponse:
    """Paste a QR's text; the page checks it in the browser, with the network off once loaded."""
    return _qr_offline_page(request)


@router.post("/v/qr")
async def qr_offline_server_check(request: Request) -> Response:
    """The same check on the server, for a browser without WebCrypto (an http:// address other than
    localhost). A program asking for JSON gets :meth:`pipeline.verify.qr_check.QrCheck.to_dict`."""
    form = await request.form()
    text = _form_text(form, "qr").strip()[:4000]
    lang = i18n.lang_of(request)
    check = check_qr_text(text, await run_in_threadpool(trusted_qr_keys, request)) if text else None
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        if check is None:
            return JSONResponse({"code": "qr.empty", "message": i18n.t(lang, "qr.need_text")}, status_code=422)
        return JSONResponse(check.to_dict())
    if check is None:
        page = _qr_offline_page(request)
        page.status_code = 422
        return page
    vars_ = {
        "office": check.key.office if check.key else "",
        "claimed": check.claims.office if check.claims else "",
        "date": check.claims.issued_on.strftime("%d/%m/%Y") if check.claims else "",
        "url_id": check.url_ecopy_id or "",
        "ecopy_id": check.claims.ecopy_id if check.claims else "",
    }
    server = {
        "status": check.status,
        "code": check.code,
        "label": i18n.qr_status_label(lang, check.status),
        "message": i18n.qr_message(lang, check.code).format(**vars_),
        "claims": check.claims,
        "kid": check.key.kid if check.key and check.bottom_line else "",
    }
    return _qr_offline_page(request, text=text, server=server)


@router.get("/v/{ecopy_id}")
def verify_id_page(request: Request, ecopy_id: str, src: str | None = None, purpose: str | None = None) -> Response:
    state, principal = get_state(request), page_principal(request)
    channel = "id" if src == "id" else "qr"
    try:
        result = lookup_id(
            state, request, principal, ecopy_id, channel=channel, purpose=purpose, lang=i18n.lang_of(request)
        )
    except EcopyError as e:
        return _verify_failed(request, principal, e, queried=ecopy_id)
    return _verify_page(request, principal, result=result, queried=ecopy_id, purpose=purpose or "")


@router.post("/v")
async def verify_upload(request: Request) -> Response:
    state = get_state(request)
    form = await request.form()
    purpose, typed = _form_text(form, "purpose").strip(), _form_text(form, "id").strip()
    # The session cookie is SameSite=Lax: another site's form posting here arrives without it (public answer).
    principal = page_principal(request)
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data:
        if typed:
            query = {"src": "id"} | ({"purpose": purpose} if purpose else {})
            target = normalize_ecopy_id(typed) or typed
            return RedirectResponse(f"{ecopy_path(target, '/v/')}?{urlencode(query)}", status_code=303)
        message = i18n.t(i18n.lang_of(request), "verify.need_file")
        return _verify_page(request, principal, purpose=purpose, error=message, status_code=422)
    try:
        lang = i18n.lang_of(request)
        result = await run_in_threadpool(
            lookup_file, state, request, principal, data, channel="file", purpose=purpose or None, lang=lang
        )
    except EcopyError as e:
        return _verify_failed(request, principal, e, purpose=purpose)
    return _verify_page(request, principal, result=result, purpose=purpose)


def mount_static(app: FastAPI) -> None:
    """Serve ``api/static`` at ``/static`` (the stylesheet and the page script)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
