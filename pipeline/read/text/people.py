"""Who a person is on paper: sexes, ethnic groups and nationalities (closed vocabularies), and the
sex a middle name tells.
"""

from __future__ import annotations

import logging

from pipeline.models import FieldValue
from pipeline.read.text.confidence import DISAGREE, confirm, penalise
from pipeline.read.text.lines import fold

log = logging.getLogger(__name__)

SEXES = ("Nam", "Nữ")
# Việt Nam first, then the nationalities most often married to or born of in Việt Nam.
NATIONALITIES = (
    "Việt Nam", "Trung Quốc", "Hàn Quốc", "Nhật Bản", "Hoa Kỳ", "Đài Loan", "Lào", "Campuchia",
    "Thái Lan", "Pháp", "Đức", "Anh", "Úc", "Ca-na-đa", "Nga",
)  # fmt: skip
# The 54 ethnic groups of Việt Nam (and common second spellings); a read value snaps to one.
ETHNICITIES = (
    "Kinh", "Tày", "Thái", "Hoa", "Khmer", "Khơ Me", "Mường", "Nùng", "Mông", "H'Mông", "Dao",
    "Gia Rai", "Ngái", "Ê Đê", "Ba Na", "Xơ Đăng", "Sán Chay", "Cơ Ho", "Chăm", "Sán Dìu", "Hrê",
    "Mnông", "Ra Glai", "Xtiêng", "Bru Vân Kiều", "Thổ", "Giáy", "Cơ Tu", "Giẻ Triêng", "Mạ",
    "Khơ Mú", "Co", "Tà Ôi", "Chơ Ro", "Kháng", "Xinh Mun", "Hà Nhì", "Chu Ru", "Lào", "La Chí",
    "La Ha", "Phù Lá", "La Hủ", "Lự", "Lô Lô", "Chứt", "Mảng", "Pà Thẻn", "Cờ Lao", "Cống",
    "Bố Y", "Si La", "Pu Péo", "Brâu", "Ơ Đu", "Rơ Măm",
)  # fmt: skip
MALE, FEMALE = "male", "female"
_SEX_WORDS = {"nam": MALE, "nu": FEMALE, "male": MALE, "female": FEMALE}


# ---- the personal ID ---------------------------------------------------------------------------
def sex_of(text: str | None) -> str | None:
    """``MALE``/``FEMALE`` for "Nam"/"Nữ" (any case or diacritics), else None."""
    return _SEX_WORDS.get(fold(text or "").strip())


def check_sex_cue(out: dict[str, FieldValue], name_key: str) -> None:
    """A middle name "Thị" is a woman's, "Văn" a man's: a name that says the other sex than the
    field means one of the two was misread; one that says the same confirms the sex."""
    name, sex = out.get(name_key), out.get("sex")
    if name is None or sex is None or sex.value not in SEXES:
        return
    middle = {fold(w) for w in name.value.split()[1:-1]}
    cue = "Nữ" if "thi" in middle else "Nam" if "van" in middle else None
    if cue is not None and cue != sex.value:
        log.info("%s %r does not fit the sex %s", name_key, name.value, sex.value)
        penalise(out, "sex", DISAGREE)
        penalise(out, name_key, DISAGREE)
    elif cue is not None:  # the name says the sex that was read: two readings agree
        confirm(out, "sex", independent=True)
