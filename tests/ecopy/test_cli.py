"""The `ecopy` command end to end on the embedded default: real Tesseract, real pyHanko, SQLite + files."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from pathlib import Path

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from ecopy.cli import VERDICT_EXIT, main
from tests.support.corpus import corpus_doc


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("ECOPY_DATA_DIR", str(d))
    monkeypatch.delenv("ECOPY_DATABASE_URL", raising=False)
    monkeypatch.setenv("ECOPY_STORE", "fs")
    return d


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One e-copy issued from a corpus ID card, shared by the verification tests of this module."""
    d = tmp_path_factory.mktemp("issued") / "data"
    mp = pytest.MonkeyPatch()
    mp.setenv("ECOPY_DATA_DIR", str(d))
    mp.setenv("ECOPY_STORE", "fs")
    mp.delenv("ECOPY_DATABASE_URL", raising=False)
    files, _ = corpus_doc("dev_0004")
    buf = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(buf):
        code = main(["digitize", *map(str, files), "--json"])
    assert code == 0
    out = json.loads(buf.getvalue())
    yield {"out": out, "data_dir": d, "mp": mp}
    mp.undo()


def test_digitize_issues_a_registered_signed_copy(issued: dict) -> None:
    out = issued["out"]
    pdf = Path(out["pdf"])
    # THEN the file is where the command says, and its hash is the registry's
    assert pdf.is_file()
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == out["sha256"]
    assert out["doc_type"] == "cccd_front"
    assert set(out) >= {"ecopy_id", "pdf", "sha256", "doc_type", "fields"}
    for f in out["fields"].values():
        assert set(f) >= {"value", "confidence"} and 0.0 <= f["confidence"] <= 1.0
    # AND the ID card number was read as 12 digits
    assert len(out["fields"]["id_number"]["value"]) == 12
    # AND poppler, independently of pyHanko, finds the signature intact over the whole file
    sig = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in sig and "Total document signed" in sig


@pytest.mark.slow
def test_multi_page_pdf_letter_becomes_one_copy(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files, truth = corpus_doc("dev_0012")  # a clean two-page letter, one PDF file
    code, out = run_json(capsys, "digitize", *map(str, files), "--json")
    assert code == 0 and out["doc_type"] == "generic_letter"
    n_scan_pages = len(truth["text"])
    assert out["pages"] == n_scan_pages
    # the e-copy has the scanned pages plus the certification page
    assert len(pikepdf.open(out["pdf"]).pages) == n_scan_pages + 1
    code, v = run_json(capsys, "verify", out["pdf"], "--json")
    assert v["verdict"] == "valid"


def test_verify_by_file_and_by_id_is_valid(issued: dict, capsys: pytest.CaptureFixture[str]) -> None:
    out = issued["out"]
    code, v = run_json(capsys, "verify", out["pdf"], "--json")
    assert (code, v["verdict"], v["ecopy_id"]) == (0, "valid", out["ecopy_id"])
    code, v = run_json(capsys, "verify", out["ecopy_id"].lower().replace("-", ""), "--json")
    assert (code, v["verdict"], v["ecopy_id"]) == (0, "valid", out["ecopy_id"])


def test_one_changed_byte_is_altered(issued: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(Path(issued["out"]["pdf"]).read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "flipped.pdf"
    bad.write_bytes(bytes(data))
    code, v = run_json(capsys, "verify", str(bad), "--json")
    assert v["verdict"] == "altered" and code == VERDICT_EXIT["altered"]
    assert v["reasons"] and "hash.mismatch" in v["codes"]


def test_incremental_update_is_altered(issued: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = IncrementalPdfFileWriter(io.BytesIO(Path(issued["out"]["pdf"]).read_bytes()))
    w.root["/Lang"] = generic.TextStringObject("en")
    w.update_root()
    out = io.BytesIO()
    w.write(out)
    bad = tmp_path / "updated.pdf"
    bad.write_bytes(out.getvalue())
    code, v = run_json(capsys, "verify", str(bad), "--json")
    assert v["verdict"] == "altered" and code == VERDICT_EXIT["altered"]


def test_unknown_id_and_foreign_pdf(issued: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.ecopy_id import new_ecopy_id

    code, v = run_json(capsys, "verify", new_ecopy_id(), "--json")
    assert (v["verdict"], code) == ("unknown", VERDICT_EXIT["unknown"])
    plain = tmp_path / "plain.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(plain)
    code, v = run_json(capsys, "verify", str(plain), "--json")
    assert (v["verdict"], code) == ("unknown", VERDICT_EXIT["unknown"])


def test_human_output_names_id_file_type_and_fields(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files, _ = corpus_doc("dev_0004")
    assert main(["digitize", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert "Mã bản sao" in out and "Tệp PDF" in out and "id_number" in out and "cccd_front" in out


# ---- bad input: a clear message, a non-zero exit, nothing stored --------------------------------
def _encrypted_pdf(path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(path, encryption=pikepdf.Encryption(owner="o", user="u"))


def _truncated_png(path: Path) -> None:
    files, _ = corpus_doc("dev_0004")
    data = files[0].read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("empty.png", lambda p: p.write_bytes(b""), "input.empty"),
        ("scan.png", _truncated_png, "input.corrupt"),
        (
            "letter.docx",
            lambda p: p.write_bytes(b"PK\x03\x04 this is a zip, not a scan" * 10),
            "input.unsupported_type",
        ),
        (
            "notes.jpg",
            lambda p: p.write_text("xin chào, đây không phải ảnh", encoding="utf-8"),
            "input.unsupported_type",
        ),
        ("locked.pdf", _encrypted_pdf, "input.encrypted"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, make, code: str
) -> None:
    path = tmp_path / name
    make(path)
    rc = main(["digitize", str(path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"[{code}]" in err and name in err
    assert not list(data_dir.rglob("ecopies/*"))
    from storage.registry import Registry

    assert Registry(f"sqlite:///{data_dir / 'registry.sqlite3'}").count_ecopies() == 0


def test_image_over_pixel_limit_is_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECOPY_MAX_PIXELS", "100000")
    files, _ = corpus_doc("dev_0004")
    assert main(["digitize", str(files[0])]) == 2
    assert "[input.too_large]" in capsys.readouterr().err


def test_a_blank_page_is_not_certified(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (2480, 3508), "white").save(blank, dpi=(300, 300))
    assert main(["digitize", str(blank)]) == 2
    assert "[input.no_text]" in capsys.readouterr().err
    assert not list(data_dir.rglob("ecopies/*"))


@pytest.mark.slow
def test_with_a_tsa_configured_copies_are_pades_b_t(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tsa: tuple[str, bytes],
) -> None:
    url, tsa_root = tsa
    (tmp_path / "tsa-root.pem").write_bytes(tsa_root)
    monkeypatch.setenv("ECOPY_TSA_URL", url)
    monkeypatch.setenv("ECOPY_TRUST_ROOTS", str(tmp_path / "tsa-root.pem"))
    files, _ = corpus_doc("dev_0004")
    code, out = run_json(capsys, "digitize", *map(str, files), "--json")
    assert code == 0
    code, v = run_json(capsys, "verify", out["pdf"], "--json")
    assert v["verdict"] == "valid" and v["signature"]["timestamped"] is True
    assert not v["signature"]["problems"]


def test_health_reports_each_service_and_wants_a_worker_only_when_asked(
    data_dir: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECOPY_REDIS_URL", redis_url)
    assert main(["init"]) == 0
    assert run_json(capsys, "health") == (0, {"registry": "ok", "redis": "ok", "store": "ok"})
    code, checks = run_json(capsys, "health", "--worker")
    assert (code, checks["worker"]) == (1, "missing")  # no RQ worker runs on this host for that Redis
