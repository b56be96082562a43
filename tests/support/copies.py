"""What many tests sign: a certification statement with fixed facts (only the office and ID vary)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from pipeline.models import Certification

ECOPY_ID = "9QHN-GRJ0-GDBM-3KX5-K"  # well-formed (check symbol OK)
OFFICE = "UBND Phường Bến Nghé, Thành phố Hồ Chí Minh"


def sample_certification(ecopy_id: str = ECOPY_ID, office: str = OFFICE, **changes: Any) -> Certification:
    cert = Certification(
        ecopy_id=ecopy_id,
        verify_url=f"https://xacthuc.example.gov.vn/v/{ecopy_id}",
        office=office,
        certifier_name="Trần Thị Ngọc Hương",
        certifier_title="Phó Chủ tịch Ủy ban nhân dân phường",
        certified_on=dt.date(2026, 3, 5),
        certificate_number="1.234",
        book_number="01/2026",
        doc_type="birth_certificate",
        doc_title="Giấy khai sinh",
        development_only=True,
    )
    return dataclasses.replace(cert, **changes) if changes else cert
