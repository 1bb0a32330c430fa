"""Outcome files (JSONL, CSV): parsed to columns, and a bad record names its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.errors import UserInputError
from llmops_action.experiments.outcomes import import_outcomes, outcomes_file, read_outcomes, to_table

JSONL = (
    '{"unit_id": "u1", "variant": "control", "metric": "up", "value": true, "time": "2026-01-01T12:00:00Z"}\n'
    "\n"
    '{"unit_id": "u2", "variant": "treatment", "metric": "latency_ms", "value": 812.5, "time": 1767268800}\n'
)
CSV = "unit_id,variant,metric,value,time\nu1,control,up,1,2026-01-01T12:00:00Z\nu3,treatment,up,false,2026-01-01T12:00:01\n"


def test_jsonl_and_csv_read_the_same_fields(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(JSONL, encoding="utf-8")
    (tmp_path / "b.csv").write_text(CSV, encoding="utf-8")
    a = list(read_outcomes(tmp_path / "a.jsonl"))
    b = list(read_outcomes(tmp_path / "b.csv"))
    assert a[0].value == 1.0 and a[0].time == 1767268800.0 == a[1].time
    assert [(o.unit_id, o.variant, o.value) for o in b] == [("u1", "control", 1.0), ("u3", "treatment", 0.0)]
    t = to_table(a + b)
    assert t.metrics == ("up", "latency_ms")
    assert list(t.unit) == [0, 1, 0, 2] and list(t.variant) == [0, 1, 0, 1]


@pytest.mark.parametrize(
    ("line", "message", "key"),
    [
        (
            '{"unit_id": "u", "variant": "b", "metric": "up", "value": 1, "time": 1}',
            "control or treatment",
            "variant",
        ),
        (
            '{"unit_id": "u", "variant": "control", "metric": "up", "time": 1}',
            "missing field 'value'",
            "value",
        ),
        (
            '{"unit_id": "u", "variant": "control", "metric": "up", "value": "high", "time": 1}',
            "bad value",
            "value",
        ),
        (
            '{"unit_id": "u", "variant": "control", "metric": "up", "value": 1, "time": "yesterday"}',
            "bad time",
            "time",
        ),
    ],
)
def test_a_bad_record_names_file_line_and_field(tmp_path: Path, line: str, message: str, key: str) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(JSONL + line + "\n", encoding="utf-8")
    with pytest.raises(UserInputError) as exc:
        list(read_outcomes(path))
    assert message in exc.value.message
    assert (exc.value.file, exc.value.line, exc.value.key) == (str(path), 4, key)


def test_a_csv_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("user,variant\nu1,control\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="lacks unit_id, metric, value, time"):
        list(read_outcomes(path))


def test_import_writes_nothing_when_one_file_is_bad(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.csv"
    good.write_text(JSONL, encoding="utf-8")
    bad.write_text("unit_id,variant,metric,value,time\nu1,control,up,1,never\n", encoding="utf-8")
    with pytest.raises(UserInputError):
        import_outcomes(tmp_path, "exp", [good, bad])
    assert not outcomes_file(tmp_path, "exp").exists()
    assert import_outcomes(tmp_path, "exp", [good]) == 2
    assert import_outcomes(tmp_path, "exp", [good]) == 2
    assert len(list(read_outcomes(outcomes_file(tmp_path, "exp")))) == 4
