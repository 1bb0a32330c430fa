"""Outcome records from JSONL or CSV files, for teams that log production traffic outside MLflow.

One record per line (JSONL) or row (CSV with a header), with these fields:

    unit_id   the user or visitor id that was assigned (string)
    variant   control or treatment
    metric    the metric name (the experiment's primary metric or a guardrail)
    value     a number; for rates 0/1 (true/false also read)
    time      ISO 8601 (2026-01-01T12:00:00Z) or epoch seconds

A bad record is an error naming the file, the line and the field: a silently dropped outcome would
bias the result. `experiment import` appends validated records to the experiment's outcome file
(.llmops/experiments/<name>.outcomes.jsonl), which `experiment results` reads.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from llmops_action.core.experiment_analysis import OutcomeTable
from llmops_action.errors import UserInputError

FIELDS = ("unit_id", "variant", "metric", "value", "time")
VARIANT_CODE = {"control": 0, "treatment": 1}
_BOOL = {"true": 1.0, "false": 0.0}


@dataclass(frozen=True)
class Outcome:
    unit_id: str
    variant: str
    metric: str
    value: float
    time: float  # epoch seconds

    def to_json(self) -> str:
        return json.dumps(
            {
                "unit_id": self.unit_id,
                "variant": self.variant,
                "metric": self.metric,
                "value": self.value,
                "time": datetime.fromtimestamp(self.time, UTC).isoformat().replace("+00:00", "Z"),
            },
        )


def outcomes_file(root: Path, name: str) -> Path:
    from llmops_action.experiments.lifecycle import EXPERIMENTS_DIR

    return root / EXPERIMENTS_DIR / f"{name}.outcomes.jsonl"


def parse_time(raw: object) -> float:
    if isinstance(raw, bool):
        raise ValueError("a time, not a boolean")
    if isinstance(raw, int | float):
        return float(raw)
    text = str(raw).strip()
    try:
        return float(text)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _value(raw: object) -> float:
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str) and raw.strip().lower() in _BOOL:
        return _BOOL[raw.strip().lower()]
    v = float(raw)  # type: ignore[arg-type]
    if not math.isfinite(v):
        raise ValueError("not a finite number")
    return v


def to_outcome(raw: dict[str, object], source: str, line: int) -> Outcome:
    missing = [f for f in FIELDS if raw.get(f) in (None, "")]
    if missing:
        raise UserInputError(
            f"missing field '{missing[0]}' (each record needs {', '.join(FIELDS)})",
            file=source,
            line=line,
            key=missing[0],
        )
    variant = str(raw["variant"]).strip()
    if variant not in VARIANT_CODE:
        raise UserInputError(
            f"variant must be control or treatment, not {variant!r}", file=source, line=line, key="variant"
        )
    for key, conv in (("value", _value), ("time", parse_time)):
        try:
            conv(raw[key])
        except (TypeError, ValueError) as exc:
            raise UserInputError(f"bad {key} {raw[key]!r}: {exc}", file=source, line=line, key=key) from None
    return Outcome(
        str(raw["unit_id"]), variant, str(raw["metric"]), _value(raw["value"]), parse_time(raw["time"])
    )


def read_outcomes(path: Path) -> Iterator[Outcome]:
    """Records of a .jsonl or .csv file, validated, in file order."""
    source = str(path)
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise UserInputError("outcome file not found", file=source) from None
    with handle:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(handle)
            absent = [f for f in FIELDS if f not in (reader.fieldnames or [])]
            if absent:
                raise UserInputError(f"the CSV header lacks {', '.join(absent)}", file=source, line=1)
            for row in reader:
                yield to_outcome(row, source, reader.line_num)
            return
        for i, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UserInputError(f"not JSON: {exc.msg}", file=source, line=i) from None
            if not isinstance(raw, dict):
                raise UserInputError("each line must be a JSON object", file=source, line=i)
            yield to_outcome(raw, source, i)


def import_outcomes(root: Path, name: str, files: Iterable[Path]) -> int:
    """Validate every file first, then append: a bad record leaves the outcome file untouched."""
    records = [o for f in files for o in read_outcomes(f)]
    target = outcomes_file(root, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as out:
        out.writelines(o.to_json() + "\n" for o in records)
    return len(records)


def to_table(records: Iterable[Outcome]) -> OutcomeTable:
    """Columns for the analysis; unit ids and metric names become integer codes."""
    units: dict[str, int] = {}
    metrics: dict[str, int] = {}
    u: list[int] = []
    v: list[int] = []
    m: list[int] = []
    x: list[float] = []
    t: list[float] = []
    for o in records:
        u.append(units.setdefault(o.unit_id, len(units)))
        v.append(VARIANT_CODE[o.variant])
        m.append(metrics.setdefault(o.metric, len(metrics)))
        x.append(o.value)
        t.append(o.time)
    return OutcomeTable(
        unit=np.asarray(u, dtype=np.int64),
        variant=np.asarray(v, dtype=np.int8),
        metric=np.asarray(m, dtype=np.int32),
        value=np.asarray(x, dtype=float),
        time=np.asarray(t, dtype=float),
        metrics=tuple(metrics),
    )
