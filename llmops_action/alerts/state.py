"""The alert state store: one record per dedupe key, so an alert does not fire twice while open.

A JSON file (alerts.state_file, default .llmops/alerts/state.json beside the config):

    {"alerts": {"quickstart:schedule": {"state": "open", "type": "regression", "severity": "critical",
                "title": "...", "opened_at": "...", "updated_at": "...", "seen": 3, "by": null}}}

open -> acknowledged (someone is on it) -> resolved; open -> resolved. A resolved alert fires again
when it reoccurs. Writes are atomic (a temporary file renamed over the old one).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops_action.core.alerts import Alert
from llmops_action.errors import UserInputError

STATES = ("open", "acknowledged", "resolved")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class AlertStore:
    path: Path

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserInputError(
                f"alert state is not JSON: {exc.msg}", file=str(self.path), line=exc.lineno
            ) from None
        alerts = data.get("alerts") if isinstance(data, dict) else None
        if not isinstance(alerts, dict):
            raise UserInputError("alert state must be an object with 'alerts'", file=str(self.path))
        return alerts

    def _save(self, alerts: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"alerts": alerts}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    def state_of(self, key: str) -> str | None:
        rec = self.load().get(key)
        return None if rec is None else str(rec.get("state"))

    def is_active(self, key: str) -> bool:
        """Open or acknowledged: a repeat must not notify again."""
        return self.state_of(key) in ("open", "acknowledged")

    def open(self, alert: Alert) -> bool:
        """Record the alert as raised; True when it is new (none before, or the last one was resolved)."""
        alerts = self.load()
        rec = alerts.get(alert.dedupe_key)
        now = _now()
        fresh = rec is None or rec.get("state") == "resolved"
        if fresh:
            rec = {"state": "open", "opened_at": now, "seen": 0, "by": None}
        assert rec is not None
        rec.update(
            {
                "type": alert.type,
                "severity": alert.severity,
                "title": alert.title,
                "updated_at": now,
                "seen": int(rec.get("seen", 0)) + 1,
            }
        )
        alerts[alert.dedupe_key] = rec
        self._save(alerts)
        return fresh

    def resolve(self, key: str) -> bool:
        """Mark an active alert resolved; True when there was one."""
        alerts = self.load()
        rec = alerts.get(key)
        if rec is None or rec.get("state") == "resolved":
            return False
        rec.update({"state": "resolved", "updated_at": _now()})
        self._save(alerts)
        return True

    def set_state(self, key: str, state: str, *, by: str | None = None) -> dict[str, Any]:
        if state not in STATES:
            raise UserInputError(f"alert state must be one of {', '.join(STATES)}", key="state")
        alerts = self.load()
        if key not in alerts:
            known = ", ".join(sorted(alerts)) or "none"
            raise UserInputError(
                f"no alert with key '{key}' (known: {known})", file=str(self.path), key="key"
            )
        alerts[key].update({"state": state, "updated_at": _now(), "by": by})
        self._save(alerts)
        return alerts[key]
