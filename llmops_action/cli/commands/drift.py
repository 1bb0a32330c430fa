"""drift: PSI between two JSONL samples (production inputs, propensity scores...), per feature."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from llmops_action.core.textfile import read_text
from llmops_action.errors import EXIT_GATE_FAILED, UserInputError


def read_jsonl_columns(path: str) -> dict[str, list[Any]]:
    """Rows of JSON objects to columns; a key absent from a row is None there (the `__missing__` bucket)."""
    p = Path(path)
    text = read_text(p, "file")
    rows: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserInputError(f"not JSON: {exc.msg}", file=path, line=lineno) from None
        if not isinstance(row, dict):
            raise UserInputError(
                f"each line must be a JSON object, got {type(row).__name__}", file=path, line=lineno
            )
        for key, value in row.items():
            if isinstance(value, dict | list):
                raise UserInputError(
                    "feature values must be numbers, strings, booleans or null",
                    file=path,
                    line=lineno,
                    key=key,
                )
        rows.append(row)
    if not rows:
        raise UserInputError("no rows", file=path)
    keys = sorted({k for r in rows for k in r})
    return {k: [_scalar(r.get(k)) for r in rows] for k in keys}


def _scalar(v: Any) -> Any:
    if isinstance(v, bool):
        return str(v).lower()  # booleans are categories, never 0/1 numbers
    return v


def _handler(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from llmops_action.core.config import DriftConfig
    from llmops_action.core.drift import drift_table

    reference = read_jsonl_columns(args.reference)
    current = read_jsonl_columns(args.current)
    features = None
    if args.features:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        known = set(reference) | set(current)
        unknown = [f for f in features if f not in known]
        if unknown:
            raise UserInputError(
                f"unknown feature(s) {', '.join(unknown)}; the files have: {', '.join(sorted(known))}",
                key="--features",
            )
    try:
        cfg = DriftConfig(warning=args.warning, critical=args.critical, alpha=args.alpha)
    except ValidationError as exc:
        raise UserInputError(
            str(exc.errors()[0]["msg"]).removeprefix("Value error, "), key="--warning/--critical"
        ) from None
    signals = drift_table(reference, current, features, cfg, seed=args.seed)
    if args.json:
        print(json.dumps([s.model_dump(mode="json") for s in signals], indent=2))
    else:
        print(format_table(signals))
    critical = any(s.status == "critical" for s in signals)
    return EXIT_GATE_FAILED if critical and args.fail_on_critical else 0


def format_table(signals: list[Any]) -> str:
    header = ("feature", "kind", "n ref", "n cur", "PSI", "adj PSI", "p", "status", "top bin")
    rows = [header]
    for s in signals:
        rows.append(
            (
                s.signal,
                s.kind,
                str(s.n_base),
                str(s.n_head),
                "-" if s.psi is None else f"{s.psi:.4f}",
                "-" if s.psi_adjusted is None else f"{s.psi_adjusted:.4f}",
                "-"
                if s.p_value is None
                else f"{s.p_value:.3g}" + (" (perm)" if s.p_method == "permutation" else ""),
                s.status + (f" ({s.note})" if s.note else ""),
                s.top_bin or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command

    p = add_command(
        sub,
        "drift",
        """Population Stability Index between two JSONL samples, per feature.

Each line is a JSON object (a production input, a propensity score...). Numeric features are binned at
the reference's quantiles; strings and booleans are categories; absent or null values are the
__missing__ bucket. Status thresholds apply to the bias-adjusted PSI, and leaving "ok" also needs
p < --alpha. Exits 0 unless --fail-on-critical is given and a feature is critical (then 1).

Example:
  llmops-action drift --reference prod-last-week.jsonl --current prod-today.jsonl --features country,score
  llmops-action drift --reference a.jsonl --current b.jsonl --warning 0.1 --critical 0.2 --json""",
    )
    p.add_argument("--reference", required=True, help="JSONL sample to compare against (bins come from it)")
    p.add_argument("--current", required=True, help="JSONL sample to check")
    p.add_argument("--features", help="comma-separated feature names (default: every key in either file)")
    p.add_argument(
        "--warning", type=float, default=0.1, help="adjusted PSI for 'warning' (default: %(default)s)"
    )
    p.add_argument(
        "--critical", type=float, default=0.25, help="adjusted PSI for 'critical' (default: %(default)s)"
    )
    p.add_argument(
        "--alpha", type=float, default=0.01, help="p-value needed to leave 'ok' (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the permutation tests (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the signals as JSON")
    p.add_argument("--fail-on-critical", action="store_true", help="exit 1 when a feature drifts critically")
    p.set_defaults(handler=_handler)
