"""The intake lifecycle: the transition table, the one place a status changes, and the labels
every status is shown with."""

from __future__ import annotations

import itertools
from collections import deque
from pathlib import Path

import pytest

from api import i18n
from storage import registry as storage_registry
from storage.registry import Registry
from workflow import lifecycle
from workflow.lifecycle import INITIAL, TRANSITIONS, IntakeStatus, Step, move, move_if, next_statuses, steps_between

S = IntakeStatus


def test_every_status_has_a_label_in_every_language() -> None:
    table = i18n._INTAKE_STATUSES
    assert set(table) == set(IntakeStatus), "the translation table lists exactly the lifecycle's statuses"
    for status in IntakeStatus:
        for lang in i18n.LANGS:
            assert table[status].get(lang, "").strip(), f"{status} has no {lang} label"


def test_storage_copies_of_the_status_sets_agree() -> None:
    assert storage_registry.FINISHED_STATUSES == lifecycle.FINISHED
    assert storage_registry.WAITING_FOR_PEOPLE == lifecycle.WAITING_FOR_PEOPLE


@pytest.mark.parametrize(
    "path",
    [
        # the counter: read, corrected, sent back once, approved, issued
        [S.QUEUED, S.PROCESSING, S.READY, S.SUBMITTED, S.REJECTED, S.SUBMITTED, S.SIGNING, S.ISSUED],
        # the archive: read with confidence, issued without a person
        [S.QUEUED, S.PROCESSING, S.READY, S.SIGNING, S.ISSUED],
        # the archive: doubtful, a person checks, submits
        [S.QUEUED, S.PROCESSING, S.REVIEW, S.SUBMITTED, S.SIGNING, S.ISSUED],
        # a job that fails, is retried, fails for good, and is queued again by a re-run of its batch
        [S.QUEUED, S.PROCESSING, S.RETRYING, S.PROCESSING, S.FAILED, S.QUEUED],
        # a document refused at intake
        [S.RECEIVED, S.FAILED],
        # a signing the time-stamp server refused, tried again
        [S.SIGNING, S.RETRYING, S.SIGNING, S.ISSUED],
    ],
)
def test_allowed_moves(path: list[IntakeStatus]) -> None:
    assert path[0] in INITIAL or path[0] == S.SIGNING
    for source, target in itertools.pairwise(path):
        assert steps_between(source, target), f"{source} → {target} should be allowed"


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.ISSUED, S.FAILED),  # an issued copy is never un-issued by a job
        (S.ISSUED, S.READY),
        (S.SUBMITTED, S.READY),  # the signer sends back (rejected), never silently to ready
        (S.REJECTED, S.SIGNING),  # a rejected intake is submitted again before anyone signs it
        (S.QUEUED, S.SUBMITTED),  # nothing read, nothing to submit
        (S.READY, S.REJECTED),  # only a submitted intake is rejected
        (S.FAILED, S.READY),  # a failed reading is read again, not declared read
    ],
)
def test_refused_moves(source: IntakeStatus, target: IntakeStatus) -> None:
    assert not steps_between(source, target)


def test_every_status_is_reachable_and_issued_is_terminal() -> None:
    seen, todo = set(INITIAL), deque(INITIAL)
    while todo:
        for nxt in next_statuses(todo.popleft()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(IntakeStatus)
    assert next_statuses(S.ISSUED) == {S.ISSUED}  # the copy exists: only recorded again
    terminal = {s for s in IntakeStatus if next_statuses(s) <= {s}}
    assert terminal == {S.ISSUED}


def test_every_step_has_a_row() -> None:
    assert set(TRANSITIONS) == set(Step)


def test_the_one_place_a_status_changes(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    registry.create_intake("i1", office="UBND", file_keys=[], file_names=[], status=S.SUBMITTED)
    # a step may only move to its own targets
    with pytest.raises(ValueError):
        move(registry, "i1", Step.SUBMIT, S.ISSUED)
    with pytest.raises(ValueError):
        move_if(registry, "i1", Step.APPROVE)  # approving moves the intake: to which status must be said
    # a conditional move from a status the step does not start from changes nothing
    assert move_if(registry, "i1", Step.SUBMIT, S.SUBMITTED) is None
    moved = move_if(registry, "i1", Step.APPROVE, S.SIGNING, approved_by="user:ky")
    assert moved is not None and moved.status == S.SIGNING and moved.approved_by == "user:ky"
    assert move_if(registry, "i1", Step.APPROVE, S.SIGNING) is None  # two signers: one wins
    done = move(registry, "i1", Step.RECORD_ISSUED, S.ISSUED, current=S.SIGNING, ecopy_id="E1")
    assert done.status == "issued" and done.finished_at is not None
