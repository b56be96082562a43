"""The FastAPI application. Built by ``create_app(state)``; no settings are read here.

Routes: ``api.routes`` (JSON API under /api/v1), ``api.web`` (pages for clerks, signers and
verifiers). Both answer errors the same way: JSON ``{"code", "message"}`` to API callers, a page
with the message (or the sign-in page) to people. The message is Vietnamese, or English by code
(``api.i18n.error_message``) when the caller asks for English: ``?lang=en``, the language cookie,
or (API answers only) ``Accept-Language: en``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import i18n, web
from api.routes import register_api
from api.state import AppState, AuthRequiredError, RateLimitedError, StateDep
from pipeline.errors import EcopyError, InputError, TooLargeError
from storage.errors import StorageError

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RequestInvalidError(InputError):
    code = "request.invalid"
    default_message = "Yêu cầu thiếu hoặc sai thông tin. Kiểm tra lại các trường đã gửi."


class HttpError(EcopyError):
    code = "http.error"


HTTP_MESSAGES = {
    404: "Không có trang hoặc địa chỉ này. Kiểm tra lại đường dẫn.",
    405: "Thao tác này không dùng được ở địa chỉ này.",
}


def _wants_page(request: Request) -> bool:
    """A person's browser on a page route (not the API): answer with a page, not JSON."""
    path = request.url.path
    return not path.startswith("/api/") and path != "/healthz" and "text/html" in request.headers.get("accept", "")


def _error_response(
    request: Request, err: EcopyError | StorageError, headers: Mapping[str, str] | None = None
) -> Response:
    headers = dict(headers or {})
    if isinstance(err, RateLimitedError):
        headers["Retry-After"] = str(err.retry_after)
    if _wants_page(request):
        if isinstance(err, AuthRequiredError):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        page = web.error_page(request, err)
        page.headers.update(headers)
        return page
    return JSONResponse(_error_body(err, i18n.answer_lang(request)), status_code=err.http_status, headers=headers)


def _error_body(err: EcopyError | StorageError, lang: str) -> dict[str, object]:
    """``err.to_dict()`` with the message in the caller's language (Vietnamese as raised, English by code)."""
    body = err.to_dict()
    body["message"] = i18n.error_message(lang, err.code, err.message)
    return body


class CounterReconciler(threading.Thread):
    """Every ``interval`` s, queue again the counter intakes whose job Redis lost (a restart
    without the last second of AOF, a flushed queue): a clerk's scan never waits forever."""

    def __init__(self, state: AppState, interval: float) -> None:
        super().__init__(name="ecopy-counter-reconciler", daemon=True)
        self.state, self.interval, self.stopping = state, interval, threading.Event()

    def run(self) -> None:
        from workers.queues import RqJobs
        from workflow.batch import reconcile_counter

        while not self.stopping.wait(self.interval):
            try:
                reconcile_counter(
                    self.state.registry, RqJobs(self.state.redis), idle_seconds=max(60.0, 2 * self.interval)
                )
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
            lang = i18n.answer_lang(Request(scope))
            await _send_json(send, TooLargeError(detail=f"body {int(length)} bytes > {self.limit}"), lang)
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
            lang = i18n.answer_lang(Request(scope))
            await _send_json(send, TooLargeError(detail=f"body over {self.limit} bytes"), lang)


async def _send_json(send: Send, err: EcopyError, lang: str) -> None:
    body = json.dumps(_error_body(err, lang), ensure_ascii=False).encode()
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
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        err = RequestInvalidError(detail=json.dumps(jsonable_encoder(exc.errors()), ensure_ascii=False)[:2000])
        return _error_response(request, err)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        err = HttpError(HTTP_MESSAGES.get(exc.status_code), detail=str(exc.detail))
        err.http_status, err.code = exc.status_code, f"http.{exc.status_code}"
        return _error_response(request, err, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = EcopyError()
        err.code = "internal"
        return _error_response(request, err)

    async def coded_error(request: Request, exc: Exception) -> Response:
        """EcopyError and StorageError share one shape: code, message, retryable, http_status."""
        assert isinstance(exc, EcopyError | StorageError)
        return _error_response(request, exc)

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

    register_api(app)
    app.include_router(web.router)
    web.mount_static(app)

    app.add_middleware(BodyLimit, limit=state.max_upload_bytes)
    return app
