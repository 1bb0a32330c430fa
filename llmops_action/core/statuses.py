"""The three llmops/* commit statuses (and check-run conclusions) a review ends with: pure.

`final_statuses` turns a Comparison's gate families into (state, description) per family; `pending_statuses`
is the honest answer when an evaluation cannot run here (a fork's code in a privileged context).
Descriptions are ASCII and at most 140 characters (GitHub's limit for a status description).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from llmops_action.core.results import GateResult

FAMILIES = ("quality", "regression", "drift")
State = Literal["pending", "success", "failure", "error"]
STATE_FOR: dict[str, State] = {"pass": "success", "warn": "success", "skipped": "success", "fail": "failure"}
# Check runs have no "pending" conclusion: a run that waits for a maintainer asks for action.
CONCLUSION_FOR = {
    "success": "success",
    "failure": "failure",
    "error": "failure",
    "pending": "action_required",
}
MAX_DESCRIPTION = 140

Statuses = dict[str, tuple[State, str]]


def _fit(text: str) -> str:
    text = text.encode("ascii", "replace").decode("ascii")
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


def describe(family: str, status: str, gates: list[GateResult]) -> str:
    if not gates:
        return f"llmops {family}: no gates" if status == "skipped" else f"llmops {family}: {status}"
    order = {"fail": 0, "warn": 1, "pass": 2, "skipped": 3}
    worst = sorted(gates, key=lambda g: order.get(g.status, 9))[0]
    detail = worst.reason or (
        f"{worst.metric} {worst.value:.3f}" if worst.value is not None else worst.metric
    )
    return f"llmops {family} {status}: {worst.name}: {detail}"


def final_statuses(
    families: Mapping[str, str],
    gates: list[GateResult],
    verdict: str,
    *,
    notes: Mapping[str, str] | None = None,
) -> Statuses:
    """One final state per family. `notes` replaces the description of a family that had nothing to gate
    (e.g. regression on a first run: "first run: no base to compare with")."""
    out: Statuses = {}
    for fam in FAMILIES:
        if verdict == "incomplete":
            out[fam] = ("error", f"llmops {fam}: run incomplete (provider or judge errors)")
            continue
        status = families.get(fam, "skipped")
        fam_gates = [g for g in gates if g.family == fam]
        note = (notes or {}).get(fam)
        text = f"llmops {fam}: {note}" if note and status == "skipped" else describe(fam, status, fam_gates)
        out[fam] = (STATE_FOR[status], _fit(text))
    return out


def pending_statuses(message: str, families: tuple[str, ...] = FAMILIES) -> Statuses:
    return {fam: ("pending", _fit(f"llmops {fam}: {message}")) for fam in families}


def error_statuses(why: str) -> Statuses:
    return {fam: ("error", _fit(f"llmops {fam}: {why}")) for fam in FAMILIES}
