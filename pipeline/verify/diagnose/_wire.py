"""JSON between the child and the parent: one event per line, read back without trusting the child."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.models import SignatureReport
from pipeline.verify.diagnose.findings import MESSAGES, SignerFacts


def _facts_to_json(f: SignerFacts) -> dict[str, Any]:
    return {
        "subject": f.subject,
        "cert_sha256": f.cert_sha256,
        "crypto_valid": f.crypto_valid,
        "chains": f.chains,
        "known": f.known,
    }


def _report_to_json(r: SignatureReport) -> dict[str, Any]:
    return {
        "present": r.present,
        "intact": r.intact,
        "valid": r.valid,
        "trusted": r.trusted,
        "covers_whole_file": r.covers_whole_file,
        "modified_after_signing": r.modified_after_signing,
        "signer_subject": r.signer_subject,
        "signer_cert_sha256": r.signer_cert_sha256,
        "signing_time": r.signing_time.isoformat() if r.signing_time else None,
        "timestamped": r.timestamped,
        "problems": list(r.problems),
    }


def _report_from_json(d: dict[str, Any]) -> SignatureReport:
    when = d.get("signing_time")
    return SignatureReport(
        present=bool(d.get("present")),
        intact=bool(d.get("intact")),
        valid=bool(d.get("valid")),
        trusted=bool(d.get("trusted")),
        covers_whole_file=bool(d.get("covers_whole_file")),
        modified_after_signing=bool(d.get("modified_after_signing")),
        signer_subject=str(d.get("signer_subject", "")),
        signer_cert_sha256=str(d.get("signer_cert_sha256", "")),
        signing_time=dt.datetime.fromisoformat(when) if when else None,
        timestamped=bool(d.get("timestamped")),
        problems=tuple(str(p) for p in d.get("problems", ())),
    )


@dataclass
class _Events:
    findings: dict[str, list[str]] = field(default_factory=dict)
    signers: list[SignerFacts] = field(default_factory=list)
    report: SignatureReport | None = None
    ecopy_id: str | None = None
    done: bool = False

    def read(self, stdout: bytes) -> None:
        for line in stdout.splitlines():
            try:
                self._take(json.loads(line))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # a line cut by the kill, or nonsense: never let the child crash the parent

    def _take(self, event: dict[str, Any]) -> None:
        if "finding" in event:
            code, detail = event["finding"]
            if code in MESSAGES:
                details = self.findings.setdefault(str(code), [])
                if detail and detail not in details:
                    details.append(str(detail)[:500])
        elif "signer" in event:
            facts = event["signer"]
            self.signers.append(
                SignerFacts(
                    subject=str(facts["subject"]),
                    cert_sha256=str(facts["cert_sha256"]),
                    crypto_valid=facts["crypto_valid"] is True,
                    chains=facts["chains"] is True,
                    known=facts["known"] is True,
                )
            )
        elif "report" in event:
            self.report = _report_from_json(event["report"])
        elif "ecopy_id" in event:
            self.ecopy_id = str(event["ecopy_id"])[:64]
        elif event.get("done") is True:
            self.done = True
