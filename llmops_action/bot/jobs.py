"""Jobs: one per (repository, PR, head sha, suite config), the newest head of a PR superseding older ones.

A job is a small JSON record in the shared state; the queue carries only its id. Submitting the same key
again while it is queued or running does nothing (GitHub sends `opened` and a check-suite event for one
push); `force` (a rerun) queues a finished job again.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from llmops_action.bot.state import State

Kind = Literal["pr", "push", "schedule", "command"]
ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "superseded", "refused")


@dataclass
class Job:
    kind: Kind
    repo: str
    installation_id: int
    head_sha: str
    pr: int | None = None
    base_sha: str | None = None
    base_ref: str | None = None
    head_repo: str | None = None
    config_path: str = ".llmops.yml"
    suite: str | None = None
    reason: str = "event"
    command: dict[str, Any] | None = None  # kind == "command": the parsed slash command and who sent it
    id: str = ""
    state: str = "queued"
    verdict: str | None = None
    attempts: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    duration: float | None = None
    comment_url: str | None = None
    check_runs: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    worker: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            if self.kind == "command":
                self.id = "cmd-" + uuid.uuid4().hex[:16]
            else:
                self.id = job_id(self.repo, self.pr, self.head_sha, self.config_path, self.kind)

    @property
    def pr_key(self) -> str:
        return f"latest:{self.repo}#{self.pr}:{self.config_path}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def job_id(repo: str, pr: int | None, sha: str, config_path: str, kind: str) -> str:
    key = f"{kind}|{repo}|{pr}|{sha}|{config_path}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def submit(state: State, job: Job, *, force: bool = False) -> bool:
    """Record the job as queued; True when the caller must enqueue it, False when it already is."""
    existing = state.job(job.id)
    if existing is not None:
        if existing["state"] in ACTIVE:
            return False
        if not force and existing["state"] in ("done", "refused"):
            return False
        job.attempts = existing.get("attempts", 0)
        job.check_runs = existing.get("check_runs", {})
    if job.pr is not None and job.kind == "pr":
        state.set(job.pr_key, job.id)  # before saving: a worker that reads it sees the newest head
    job.state, job.created = "queued", time.time()
    job.started = job.finished = job.duration = None
    state.save_job(job.to_dict())
    return True


def is_superseded(state: State, job: Job) -> bool:
    if job.kind != "pr" or job.pr is None:
        return False
    latest = state.get(job.pr_key)
    return latest is not None and latest != job.id


def update(store: State, job: Job, /, **fields: Any) -> Job:
    for k, v in fields.items():
        setattr(job, k, v)
    store.save_job(job.to_dict())
    return job
