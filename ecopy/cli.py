"""The ``ecopy`` command. Errors are translated here once: a clerk's message and an exit code."""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ecopy.settings import Settings, load_settings
from pipeline.errors import EcopyError, InputError
from pipeline.models import REVIEW_THRESHOLD, SourceFile
from pipeline.read.doctypes import registry as doctypes
from storage.errors import StorageError

log = logging.getLogger("ecopy")

EXIT_OK, EXIT_ERROR, EXIT_INPUT = 0, 1, 2
EXIT_USAGE = 64  # bad arguments (sysexits EX_USAGE)
VERDICT_EXIT = {"valid": 0, "revoked": 3, "altered": 4, "unknown": 5}


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # fontTools logs ~25 INFO lines each time pyHanko subsets the stamp font, i.e. per signed copy
    for noisy in ("alembic", "pikepdf", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ---- commands ---------------------------------------------------------------------------------
def cmd_init(s: Settings, args: argparse.Namespace) -> int:
    from ecopy import wiring

    wiring.ensure_dev_pki(s)
    wiring.build_registry(s)
    store = wiring.build_store(s)
    print(f"ecopy sẵn sàng: sổ đăng ký {s.resolved_database_url}, kho lưu {store.describe()}")
    if wiring.uses_dev_pki(s):
        print(f"Chứng thư số THỬ NGHIỆM (không có giá trị pháp lý) ở {s.pki_dir}")
    return EXIT_OK


def cmd_digitize(s: Settings, args: argparse.Namespace) -> int:
    from ecopy import wiring
    from pipeline.read.reader import read_document
    from workflow.doctitle import check_type, title_vi
    from workflow.errors import TypeRequiredError
    from workflow.issuing import IssueRequest, issue_ecopy

    doc_type, doc_title = check_type(args.type, args.title)  # "other" without --title: refused before reading
    if args.title and doc_title is None:
        print(f"Bỏ qua --title: loại {args.type} có tên riêng trong danh mục.", file=sys.stderr)
    files = []
    for p in args.files:
        path = Path(p)
        if not path.is_file():
            raise InputError(f"Không tìm thấy tệp {p}. Kiểm tra lại đường dẫn.")
        files.append(SourceFile(name=path.name, data=path.read_bytes()))
    svc = wiring.build_services(s, with_key=True)
    result = read_document(files, svc.read_options, doc_type=doc_type)
    if title_vi(result.classification.doc_type, doc_title) is None:  # not recognised: nothing is issued
        raise TypeRequiredError(
            "Hệ thống không nhận ra loại giấy tờ này nên không cấp bản sao. Hãy chạy lại với loại giấy tờ: "
            f"--type LOẠI (một trong: {', '.join(doctypes.doc_type_names())}), hoặc với giấy tờ ngoài danh mục: "
            '--type other --title "Tên giấy tờ như in trên bản gốc".',
            detail=f"classified {result.classification.doc_type!r} "
            f"(confidence {result.classification.confidence:.2f}); nothing stored",
        )
    fields = result.fields.to_dict()
    record = issue_ecopy(
        IssueRequest(
            pages=result.pages,
            ocr=result.ocr,
            doc_type=result.classification.doc_type,
            fields=fields,
            doc_title=doc_title,
        ),
        svc,
    )
    location = wiring.object_location(svc.store, record.object_key)
    if args.json:
        print(
            json.dumps(
                {
                    "ecopy_id": record.ecopy_id,
                    "pdf": location,
                    "sha256": record.sha256,
                    "doc_type": record.doc_type,
                    "doc_title": record.doc_title,
                    "doc_type_confidence": round(result.classification.confidence, 3),
                    "pages": record.page_count,
                    "verify_url": svc.issuer.verify_url(record.ecopy_id),
                    "fields": fields,
                    "needs_review": sorted(k for k, f in fields.items() if float(f["confidence"]) < REVIEW_THRESHOLD),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    print("Đã cấp bản sao điện tử.")
    print(f"  Mã bản sao : {record.ecopy_id}")
    print(f"  Tệp PDF    : {location}")
    print(f"  SHA-256    : {record.sha256}")
    print(f"  Kiểm tra   : {svc.issuer.verify_url(record.ecopy_id)}")
    print(
        f"  Loại       : {record.doc_title or doctypes.label_vi(record.doc_type)} ({record.doc_type}, "
        f"độ tin cậy {result.classification.confidence:.2f})"
    )
    print("  Thông tin đọc được (độ tin cậy; ! = cần kiểm tra lại):")
    width = max((len(k) for k in fields), default=0)
    for k, f in fields.items():
        flag = "!" if float(f["confidence"]) < REVIEW_THRESHOLD else " "
        print(f"   {flag} {k.ljust(width)}  {f['value']}  ({float(f['confidence']):.2f})")
    return EXIT_OK


QR_EXIT = {"valid": 0, "tampered": 4, "mismatch": 4, "foreign": 6, "malformed": 7, "unsigned": 8}


def _verify_qr(s: Settings, args: argparse.Namespace) -> int:
    """``ecopy verify --qr PHOTO``: the QR's signed payload against the offices' keys, with no
    network (the keys: ``--trust-list`` FILE, else the local registry's); no audit row, nothing sent."""
    from api.i18n import doc_type_label, qr_status_label
    from pipeline.certify.trust_list import trusted_keys_from_certs, trusted_keys_from_trust_list
    from pipeline.read.load import LoadLimits, load_document
    from pipeline.verify.qr_check import QrCheck, check_qr_text, read_qr_photo

    if args.trust_list:
        try:
            trusted = trusted_keys_from_trust_list(json.loads(Path(args.trust_list).read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            raise InputError(
                f"Không đọc được danh sách khóa tin cậy {args.trust_list}. Hãy tải lại tệp ecopy-keys.json "
                "từ trang của cơ quan cấp (/.well-known/ecopy-keys.json).",
                detail=f"{type(e).__name__}: {e}",
            ) from e
    else:
        from ecopy import wiring

        certs = wiring.build_registry(s).signer_certificates()
        trusted = trusted_keys_from_certs((c.office, c.cert_pem) for c in certs)
    path = Path(args.qr)
    if not path.is_file():
        raise InputError(f"Không tìm thấy ảnh {args.qr}. Kiểm tra lại đường dẫn.")
    texts: list[str] = []
    for page in reversed(load_document([SourceFile(name=path.name, data=path.read_bytes())], LoadLimits())):
        texts += [t for t in read_qr_photo(page.image) if t not in texts]  # a PDF: the QR is on its last page
        if texts:
            break
    if not texts:
        raise InputError(
            "Không tìm thấy mã QR của bản sao điện tử trong ảnh. Hãy chụp lại: cả mã QR nằm trong khung, "
            "đủ sáng, không bị rung; hoặc nhập mã bản sao in dưới mã QR để kiểm tra trực tuyến.",
            detail=f"{path.name}: no e-copy QR code found",
        )
    checks = [check_qr_text(t, trusted) for t in texts]
    check: QrCheck = next((c for c in checks if c.bottom_line), checks[0])
    if args.json:
        print(json.dumps(check.to_dict() | {"qr_text": texts[0]}, ensure_ascii=False, indent=2))
        return QR_EXIT[check.status]
    print(f"{qr_status_label('vi', check.status)} ({check.code})")
    print(f"  {check.message}")
    if check.claims is not None:
        c = check.claims
        print("  Nội dung có chữ ký:" if check.bottom_line else "  Nội dung mã QR ghi (KHÔNG được xác nhận):")
        print(f"    Mã bản sao       : {c.ecopy_id}")
        print(f"    Loại giấy tờ     : {doc_type_label('vi', c.doc_type)} ({c.doc_type})")
        print(f"    Ngày cấp         : {c.issued_on:%d/%m/%Y}")
        print(f"    Cơ quan chứng thực: {c.office}")
        print(f"    Mã băm nội dung  : {c.fields_hash}")
    if check.key is not None and check.bottom_line:
        print(f"  Khóa ký: {check.key.kid} (chứng thư SHA-256 {check.key.cert_sha256})")
        print("  Lưu ý: kiểm tra ngoại tuyến không biết bản sao có bị thu hồi sau khi cấp hay không;")
        print("  khi có mạng, hãy kiểm tra thêm bằng mã bản sao.")
    elif check.status == "unsigned" and check.url_ecopy_id:
        print(f"  Kiểm tra trực tuyến: ecopy verify {check.url_ecopy_id}")
    return QR_EXIT[check.status]


def cmd_verify(s: Settings, args: argparse.Namespace) -> int:
    from ecopy import wiring
    from workflow.verification import Asker, audit_lookup, verdict_to_dict, verify_file, verify_id

    if args.qr:
        return _verify_qr(s, args)
    if not args.target:
        print("Lỗi: cần mã bản sao, đường dẫn tệp PDF, hoặc --qr ẢNH.", file=sys.stderr)
        return EXIT_USAGE
    registry = wiring.build_registry(s)
    target = Path(args.target)
    if target.is_file():
        data = target.read_bytes()
        verdict = verify_file(data, registry, wiring.trust_roots(s))
        digest: str | None = hashlib.sha256(data).hexdigest()
    else:
        verdict, digest = verify_id(args.target, registry), None
    # every lookup is in the audit log, this one too: by whom on this machine, never the content
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        who = "unknown"
    audit_lookup(
        registry,
        Asker(actor=f"cli:{who}"),
        channel="cli-file" if digest else "cli-id",
        ecopy_id=verdict.ecopy_id,
        file_sha256=digest,
        verdict=verdict.status,
    )
    rec = registry.get_ecopy(verdict.ecopy_id) if verdict.record is not None and verdict.ecopy_id else None
    title = (rec.doc_title or doctypes.label_vi(rec.doc_type)) if rec is not None else None  # as the statement says
    if args.json:
        answer = verdict_to_dict(verdict)
        if isinstance(answer.get("record"), dict):
            answer["record"]["doc_title"] = title  # type: ignore[index]
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        from api.i18n import verdict_explanation, verdict_label

        print(
            f"{verdict_label('vi', verdict.status)} ({verdict.status})"
            + (f" — {verdict.ecopy_id}" if verdict.ecopy_id else "")
        )
        print(f"  {verdict_explanation('vi', verdict.status)}")
        if title:
            print(f"  Giấy tờ: {title}")
        for r in verdict.reasons:
            print(f"  - {r}")
    return VERDICT_EXIT[verdict.status]


def cmd_serve(s: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ecopy import wiring

    app = wiring.build_app(s)
    uvicorn.run(
        app,
        host=args.host or s.host,
        port=args.port or s.port,
        log_level=s.log_level.lower(),
        forwarded_allow_ips=s.forwarded_allow_ips,  # whose X-Forwarded-For is believed (rate limits, audit)
    )
    return EXIT_OK


def cmd_worker(s: Settings, args: argparse.Namespace) -> int:
    from ecopy import wiring

    queues = [q.strip() for q in args.queues.split(",")] if args.queues else s.queue_names
    return wiring.run_worker(s, queues, burst=args.burst)


def cmd_batch(s: Settings, args: argparse.Namespace) -> int:
    from ecopy import batchrun

    report_dir = Path(args.report_dir)
    if args.source[0] == "status":
        if len(args.source) != 2:
            raise InputError("Cách dùng: ecopy batch status MÃ-LÔ")
        return batchrun.watch(s, args.source[1], report_dir=report_dir)
    if len(args.source) != 1:
        raise InputError("Mỗi lần chỉ chạy một lô: một thư mục, một tệp ZIP hoặc một s3://bucket/tiền-tố.")
    return batchrun.run(
        s,
        args.source[0],
        doc_type=args.type,
        doc_title=args.title,
        office=args.office,
        report_dir=report_dir,
        wait=not args.no_wait,
    )


def cmd_sign(s: Settings, args: argparse.Namespace) -> int:
    """Sign every approved copy waiting for this machine's keys, in one key session per office."""
    from ecopy import wiring
    from workflow.signing import SignOutcome, pending_intake_ids, sign_approved

    if not args.pending:
        raise InputError("Cách dùng: ecopy sign --pending (ký mọi hồ sơ đã duyệt đang chờ ký).")
    svc = wiring.build_services(s, with_key=True)
    offices = [args.office] if args.office else sorted(svc.offices)
    ids = pending_intake_ids(svc, offices=offices, limit=args.limit)
    if not ids:
        print("Không có hồ sơ nào đã duyệt đang chờ ký.")
        return EXIT_OK
    started = time.perf_counter()

    def progress(n: int, total: int, o: SignOutcome) -> None:
        what = o.ecopy_id if o.status == "issued" else f"{o.status}: {o.error_message or ''}"
        print(f"[{n}/{total}] {o.intake_id} → {what}", file=sys.stderr if args.json else sys.stdout, flush=True)

    outcomes = sign_approved(svc, ids, on_progress=progress)
    seconds = time.perf_counter() - started
    issued = sum(1 for o in outcomes if o.status == "issued")
    failed = [o for o in outcomes if o.status == "failed"]
    if args.json:
        print(json.dumps([o.__dict__ for o in outcomes], ensure_ascii=False, indent=2))
    print(
        f"Đã ký {issued}/{len(outcomes)} bản sao trong {seconds:.1f} giây ({issued / max(seconds, 1e-9):.1f} bản/giây)"
        + (f"; {len(failed)} lỗi — xem từng dòng ở trên." if failed else "."),
        file=sys.stderr if args.json else sys.stdout,
    )
    return EXIT_OK if not failed else EXIT_ERROR


def cmd_extend(s: Settings, args: argparse.Namespace) -> int:
    """Re-time-stamp issued copies whose time-stamp expires soon (run it from cron)."""
    import datetime as dt

    from ecopy import wiring
    from workflow.extending import ExtendOutcome, extend_expiring

    svc = wiring.build_services(s, with_key=True)
    days = args.days if args.days is not None else s.extend_days

    def progress(n: int, total: int, o: ExtendOutcome) -> None:
        what = (
            f"phiên bản {o.version}, dấu thời gian còn hiệu lực đến {o.timestamp_expiry:%d/%m/%Y}"
            if (o.status == "extended" and o.timestamp_expiry)
            else f"{o.status}: {o.error_message or ''}"
        )
        print(f"[{n}/{total}] {o.ecopy_id} → {what}", flush=True)

    outcomes = extend_expiring(svc, within=dt.timedelta(days=days), limit=args.limit, on_progress=progress)
    failed = [o for o in outcomes if o.status == "failed"]
    print(
        f"Đã gia hạn dấu thời gian cho {len(outcomes) - len(failed)}/{len(outcomes)} bản sao "
        f"(dấu thời gian hết hạn trong {days} ngày tới)"
        + (f"; {len(failed)} lỗi, sẽ thử lại lần chạy sau." if failed else ".")
    )
    return EXIT_OK if not failed else EXIT_ERROR


def cmd_health(s: Settings, args: argparse.Namespace) -> int:
    """For container health checks: registry, Redis and store reachable (and, with --worker, an
    RQ worker of this host registered with a fresh heartbeat)."""
    import socket

    from rq import Worker

    from ecopy import wiring
    from storage.registry import Registry
    from workers.queues import connect

    checks: dict[str, str] = {}

    def probe(name: str, fn: Callable[[], object]) -> None:
        try:
            result = fn()
            checks[name] = "ok" if result is not False else "missing"
        except Exception as e:  # a health check reports, it does not raise
            checks[name] = f"error: {type(e).__name__}: {e}"

    redis = connect(s.redis_url)
    # Only read: a health check every 30 s must not run the migrations (build_registry does).
    probe("registry", lambda: Registry(s.resolved_database_url).count_ecopies())
    probe("redis", redis.ping)
    probe("store", lambda: wiring.build_store(s).exists("healthz/probe") or True)  # answering is enough
    if args.worker:
        host = socket.gethostname()
        probe("worker", lambda: any(w.hostname == host for w in Worker.all(connection=redis)))
    print(json.dumps(checks))
    return EXIT_OK if all(v == "ok" for v in checks.values()) else EXIT_ERROR


def cmd_up(s: Settings, args: argparse.Namespace) -> int:
    from ecopy import embedded

    return embedded.run(s)


def cmd_calibrate(s: Settings, args: argparse.Namespace) -> int:
    """Fit the field-confidence calibration table from corpora that ``ecopy eval`` read."""
    from ecopy.devtools import calibrate

    return calibrate.run(args.pairs, Path(args.out) if args.out else None, note=args.note or "")


def cmd_eval(s: Settings, args: argparse.Namespace) -> int:
    from ecopy import wiring
    from ecopy.devtools import evaluate

    return evaluate.run(
        Path(args.corpus),
        Path(args.results),
        wiring.read_options(s),
        jobs=args.jobs,
        quiet=args.quiet,
        score_only=args.score_only,
        report=Path(args.report) if args.report else None,
    )


def cmd_admin(s: Settings, args: argparse.Namespace) -> int:
    """Credentials are printed once, here; the registry keeps only their hashes."""
    from api.auth import new_api_key, new_user
    from ecopy import wiring

    registry = wiring.build_registry(s)
    office = (args.office or "").strip() if hasattr(args, "office") else ""
    if getattr(args, "role", None) == "verifier" and not office:
        print('Lỗi: khóa của cơ quan tiếp nhận (verifier) cần --office "tên cơ quan".', file=sys.stderr)
        return EXIT_USAGE
    office = office or s.office
    try:
        if args.admin_command == "create-user":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else ""
            user, password = new_user(
                registry,
                username=args.username,
                role=args.role,
                office=office,
                display_name=args.name or "",
                password=password,
            )
            print(f"Đã tạo người dùng {user.username} — vai trò {user.role}, cơ quan: {user.office}")
            if not args.password_stdin:
                print("Mật khẩu (chỉ hiện một lần, hãy giao tận tay và yêu cầu giữ kín):")
                print(password)
        elif args.admin_command == "create-key":
            key, secret = new_api_key(registry, role=args.role, office=office, label=args.label or "")
            print(f"Đã tạo khóa API {key.id} — vai trò {key.role}, cơ quan: {key.office}", file=sys.stderr)
            print(
                "Khóa (chỉ hiện một lần; gửi trong tiêu đề 'Authorization: Bearer …' hoặc dùng để đăng nhập):",
                file=sys.stderr,
            )
            print(secret)
        elif args.admin_command == "revoke-key":
            done = registry.revoke_api_key(args.key_id)
            print(f"Đã thu hồi khóa {args.key_id}." if done else f"Không có khóa đang dùng với mã {args.key_id}.")
            return EXIT_OK if done else EXIT_USAGE
    except ValueError as e:
        print(f"Lỗi: {e}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def cmd_bench(s: Settings, args: argparse.Namespace) -> int:
    from ecopy.devtools import bench

    return bench.run(s, Path(args.corpus), limit=args.limit)


# ---- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecopy", description="Bản sao chứng thực điện tử — certified e-copies")
    p.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default ECOPY_LOG_LEVEL)")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("init", help="create the data folder, registry and (first run) the development PKI")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("digitize", help="read, certify, sign and register one document (files = its pages)")
    sp.add_argument("files", nargs="+", help="scans of ONE document, in page order (JPEG, PNG, TIFF, PDF)")
    sp.add_argument(
        "--type",
        choices=doctypes.doc_type_names(),
        help="document type (default: recognised automatically; an unrecognised document is refused)",
    )
    sp.add_argument("--title", help=f"with --type {doctypes.OTHER}: the document's title as printed on it (required)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_digitize)

    sp = sub.add_parser(
        "verify",
        help="verify an e-copy by ID or by its PDF file, or offline by a photo of its QR (exit 0 only if valid)",
        description="With --qr, the QR's signed payload is checked against the offices' public keys with no "
        "network: exit 0 valid, 4 tampered or ID mismatch, 6 not signed by a trusted office key, 7 unreadable "
        "payload, 8 an older QR without signature (check it online), 2 no QR found.",
    )
    sp.add_argument("target", nargs="?", help="e-copy ID (XXXX-XXXX-XXXX-XXXX-X) or path to the PDF")
    sp.add_argument("--qr", metavar="IMAGE", help="photo or scan of the paper's QR code (JPEG, PNG, TIFF, PDF)")
    sp.add_argument(
        "--trust-list",
        metavar="FILE",
        help="with --qr: the offices' keys (ecopy-keys.json from /.well-known/); default: the local registry",
    )
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_verify)

    sp = sub.add_parser("serve", help="run the web service / API")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("worker", help="run an RQ worker")
    sp.add_argument("--queues", help="comma-separated, in priority order (default ECOPY_QUEUES)")
    sp.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    sp.set_defaults(func=cmd_worker)

    sp = sub.add_parser(
        "batch",
        help="digitize an archive: ecopy batch PATH|ZIP|s3://bucket/prefix, or ecopy batch status BATCH-ID",
        description="One file = one document (multi-page PDF/TIFF included); one folder = one document's "
        "pages. Running the same batch again resumes it: only what is not done is processed.",
    )
    sp.add_argument("source", nargs="+", metavar="SOURCE", help="folder, ZIP, s3://bucket/prefix — or: status ID")
    sp.add_argument(
        "--type",
        choices=doctypes.doc_type_names(),
        help="every document is of this type (default: recognised; unrecognised ones go to review)",
    )
    sp.add_argument("--title", help=f"with --type {doctypes.OTHER}: the documents' title (required)")
    sp.add_argument("--office", help="archive's office (default ECOPY_OFFICE)")
    sp.add_argument("--report-dir", default="batch-reports", help="where the CSV and JSON report go")
    sp.add_argument("--no-wait", action="store_true", help="submit and return; watch later with 'batch status'")
    sp.set_defaults(func=cmd_batch)

    sp = sub.add_parser(
        "sign",
        help="sign approved copies waiting for a signature, in one key session (ecopy sign --pending)",
        description="Signs every intake a signer approved that is not issued yet, with this machine's keys "
        "(one token login per office). Each copy succeeds or fails on its own.",
    )
    sp.add_argument("--pending", action="store_true", help="sign everything approved and waiting")
    sp.add_argument("--office", help="only this office (default: every office this machine holds a key for)")
    sp.add_argument("--limit", type=int, default=10_000)
    sp.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    sp.set_defaults(func=cmd_sign)

    sp = sub.add_parser(
        "extend",
        help="re-time-stamp issued copies before their time-stamps expire (new object version; run from cron)",
    )
    sp.add_argument(
        "--days", type=int, help="copies whose time-stamp expires within this many days (ECOPY_EXTEND_DAYS)"
    )
    sp.add_argument("--limit", type=int, default=1000)
    sp.set_defaults(func=cmd_extend)

    sp = sub.add_parser("health", help="exit 0 if registry, Redis and store answer (container health checks)")
    sp.add_argument("--worker", action="store_true", help="also require a live RQ worker on this host")
    sp.set_defaults(func=cmd_health)

    sp = sub.add_parser("up", help="embedded default: local Redis + one worker + web service")
    sp.set_defaults(func=cmd_up)

    sp = sub.add_parser(
        "eval",
        help="read every document folder of a corpus (no signing), write OUT/<doc_id>.json, print the score",
        description="Each sub-folder of CORPUS is one document (its scan files, in name order). The results "
        "are written before any truth.json is opened; where truth.json files exist the score is printed.",
    )
    sp.add_argument("corpus", metavar="CORPUS_DIR")
    sp.add_argument("--results", required=True, metavar="OUT_DIR", help="where <doc_id>.json are written")
    sp.add_argument("--jobs", type=int, default=None, help="processes (default: one per CPU)")
    sp.add_argument("--quiet", action="store_true", help="no per-document progress lines")
    sp.add_argument(
        "--score-only",
        action="store_true",
        help="score the results already in OUT_DIR, read nothing (confidences recomputed from their scores "
        "with the current calibration table)",
    )
    sp.add_argument("--report", metavar="FILE", help="also write the report's figures as JSON")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser(
        "calibrate",
        help="fit the table that turns field scores into measured probabilities (pipeline/read/calibration.json)",
        description="Each CORPUS_DIR=RESULTS_DIR pair is a corpus with truth.json files and the results "
        "`ecopy eval` wrote for it. Fit on documents the reader was not developed on; check on others.",
    )
    sp.add_argument("pairs", nargs="+", metavar="CORPUS_DIR=RESULTS_DIR")
    sp.add_argument("--out", metavar="FILE", help="default: pipeline/read/calibration.json")
    sp.add_argument("--note", help="what the table was fitted on (kept in the file)")
    sp.set_defaults(func=cmd_calibrate)

    sp = sub.add_parser("admin", help="users and API keys: create-user, create-key, revoke-key")
    admin = sp.add_subparsers(dest="admin_command", required=True)
    roles = ("clerk", "signer", "verifier", "admin")
    ap = admin.add_parser("create-user", help="a person who signs in on the web pages; prints the password once")
    ap.add_argument("username")
    ap.add_argument("--role", required=True, choices=roles)
    ap.add_argument("--office", help="office (clerk, signer, admin; default ECOPY_OFFICE) or agency (verifier)")
    ap.add_argument("--name", help="full name as shown on the pages")
    ap.add_argument("--password-stdin", action="store_true", help="read the password from stdin instead")
    ap.set_defaults(func=cmd_admin)
    ap = admin.add_parser("create-key", help="an API key for a program (or to sign in); prints it once")
    ap.add_argument("--role", required=True, choices=roles)
    ap.add_argument("--office", help="office (clerk, signer, admin; default ECOPY_OFFICE) or agency (verifier)")
    ap.add_argument("--label", help="what the key is for, e.g. 'Quầy 2' or 'Trường ĐH Bách khoa - phòng đào tạo'")
    ap.set_defaults(func=cmd_admin)
    ap = admin.add_parser("revoke-key", help="stop an API key from working")
    ap.add_argument("key_id", help="the part after ek_ and before the second _")
    ap.set_defaults(func=cmd_admin)

    sp = sub.add_parser(
        "bench", help="pages/min: pipeline vs bare tesseract; batch on 1 and 2 workers (scaling, peak RSS)"
    )
    sp.add_argument("corpus", nargs="?", default="../shared/corpus/dev")
    sp.add_argument("--limit", type=int, default=None, help="only the first N documents")
    sp.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    _configure_logging(args.log_level or settings.log_level)
    try:
        code: int = args.func(settings, args)
        return code
    except (EcopyError, StorageError) as e:
        print(f"Lỗi [{e.code}]: {e.message}", file=sys.stderr)
        if e.detail:
            print(f"  chi tiết: {e.detail}", file=sys.stderr)
        return EXIT_INPUT if isinstance(e, InputError) else EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
