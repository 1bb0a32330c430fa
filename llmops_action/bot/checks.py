"""The llmops/* check runs of one commit: found or created (never duplicated), in_progress, then completed.

A job that dies and is run again by another worker finds the check runs the first one created (listed by
name for the commit and our App) and updates them, so a commit never shows two llmops/quality checks.
https://docs.github.com/rest/checks/runs
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llmops_action.adapters.github import GitHubClient
from llmops_action.errors import LlmopsError

FAMILIES = ("quality", "regression", "drift")
SUMMARY_MAX = 65_535  # GitHub's limit on output.summary and output.text
ANNOTATIONS_PER_REQUEST = 50


def check_name(family: str) -> str:
    return f"llmops/{family}"


def clip(text: str, limit: int = SUMMARY_MAX) -> str:
    if len(text) <= limit:
        return text
    note = "\n\n... (cut to GitHub's size limit; the full report is in the PR comment)"
    return text[: limit - len(note)] + note


@dataclass(frozen=True)
class Annotation:
    path: str
    message: str
    level: str = "notice"  # notice | warning | failure
    line: int = 1

    def to_api(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.line,
            "end_line": self.line,
            "annotation_level": self.level,
            "message": self.message[:64_000],
        }


class CheckRuns:
    def __init__(self, client: GitHubClient, sha: str, *, app_id: str | None, known: dict[str, int]) -> None:
        self.client, self.sha, self.app_id = client, sha, app_id
        self.ids: dict[str, int] = dict(known)
        self.open: set[str] = set()
        self._url = f"{client._repo.url}"

    def _request(self, method: str, url: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        requester = self.client._gh.requester
        _, data = requester.requestJsonAndCheck(method, url, input=payload)
        return dict(data or {})

    def _find(self, family: str) -> int | None:
        params = f"check_name={check_name(family)}&filter=latest"
        if self.app_id:
            params += f"&app_id={self.app_id}"
        data = self.client._call(
            "read", lambda: self._request("GET", f"{self._url}/commits/{self.sha}/check-runs?{params}")
        )
        runs = data.get("check_runs") or []
        return int(runs[0]["id"]) if runs else None

    def start(self, families: tuple[str, ...] = FAMILIES, *, title: str = "evaluating") -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for family in families:
            self.open.add(family)  # before the call: a crash between two calls still completes this one
            body = {"status": "in_progress", "started_at": now, "output": {"title": title, "summary": title}}
            run_id = self.ids.get(family) or self._find(family)
            if run_id is not None:
                self._patch(run_id, body)
            else:
                # A create that failed on our side may have landed on GitHub's: look before re-sending.
                created = self._create(family, body)
                run_id = created
            self.ids[family] = run_id

    def _create(self, family: str, body: dict[str, Any]) -> int:
        payload = {"name": check_name(family), "head_sha": self.sha, **body}
        for attempt in range(self.client.policy.attempts):
            try:
                return int(self._request("POST", f"{self._url}/check-runs", payload)["id"])
            except Exception as exc:
                self.client._raise_if_fatal("checks", exc, attempt)
                self.client.policy.sleep(self.client._wait(exc, attempt))
                found = self._find(family)
                if found is not None:
                    self._patch(found, body)
                    return found
        raise LlmopsError("GitHub kept failing while creating a check run")

    def _patch(self, run_id: int, body: dict[str, Any]) -> None:
        self.client._call("checks", lambda: self._request("PATCH", f"{self._url}/check-runs/{run_id}", body))

    def complete(
        self,
        family: str,
        conclusion: str,
        title: str,
        summary: str,
        *,
        annotations: list[Annotation] | None = None,
    ) -> None:
        if family not in self.ids:
            self.start((family,))
        run_id = self.ids[family]
        batches = [annotations[i : i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(annotations or []), 50)]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        output: dict[str, Any] = {"title": title[:1000], "summary": clip(summary)}
        for batch in batches[:-1]:  # GitHub appends annotations across updates of one run
            self._patch(run_id, {"output": {**output, "annotations": [a.to_api() for a in batch]}})
        if batches:
            output["annotations"] = [a.to_api() for a in batches[-1]]
        self._patch(
            run_id, {"status": "completed", "conclusion": conclusion, "completed_at": now, "output": output}
        )
        self.open.discard(family)

    def crash(self, reason: str, *, conclusion: str = "failure") -> None:
        """Every started, unfinished check ends (a failure by default) and says why; never raises over the
        real error."""
        title = "superseded by a newer head" if conclusion == "cancelled" else "the evaluation failed"
        for family in sorted(self.open):
            with contextlib.suppress(Exception):
                self.complete(family, conclusion, f"llmops {family}: {title}", reason)
        self.open.clear()
