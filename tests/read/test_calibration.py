"""Field confidences are probabilities measured per field: the calibration table."""

from __future__ import annotations

import itertools
import random

from pipeline.models import ExtractedFields, FieldValue
from pipeline.read.calibration import (
    ANY_FIELD,
    CONFIRMED,
    CalibrationTable,
    Sample,
    _pool_adjacent_violators,
    calibrate_fields,
    default_table,
    fit_table,
)


def test_pool_adjacent_violators_gives_the_closest_non_decreasing_sequence() -> None:
    assert _pool_adjacent_violators([0.2, 0.9, 0.5, 0.95], [1, 1, 1, 1]) == [0.2, 0.7, 0.7, 0.95]
    assert [round(v, 9) for v in _pool_adjacent_violators([0.9, 0.1], [3, 1])] == [0.7, 0.7]


def _samples(doc_type: str, name: str, score: float, right_rate: float, n: int, rng: random.Random) -> list[Sample]:
    return [Sample(doc_type, name, score, False, rng.random() < right_rate) for _ in range(n)]


def test_a_field_often_wrong_at_a_high_score_gets_a_low_probability() -> None:
    # GIVEN a place field that is right only half the time at score 0.96, and a date right 99 % of the time
    rng = random.Random(7)
    samples = _samples("birth_certificate", "place_of_birth", 0.96, 0.5, 200, rng)
    samples += _samples("birth_certificate", "date_of_birth", 0.96, 0.99, 200, rng)
    samples += _samples("birth_certificate", "date_of_birth", 0.4, 0.2, 100, rng)
    # WHEN the table is fitted
    table = fit_table(samples)
    # THEN the same score means different probabilities for the two fields
    place = table.probability("birth_certificate", "place_of_birth", 0.96)
    date = table.probability("birth_certificate", "date_of_birth", 0.96)
    assert 0.4 < place < 0.6 and date > 0.95
    assert table.probability("birth_certificate", "date_of_birth", 0.4) < 0.4
    # a field the table never saw falls back to its type's row, a type it never saw to the whole table's
    assert (
        table.probability("birth_certificate", "ethnicity", 0.96)
        == table.rows["birth_certificate.*"][table.bin_of(0.96)]
    )
    assert table.probability("passport", "mrz", 0.96) == table.rows[ANY_FIELD][table.bin_of(0.96)]


def test_rows_never_fall_as_the_score_rises_and_survive_a_round_trip() -> None:
    rng = random.Random(3)
    samples = [Sample("diploma", "issuer", s, False, rng.random() < s * s) for s in (rng.random() for _ in range(2000))]
    samples += [Sample("diploma", "issuer", 0.99, True, True) for _ in range(40)]
    table = fit_table(samples, fitted_on="test")
    for row in table.rows.values():
        assert all(a <= b for a, b in itertools.pairwise(row))
    assert CONFIRMED in table.rows
    again = CalibrationTable.from_json(table.to_json())
    assert again == table


def test_calibrate_fields_replaces_scores_and_leaves_values() -> None:
    table = CalibrationTable(edges=(0.0, 0.5, 1.0), rows={ANY_FIELD: (0.1, 0.6), CONFIRMED: (0.5, 0.99)})
    fields = ExtractedFields(
        "diploma",
        {
            "a": FieldValue("a", "x", 0.9),
            "b": FieldValue("b", "y", 0.2),
            "c": FieldValue("c", "z", 0.9, confirmed=True),
        },
    )
    out = calibrate_fields(fields, table)
    assert {k: (f.value, f.confidence) for k, f in out.fields.items()} == {
        "a": ("x", 0.6),
        "b": ("y", 0.1),
        "c": ("z", 0.9),
    }
    assert calibrate_fields(fields, None) is fields
    # never above the extractor's own score: a doubted value keeps its doubt
    assert table.probability("diploma", "a", 0.45) == 0.1 and table.probability("x", "y", 0.55) == 0.55


def test_the_shipped_table_is_fitted_and_monotone() -> None:
    table = default_table()
    assert table is not None and table.fitted_on
    assert ANY_FIELD in table.rows and any(k.startswith("generic_letter.") for k in table.rows)
    for key, row in table.rows.items():
        assert all(0.0 <= v <= 1.0 for v in row), key
        assert all(a <= b for a, b in itertools.pairwise(row)), key
