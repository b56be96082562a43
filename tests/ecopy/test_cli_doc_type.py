"""`ecopy digitize --type/--title` and `ecopy batch --type/--title` on the embedded default: real
Tesseract and pyHanko, SQLite + files. A document the reader does not recognise is refused with its
own code (exit 2), the message says how to name it, and nothing is issued.

The unrecognised document is a page of plain Vietnamese prose with no title, drawn here with PIL.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ecopy.cli import EXIT_INPUT, build_parser, main
from ecopy.settings import load_settings
from pipeline.read.doctypes import registry as doctypes
from storage.registry import Registry

TITLE = "Bảng điểm toàn khóa"
PROSE = (
    "Buổi sáng hôm ấy trời trong và gió nhẹ. Chúng tôi đi bộ dọc bờ sông, nhìn những chiếc thuyền nhỏ chở rau "
    "và hoa quả về chợ. Người bán hàng gọi nhau í ới, tiếng cười nói vang khắp bến. Bà cụ ngồi dưới gốc đa kể "
    "lại chuyện ngày xưa, khi con đường này còn là lối mòn đầy cỏ dại. Trẻ con chạy theo đàn vịt, còn những "
    "người thợ may bên hiên nhà vẫn đều tay đạp máy. Chiều xuống, khói bếp bay lên từ những mái nhà thấp."
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("ECOPY_DATA_DIR", str(d))
    monkeypatch.delenv("ECOPY_DATABASE_URL", raising=False)
    monkeypatch.setenv("ECOPY_STORE", "fs")
    return d


@pytest.fixture
def prose(tmp_path: Path) -> Path:
    """A scanned page of prose with no title: no catalogue type claims it."""
    img = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 40)
    y = 200
    for _ in range(2):
        for line in textwrap.wrap(PROSE, 62):
            draw.text((150, y), line, font=font, fill=0)
            y += 60
        y += 60
    path = tmp_path / "van-xuoi.png"
    img.save(path, dpi=(200, 200))
    return path


def issued_count() -> int:
    with Registry(load_settings().resolved_database_url) as registry:
        registry.migrate()
        return registry.count_ecopies()


@pytest.mark.slow
def test_digitize_other_with_a_title_certifies_that_title(
    data_dir: Path, prose: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["digitize", str(prose), "--type", "other", "--title", TITLE, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["doc_type"], out["doc_title"]) == ("other", TITLE)
    # THEN the signed PDF's statement, as poppler reads it, names the clerk's title
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", out["pdf"], "-"], capture_output=True, text=True).stdout
    text = " ".join(text.split())
    assert f"Giấy tờ được chứng thực: {TITLE};" in text and "Công văn" not in text
    # AND the registry and the verification say it too
    assert main(["verify", out["ecopy_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["record"]["doc_title"] == TITLE
    assert issued_count() == 1


@pytest.mark.slow
def test_digitize_refuses_an_unrecognised_document_and_says_how_to_name_it(
    data_dir: Path, prose: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Depends on the reader answering "unknown" for a page of prose (pipeline/read/classify.py).
    capsys.readouterr()
    code = main(["digitize", str(prose)])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT == 2
    assert "[intake.type_required]" in err
    assert "--type other --title" in err and "--type LOẠI" in err
    assert issued_count() == 0
    assert not list((data_dir).rglob("ecopies/*.pdf"))  # nothing stored


def test_other_without_a_title_is_refused_before_reading(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["digitize", "does-not-matter.png", "--type", "other"])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT and "[input.doc_title_required]" in err
    code = main(["digitize", "does-not-matter.png", "--type", "other", "--title", "  "])
    assert code == EXIT_INPUT and "[input.doc_title_required]" in capsys.readouterr().err
    code = main(["batch", str(data_dir), "--type", "other", "--no-wait"])
    assert code == EXIT_INPUT and "[input.doc_title_required]" in capsys.readouterr().err


def test_the_type_choices_are_the_registrys() -> None:
    parser = build_parser()
    for command in ("digitize", "batch"):
        sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
        (type_action,) = [a for a in sub._actions if "--type" in a.option_strings]
        assert tuple(type_action.choices) == doctypes.doc_type_names()
        assert any("--title" in a.option_strings for a in sub._actions)
    with pytest.raises(SystemExit):
        parser.parse_args(["digitize", "a.png", "--type", "unknown"])  # "unknown" is not a type one names
