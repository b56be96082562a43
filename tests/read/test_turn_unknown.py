"""A page the orientation check left sideways or upside down is read turned before it is called unknown."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.models import SourceFile
from pipeline.read.preprocess import PreprocessOptions
from pipeline.read.reader import ReadOptions, read_document
from tests.support.corpus import CORPUS_DIR

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("quarter_turns", [1])  # on its side: the turn is chosen among three
def test_a_turned_page_the_orientation_check_missed_is_read_turned_back(quarter_turns: int) -> None:
    # GIVEN a birth certificate turned on its side or upside down, with the orientation check off
    # (as when the check's confidence is too low to act on)
    image = cv2.imread(str(CORPUS_DIR / "dev_0033" / "scan.png"))
    turned = np.ascontiguousarray(np.rot90(image, quarter_turns))
    ok, png = cv2.imencode(".png", turned)
    assert ok
    options = ReadOptions(preprocess=PreprocessOptions(orient=False))
    # WHEN it is read
    read = read_document([SourceFile(name="scan.png", data=png.tobytes())], options)
    # THEN its type is recognised on the page turned back, and the page kept is the upright one
    assert read.classification.doc_type == "birth_certificate"
    assert read.pages[0].rotation == (360 - 90 * quarter_turns) % 360
    assert read.pages[0].image.shape[:2] == image.shape[:2]
    assert read.fields.fields["full_name"].value
