"""``ecopy eval``: one result per document folder in score.py's format, then the score."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ecopy.cli import main
from ecopy.devtools.evaluate import (
    DocOutcome,
    FieldOutcome,
    calibrate,
    calibration_bins,
    cer,
    confidently_wrong,
    expected_calibration_error,
    field_equal,
    format_report,
    per_field,
    scan_files,
    score,
)
from pipeline.read.text.date_words import date_in_words, match_date_words, parse_date_words
from tests.support.corpus import CORPUS_DIR


def test_scan_files_are_the_pages_in_natural_order_without_truth(tmp_path: Path) -> None:
    for name in ("page10.png", "page2.png", "page1.png", "truth.json", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in scan_files(tmp_path)] == ["page1.png", "page2.png", "page10.png"]


def test_metric_is_score_py_metric() -> None:
    assert field_equal("full_name", "Lê  Thu Chi", "Lê Thu Chi")
    assert not field_equal("full_name", "LÊ THU CHI", "Lê Thu Chi")  # names are case-sensitive
    assert field_equal("sex", "nữ", "Nữ")
    assert cer(["Số: 174 ........ Quyển"], [["Số: 174", "Quyển"]]) == 0.0  # dotted leaders are not text
    assert cer([], ["abcd"]) == 1.0


def test_calibration_counts_wrong_and_right_fields_below_the_threshold() -> None:
    def f(correct: bool, conf: float) -> FieldOutcome:
        return FieldOutcome("d", "t", "p", "x", "", "", correct, conf)

    cal = calibrate([f(False, 0.2), f(False, 0.9), f(True, 0.95), f(True, 0.5), f(True, 0.99), f(True, 0.97)], 0.8)
    assert (cal.wrong_flagged, cal.right_flagged, cal.wrong, cal.right) == (0.5, 0.25, 2, 4)


def _outcome(correct: bool, conf: float, name: str = "x", doc_type: str = "t") -> FieldOutcome:
    return FieldOutcome("d", doc_type, "p", name, "a" if correct else "b", "a", correct, conf)


def test_calibration_table_compares_predicted_and_observed_per_decile() -> None:
    fields = [_outcome(True, 0.95), _outcome(True, 0.97), _outcome(False, 0.92), _outcome(True, 1.0)]
    fields += [_outcome(False, 0.31), _outcome(True, 0.35)]
    bins = calibration_bins(fields)
    assert [(b.low, b.n) for b in bins] == [(0.3, 2), (0.9, 4)]  # 1.0 falls in the last bin
    top = bins[-1]
    assert abs(top.predicted - 0.96) < 1e-9 and top.observed == 0.75
    assert abs(expected_calibration_error(bins) - (2 * abs(0.33 - 0.5) + 4 * 0.21) / 6) < 1e-9


def test_confidently_wrong_lists_wrong_fields_at_or_above_the_threshold_surest_first() -> None:
    fields = [_outcome(False, 0.8), _outcome(False, 0.79), _outcome(False, 0.97), _outcome(True, 0.99)]
    assert [f.confidence for f in confidently_wrong(fields, 0.8)] == [0.97, 0.8]
    rows = per_field([*fields, _outcome(True, 0.5, name="y")], 0.8)
    assert [(r.name, r.n, r.accuracy, r.flagged, r.confident_wrong) for r in rows] == [
        ("x", 4, 0.25, 0.25, 2),
        ("y", 1, 1.0, 1.0, 0),
    ]


def test_report_shows_calibration_per_field_and_confidently_wrong_without_text_truth(tmp_path: Path) -> None:
    doc = tmp_path / "r1"
    doc.mkdir()
    truth = {"doc_id": "r1", "doc_type": "generic_letter", "profile": "real_scan", "fields": {"doc_number": "5/UBND"}}
    (doc / "truth.json").write_text(json.dumps(truth), encoding="utf-8")  # a real document: no text truth
    result = {"doc_id": "r1", "doc_type": "generic_letter", "fields": {"doc_number": "6/UBND"}, "text": ["x"]}
    (d,) = score([{**result, "confidence": {"doc_number": 0.9}}], tmp_path)
    assert d.cer is None  # nothing to compare the text with: not a CER of 1.0
    report = format_report([d], [result], 0.8)
    assert "Calibration per decile" in report and "generic_letter" in report
    assert "Confidently wrong (wrong with confidence ≥ 0.80): 1 of 1 fields" in report
    assert "r1 [real_scan] generic_letter.doc_number 0.90 '6/UBND' → '5/UBND'" in report
    assert "cer=n/a" in report


def test_date_in_words_round_trips_every_spelling() -> None:
    for date in ("01/05/1900", "29/10/2013", "05/05/2005", "10/12/2000", "21/06/2019", "14/04/2024"):
        spellings = date_in_words(date)
        assert spellings and all(parse_date_words(w) == date for w in spellings)
    assert "Mồng hai tháng tư năm một nghìn chín trăm chín mươi lăm" in date_in_words("02/04/1995")
    # tone-mark slips are corrected only when the words say the same date as the digits
    read = "Mồng hai tháng tư năm một nghìn chín trăm chín mươi lãm"
    assert match_date_words(read, "02/04/1995") == "Mồng hai tháng tư năm một nghìn chín trăm chín mươi lăm"
    assert match_date_words(read, "02/04/1996") is None


@pytest.mark.slow
def test_eval_writes_a_result_per_document_and_prints_the_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECOPY_DATA_DIR", str(tmp_path / "data"))
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR / "dev_0033", corpus / "dev_0033")  # a birth certificate
    broken = corpus / "broken_0001"
    broken.mkdir()
    (broken / "scan.png").write_text("not an image")
    truth = json.loads((CORPUS_DIR / "dev_0033" / "truth.json").read_text(encoding="utf-8"))
    (broken / "truth.json").write_text(json.dumps({**truth, "doc_id": "broken_0001"}), encoding="utf-8")

    out = tmp_path / "results"
    assert main(["--log-level", "WARNING", "eval", str(corpus), "--results", str(out), "--jobs", "1"]) == 0
    good = json.loads((out / "dev_0033.json").read_text(encoding="utf-8"))
    bad = json.loads((out / "broken_0001.json").read_text(encoding="utf-8"))
    assert good["doc_id"] == "dev_0033" and good["doc_type"] == "birth_certificate"
    assert set(good["fields"]) == set(good["confidence"]) and good["text"] and "error" not in good
    assert bad["error"]["code"] == "input.unsupported_type" and bad["fields"] == {} and bad["text"] == []
    printed = capsys.readouterr().out
    assert "broken_0001: input.unsupported_type" in printed
    docs = score([good, bad], corpus)
    assert [d.type_correct for d in docs] == [False, True]  # the unreadable one has no type
    assert "field_accuracy=" in printed and "wrong_flagged=" in printed


def test_a_document_without_a_result_scores_zero(tmp_path: Path) -> None:
    doc = tmp_path / "d1"
    doc.mkdir()
    (doc / "truth.json").write_text(
        json.dumps({"doc_id": "d1", "doc_type": "diploma", "profile": "clean", "fields": {"a": "1"}, "text": ["x"]}),
        encoding="utf-8",
    )
    (d,) = score([], tmp_path)
    assert isinstance(d, DocOutcome) and not d.type_correct and d.cer == 1.0 and not d.fields[0].correct


def test_calibrate_fits_a_table_from_scores_not_from_calibrated_confidences(tmp_path: Path) -> None:
    # GIVEN 30 read documents whose place field scored 0.96 but was right in only 10 of them
    corpus, results = tmp_path / "corpus", tmp_path / "results"
    results.mkdir()
    for k in range(30):
        doc = corpus / f"d{k:02d}"
        doc.mkdir(parents=True)
        truth = {"doc_id": doc.name, "doc_type": "diploma", "profile": "p", "fields": {"place_of_birth": "Hà Nội"}}
        (doc / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
        read = {
            "doc_id": doc.name,
            "doc_type": "diploma",
            "fields": {"place_of_birth": "Hà Nội" if k < 10 else "Hà Nộ"},
            "confidence": {"place_of_birth": 0.5},  # what an earlier table made of the score
            "score": {"place_of_birth": 0.96},
            "text": [],
        }
        (results / f"{doc.name}.json").write_text(json.dumps(read, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "table.json"
    # WHEN the table is fitted from them
    assert main(["--log-level", "WARNING", "calibrate", f"{corpus}={results}", "--out", str(out), "--note", "t"]) == 0
    # THEN a score of 0.96 for that field means about one chance in three, not 0.96
    from pipeline.read.calibration import CalibrationTable

    table = CalibrationTable.from_json(out.read_text(encoding="utf-8"))
    assert table.fitted_on == "t"
    assert 0.3 < table.probability("diploma", "place_of_birth", 0.96) < 0.6
    assert main(["--log-level", "WARNING", "calibrate", str(corpus)]) == 2  # a pair is needed


def test_score_only_recomputes_confidences_from_scores_with_the_current_table() -> None:
    from ecopy.devtools.evaluate import recalibrate
    from pipeline.read.calibration import CalibrationTable

    table = CalibrationTable(edges=(0.0, 0.9, 1.0), rows={"*": (0.2, 0.7), "confirmed": (0.5, 0.99)})
    result = {
        "doc_id": "d",
        "doc_type": "cccd_front",
        "fields": {"full_name": "A", "id_number": "1"},
        "confidence": {"full_name": 0.96, "id_number": 0.99},
        "score": {"full_name": 0.96, "id_number": 0.95},
        "confirmed": ["id_number"],
    }
    assert recalibrate(result, table)["confidence"] == {"full_name": 0.7, "id_number": 0.95}
    assert recalibrate({**result, "doc_type": None}, table) == {**result, "doc_type": None}  # unread: as it was
