"""Run one job on a worker: claim it, bound the installation's concurrency, review, post, and always finish.

The claim is a lease renewed while the job runs; a worker that dies stops renewing, the lease runs out, and
the reaper of any other worker queues the job again. Posting is idempotent (the sticky comment and the
check runs are found and updated), so the second run leaves exactly one comment and one set of checks.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops_action.bot import jobs as J
from llmops_action.bot.checks import FAMILIES, CheckRuns
from llmops_action.bot.jobs import Job
from llmops_action.bot.messages import render
from llmops_action.bot.review_job import ReviewOutcome, Services, run_review

if TYPE_CHECKING:
    from llmops_action.adapters.github import GitHubClient
    from llmops_action.bot.github_app import GitHubApp
    from llmops_action.bot.settings import BotSettings
    from llmops_action.bot.state import State

log = logging.getLogger("llmops_action.bot")

CONCLUSION = {"pass": "success", "warn": "success", "skipped": "success", "fail": "failure"}


class Superseded(Exception):
    """A newer head of the same PR was queued: this job ends without posting."""


def accept_key(repo: str, pr: int | None, sha: str) -> str:
    return f"accept:{repo}#{pr}@{sha}"


@dataclass
class Busy:
    """The installation is at its concurrency bound: try again in `delay` seconds."""

    delay: float = 2.0


class _Heartbeat:
    def __init__(self, state: State, keys: list[tuple[str, str]], ttl: float) -> None:
        self.state, self.keys, self.ttl = state, keys, ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            for key, owner in self.keys:
                try:
                    self.state.renew(key, owner, self.ttl)
                except Exception:  # a state hiccup must not kill the job; the next beat tries again
                    log.warning("lease renewal of %s failed", key)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


class Executor:
    def __init__(
        self, settings: BotSettings, state: State, app: GitHubApp, worker_id: str, submit: Any
    ) -> None:
        self.settings, self.state, self.app, self.worker_id = settings, state, app, worker_id
        self.submit = submit  # submit(job, force) -> None: record and enqueue (for /llmops rerun)

    # -- claiming ------------------------------------------------------------------------------------

    def run(self, job_id: str) -> Busy | None:
        data = self.state.job(job_id)
        if data is None or data["state"] in J.FINAL:
            return None
        job = Job.from_dict(data)
        if J.is_superseded(self.state, job):
            J.update(
                self.state, job, state="superseded", finished=time.time(), message="a newer head was queued"
            )
            return None
        ttl = self.settings.lease_seconds
        lease = f"job:{job.id}"
        if not self.state.lease(lease, self.worker_id, ttl):
            return None  # another worker holds it
        slot = self._slot(job)
        if slot is None:
            self.state.release(lease, self.worker_id)
            return Busy()
        try:
            with _Heartbeat(self.state, [(lease, self.worker_id), (slot, job.id)], ttl):
                if job.kind == "command":
                    from llmops_action.bot.slash import run_command

                    run_command(self, job)
                else:
                    self._review(job)
        finally:
            self.state.release(slot, job.id)
            self.state.release(lease, self.worker_id)
        return None

    def _slot(self, job: Job) -> str | None:
        for i in range(self.settings.installation_concurrency):
            key = f"slot:{job.installation_id}:{i}"
            if self.state.lease(key, job.id, self.settings.lease_seconds):
                return key
        return None

    def client(self, job: Job) -> GitHubClient:
        return self.app.client(job.installation_id, job.repo)

    # -- reviewing -----------------------------------------------------------------------------------

    def _review(self, job: Job) -> None:
        started = time.time()
        J.update(
            self.state,
            job,
            state="running",
            started=started,
            attempts=job.attempts + 1,
            worker=self.worker_id,
        )
        client = self.client(job)
        token = self.app.token(job.installation_id, job.repo)
        checks = CheckRuns(client, job.head_sha, app_id=self.settings.app_id, known=job.check_runs)

        def on_start() -> None:
            if J.is_superseded(self.state, job):
                raise Superseded()
            if job.kind in ("pr", "push"):
                checks.start()
                J.update(self.state, job, check_runs=dict(checks.ids))

        try:
            outcome = run_review(job, Services(client, token, self.settings), on_start)
            if J.is_superseded(self.state, job):
                raise Superseded()
            self._publish(job, client, checks, outcome)
        except Superseded:
            # A check on the old head must not hang in progress; `cancelled` says it was not judged.
            checks.crash(
                "superseded: a newer head of this pull request is being evaluated", conclusion="cancelled"
            )
            self._finish(job, "superseded", started, message="a newer head was queued")
        except Exception as exc:
            reason = f"The llmops bot could not finish this evaluation: {type(exc).__name__}: {_safe(exc)}"
            log.exception("job %s failed", job.id)
            checks.crash(reason)
            self._finish(job, "failed", started, message=reason)

    def _publish(self, job: Job, client: GitHubClient, checks: CheckRuns, outcome: ReviewOutcome) -> None:
        started = job.started or time.time()
        if outcome.status == "no-config":
            self._finish(job, "done", started, message=f"no {job.config_path}: nothing to evaluate")
            return
        if outcome.status in ("refused", "bad-config"):
            text = outcome.message or ""
            title = (
                "llmops: this suite needs the Action" if outcome.status == "refused" else "llmops: bad config"
            )
            for fam in FAMILIES:
                checks.complete(fam, "neutral" if outcome.status == "refused" else "failure", title, text)
            self._finish(job, "refused" if outcome.status == "refused" else "failed", started, message=text)
            return
        comment_url = None
        if job.kind == "pr" and job.pr is not None and outcome.comment:
            from llmops_action.core.report.render import comment_marker

            posted = client.upsert_comment(
                job.pr,
                outcome.comment,
                comment_marker(outcome.suite or "default"),
                evaluated_sha=job.head_sha,
            )
            if posted.action == "skipped-stale":
                raise Superseded()
            comment_url = posted.url
        if job.kind == "push":
            self._record_schedule(job, outcome)
        if job.kind == "schedule":
            self._alert(job, client, outcome)
        else:
            self._complete_checks(job, checks, outcome)
        self._finish(
            job, "done", started, verdict=outcome.verdict, comment_url=comment_url, suite=outcome.suite
        )

    def _complete_checks(self, job: Job, checks: CheckRuns, outcome: ReviewOutcome) -> None:
        from llmops_action.core.statuses import describe

        accepted = self.state.get(accept_key(job.repo, job.pr, job.head_sha))
        for fam in FAMILIES:
            status = outcome.families.get(fam, "skipped")
            gates = [g for g in outcome.gates if g.family == fam]
            conclusion = CONCLUSION[status]
            title = describe(fam, status, gates)
            if outcome.verdict == "incomplete":
                conclusion, title = "failure", f"llmops {fam}: run incomplete (provider or judge errors)"
            elif fam == "regression" and conclusion == "failure" and accepted:
                a = json.loads(accepted)
                conclusion, title = "success", render("accepted.md.j2", **a).strip()
            annotations = outcome.annotations if fam == "quality" else None
            checks.complete(fam, conclusion, title, outcome.comment or title, annotations=annotations)

    def _record_schedule(self, job: Job, outcome: ReviewOutcome) -> None:
        key = f"schedule:{job.repo}"
        if outcome.schedule:
            entry = {"repo": job.repo, "installation_id": job.installation_id, "branch": job.base_ref}
            self.state.set(key, json.dumps({**entry, "cron": outcome.schedule}))
        else:
            self.state.delete(key)

    def _alert(self, job: Job, client: GitHubClient, outcome: ReviewOutcome) -> None:
        from llmops_action.alerts.schedule import issue_marker as alert_marker

        marker = alert_marker(outcome.suite or "default")
        failing = [f for f in ("quality", "regression") if outcome.families.get(f) == "fail"]
        branch = job.base_ref or "the default branch"
        if failing:
            title = f"llmops: {', '.join(failing)} gate failed on {branch} ({outcome.suite})"
            client.upsert_issue(marker, title, outcome.comment or title)
        else:
            client.close_issue(marker, f"The scheduled evaluation at `{job.head_sha[:12]}` passes again.")

    def _finish(self, job: Job, state: str, started: float, **fields: Any) -> None:
        now = time.time()
        J.update(self.state, job, state=state, finished=now, duration=now - started, **fields)


def _safe(exc: BaseException) -> str:
    """What a check run may say about an error: our own errors' message (they never carry a token), or
    only the first line of anything else, which keeps stack noise and library internals out."""
    from llmops_action.errors import LlmopsError

    if isinstance(exc, LlmopsError):
        return exc.message[:1000]
    return str(exc).splitlines()[0][:300] if str(exc) else ""


def reap(state: State, settings: BotSettings, enqueue: Any, now: float | None = None) -> list[str]:
    """Queue again the jobs whose worker died (running, lease gone) or whose queue message was lost."""
    now = time.time() if now is None else now
    requeued = []
    stale_queued = 5 * settings.lease_seconds
    for data in [*state.jobs(state="running", limit=1000), *state.jobs(state="queued", limit=1000)]:
        if state.holder(f"job:{data['id']}") is not None:
            continue
        since = data.get("started") or data["created"]
        if data["state"] == "running" and now - since < settings.lease_seconds:
            continue
        if data["state"] == "queued" and now - data["created"] < stale_queued:
            continue
        # One reaper per attempt: two workers noticing the same dead job queue it once.
        if not state.set_if_absent(
            f"reaped:{data['id']}:{data.get('attempts', 0)}:{data['state']}", str(now)
        ):
            continue
        job = Job.from_dict(data)
        J.update(state, job, state="queued", created=now if data["state"] == "queued" else data["created"])
        enqueue(job.id)
        requeued.append(job.id)
    return requeued
