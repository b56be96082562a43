"""The FastAPI application. Built by ``create_app(state)``; no settings are read here."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from redis import Redis
from redis.exceptions import RedisError

from api import pages
from api.verification import verdict_to_dict, verify_file, verify_id
from pipeline.errors import EcopyError, InputError, TooLargeError, UnknownDocumentTypeError
from pipeline.load import LoadLimits, check_file
from pipeline.models import DOC_TYPES, SourceFile
from storage.errors import StorageError
from storage.objectstore import ObjectStore
from storage.registry import Registry
from workers.intakes import store_originals
from workers.queues import enqueue_issue_intake, enqueue_process_intake

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class QueueUnavailableError(EcopyError):
    code = "queue.unavailable"
    retryable = True
    http_status = 503
    default_message = "Hàng đợi xử lý tạm thời không hoạt động. Hồ sơ chưa được nhận; vui lòng gửi lại sau ít phút."


class IntakeNotFoundError(EcopyError):
    code = "intake.not_found"
    http_status = 404
    default_message = "Không tìm thấy hồ sơ này. Kiểm tra lại mã hồ sơ."


class IntakeNotReadyError(EcopyError):
    code = "intake.not_ready"
    http_status = 409
    default_message = "Hồ sơ chưa sẵn sàng để ký (đang đọc, bị lỗi hoặc đã cấp bản sao)."


@dataclass
class AppState:
    registry: Registry
    store: ObjectStore
    redis: Redis
    trust_roots: Sequence[bytes]
    max_upload_bytes: int = 50 * 1024 * 1024
    office: str = ""
    reconcile_seconds: float | None = None  # re-queue counter intakes whose job was lost; None: off


class CounterReconciler(threading.Thread):
    """Every ``interval`` s, queue again the counter intakes whose job Redis lost (a restart
    without the last second of AOF, a flushed queue): a clerk's scan never waits forever."""

    def __init__(self, state: AppState, interval: float) -> None:
        super().__init__(name="ecopy-counter-reconciler", daemon=True)
        self.state, self.interval, self.stopping = state, interval, threading.Event()

    def run(self) -> None:
        from workers.batch import reconcile_counter

        while not self.stopping.wait(self.interval):
            try:
                reconcile_counter(self.state.registry, self.state.redis, idle_seconds=max(60.0, 2 * self.interval))
            except Exception as e:  # Redis or the registry away: try again next round
                log.warning("counter reconciliation skipped: %s: %s", type(e).__name__, e)


class BodyLimit:
    """Answer 413 before reading a body that is, or turns out to be, over the limit."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _send_json(send, TooLargeError(detail=f"body {int(length)} bytes > {self.limit}"))
            return
        seen, too_large, started = 0, False, False

        async def limited() -> Message:
            nonlocal seen, too_large
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:  # a chunked body: stop reading it, the client gets 413
                    too_large = True
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if too_large:
                return  # whatever the app answers to a body cut short is replaced by the 413
            started = True
            await send(msg)

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await _send_json(send, TooLargeError(detail=f"body over {self.limit} bytes"))


async def _send_json(send: Send, err: EcopyError) -> None:
    body = json.dumps(err.to_dict(), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": err.http_status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _store_and_enqueue(st: AppState, intake_id: str, uploads: list[SourceFile], doc_type: str | None) -> None:
    keys = store_originals(st.store, intake_id, uploads)
    names = [u.name for u in uploads]
    st.registry.create_intake(
        intake_id, office=st.office, file_keys=keys, file_names=names, doc_type_hint=doc_type, status="queued"
    )
    try:
        enqueue_process_intake(st.redis, intake_id)
    except RedisError as e:
        err = QueueUnavailableError(detail=f"{type(e).__name__}: {e}")
        st.registry.update_intake(intake_id, status="failed", error_code=err.code, error_message=err.message)
        raise err from e


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ecopy
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def create_app(state: AppState) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reconciler = CounterReconciler(state, state.reconcile_seconds) if state.reconcile_seconds else None
        if reconciler is not None:
            reconciler.start()
        try:
            yield
        finally:
            if reconciler is not None:
                reconciler.stopping.set()

    app = FastAPI(
        title="ecopy",
        version="0.1.0",
        description="Cấp và kiểm tra bản sao chứng thực điện tử / certified e-copies",
        lifespan=lifespan,
    )

    app.state.ecopy = state

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = InputError("Yêu cầu thiếu hoặc sai thông tin. Kiểm tra lại các trường đã gửi.")
        body = err.to_dict() | {"code": "request.invalid", "detail": jsonable_encoder(exc.errors())}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = EcopyError()
        return JSONResponse(err.to_dict() | {"code": "internal"}, status_code=500)

    async def coded_error(request: Request, exc: Exception) -> JSONResponse:
        """EcopyError and StorageError share one shape: code, message, retryable, http_status."""
        assert isinstance(exc, EcopyError | StorageError)
        return JSONResponse(exc.to_dict(), status_code=exc.http_status)

    app.add_exception_handler(EcopyError, coded_error)
    app.add_exception_handler(StorageError, coded_error)

    @app.get("/healthz")
    def healthz(st: StateDep) -> JSONResponse:
        checks: dict[str, str] = {}
        for name, probe in (
            ("registry", st.registry.count_ecopies),
            ("redis", st.redis.ping),
            ("store", lambda: st.store.exists("healthz/probe")),
        ):
            try:
                probe()
                checks[name] = "ok"
            except Exception as e:  # a health check reports, it does not raise
                checks[name] = f"error: {type(e).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "checks": checks}, status_code=200 if ok else 503)

    # ---- verification (public) ---------------------------------------------------------------
    @app.post("/api/v1/verify")
    async def api_verify(st: StateDep, request: Request) -> JSONResponse:
        """Upload the PDF (multipart field ``file``) or send JSON ``{"ecopy_id": "..."}``."""
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            try:
                body = await request.json()
            except ValueError as e:
                raise InputError("Nội dung JSON không hợp lệ.", detail=str(e)) from e
            ecopy_id = body.get("ecopy_id") if isinstance(body, dict) else None
            if not isinstance(ecopy_id, str):
                raise InputError("Thiếu mã bản sao (ecopy_id).")
            verdict = await run_in_threadpool(verify_id, ecopy_id, st.registry)
            return JSONResponse(verdict_to_dict(verdict))
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InputError("Hãy gửi tệp PDF trong trường 'file' hoặc JSON {\"ecopy_id\": …}.")
        data = await upload.read()
        verdict = await run_in_threadpool(verify_file, data, st.registry, st.trust_roots)
        return JSONResponse(verdict_to_dict(verdict))

    @app.get("/v", response_class=HTMLResponse)
    def verify_form(id: str | None = None) -> Any:
        if id:
            return RedirectResponse(f"/v/{id.strip()}", status_code=303)
        return HTMLResponse(pages.layout("Kiểm tra bản sao", pages.lookup_forms()))

    @app.post("/v", response_class=HTMLResponse)
    async def verify_upload_page(st: StateDep, file: Annotated[UploadFile, File()]) -> HTMLResponse:
        data = await file.read()
        verdict = await run_in_threadpool(verify_file, data, st.registry, st.trust_roots)
        return HTMLResponse(pages.verdict_page(verdict))

    @app.get("/v/{ecopy_id}", response_class=HTMLResponse)
    def verify_page(st: StateDep, ecopy_id: str) -> HTMLResponse:
        return HTMLResponse(pages.verdict_page(verify_id(ecopy_id, st.registry), queried=ecopy_id))

    # ---- intake (counter) ---------------------------------------------------------------------
    @app.post("/api/v1/intakes", status_code=202)
    async def create_intake(
        st: StateDep, files: Annotated[list[UploadFile], File()], doc_type: Annotated[str | None, Form()] = None
    ) -> dict[str, str]:
        if doc_type is not None and doc_type not in DOC_TYPES:
            raise UnknownDocumentTypeError(detail=f"doc_type must be one of {', '.join(DOC_TYPES)}")
        limits = LoadLimits(max_bytes=st.max_upload_bytes)
        uploads = []
        for i, f in enumerate(files):
            upload = SourceFile(f.filename or f"file-{i + 1}", await f.read())
            check_file(upload, limits)  # refuse an empty or unsupported file now, before storing any
            uploads.append(upload)
        intake_id = uuid.uuid4().hex
        await run_in_threadpool(_store_and_enqueue, st, intake_id, uploads, doc_type)
        return {"id": intake_id, "status": "queued"}

    @app.get("/api/v1/intakes/{intake_id}")
    def get_intake(st: StateDep, intake_id: str) -> dict[str, Any]:
        intake = st.registry.get_intake(intake_id)
        if intake is None:
            raise IntakeNotFoundError(detail=intake_id)
        return {
            "id": intake.id,
            "status": intake.status,
            "doc_type": intake.doc_type,
            "fields": intake.fields,
            "text": intake.text,
            "ecopy_id": intake.ecopy_id,
            "pages": intake.page_count,
            "min_confidence": intake.min_confidence,
            "needs_review": intake.needs_review,
            "batch_id": intake.batch_id,
            "error": ({"code": intake.error_code, "message": intake.error_message} if intake.error_code else None),
            "created_at": intake.created_at.isoformat(),
            "updated_at": intake.updated_at.isoformat(),
        }

    @app.post("/api/v1/intakes/{intake_id}/issue", status_code=202)
    def issue_intake(st: StateDep, intake_id: str) -> dict[str, str]:
        intake = st.registry.get_intake(intake_id)
        if intake is None:
            raise IntakeNotFoundError(detail=intake_id)
        if intake.status not in ("ready", "review", "signing"):  # review: a batch document a person checked
            raise IntakeNotReadyError(detail=f"status {intake.status}")
        enqueue_issue_intake(st.redis, intake_id)
        return {"id": intake_id, "status": "signing"}

    app.add_middleware(BodyLimit, limit=state.max_upload_bytes)
    return app
