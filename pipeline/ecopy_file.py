"""The issued file's format: what render writes, sign signs into and verify reads back.

One home for the facts an issued e-copy carries so that ``certify`` (render, sign) and ``verify``
(hash-first check, diagnosis) agree without importing each other: the custom Info keys and the XMP
identifier, the signature box on the certification page, the embedded fonts, the development
marking. Changing any of these changes the format of every copy issued after it.
"""

from __future__ import annotations

from dataclasses import dataclass

NOTO_REGULAR = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
NOTO_BOLD = "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"
INFO_KEY_ECOPY_ID = "/EcopyID"  # custom Info key; the XMP carries it as dc:identifier "ecopy:<ID>"
INFO_KEY_CERTIFICATE_NUMBER = "/EcopyCertificateNumber"  # "Số chứng thực", as printed in the statement
XMP_ID_PREFIX = "ecopy:"
DEV_ONLY_LINE = "BẢN THỬ NGHIỆM — KHÔNG CÓ GIÁ TRỊ PHÁP LÝ"


@dataclass(frozen=True)
class SignatureBox:
    """Where the visible signature goes: page index (negative counts from the end) and a
    rectangle in PDF points, origin bottom-left, as pyHanko's ``SigFieldSpec`` wants it."""

    page_index: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return (round(self.x1), round(self.y1), round(self.x2), round(self.y2))


SIGNATURE_BOX = SignatureBox(page_index=-1, x1=325.0, y1=285.0, x2=545.0, y2=375.0)
"""The signature place on the certification page (always the last page of an e-copy)."""
