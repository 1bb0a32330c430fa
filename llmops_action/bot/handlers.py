"""What the bot does for each webhook, in one visible table (probot's `app.on([...], handler)`).

A handler runs inside the webhook request, so it only reads the payload and queues work: nothing here
calls GitHub. Each gets a Context with the payload and helpers that fill in repository and installation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmops_action.bot.jobs import Job
from llmops_action.bot.queue import BotQueue
from llmops_action.bot.slash import parse

ZERO_SHA = "0" * 40


@dataclass
class Context:
    event: str
    action: str | None
    delivery: str
    payload: dict[str, Any]
    queue: BotQueue

    @property
    def repo(self) -> str:
        return str((self.payload.get("repository") or {}).get("full_name") or "")

    @property
    def installation_id(self) -> int:
        return int((self.payload.get("installation") or {}).get("id") or 0)

    def job(self, **fields: Any) -> Job:
        """A job of this repository and installation: `context.job(kind=..., head_sha=...)`."""
        fields.setdefault("config_path", self.queue.settings.config_path)
        return Job(repo=self.repo, installation_id=self.installation_id, **fields)

    def submit(self, job: Job, *, force: bool = False) -> str:
        return "accepted" if self.queue.submit(job, force=force) else "duplicate"


Handler = Callable[[Context], str]  # returns the delivery's result: accepted | duplicate | ignored
HANDLERS: dict[str, Handler] = {}


def on(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = fn
        return fn

    return register


def route(event: str, payload: dict[str, Any]) -> Handler | None:
    action = payload.get("action")
    return HANDLERS.get(f"{event}.{action}") or HANDLERS.get(event)


# -- the table ---------------------------------------------------------------------------------------


@on("pull_request.opened", "pull_request.synchronize", "pull_request.reopened")
def evaluate_pull_request(ctx: Context) -> str:
    pr = ctx.payload["pull_request"]
    return ctx.submit(_pr_job(ctx, pr, reason=f"pull_request.{ctx.action}"))


@on("push")
def save_baseline(ctx: Context) -> str:
    p = ctx.payload
    default = (p.get("repository") or {}).get("default_branch")
    if p.get("deleted") or p.get("after") in (None, ZERO_SHA) or p.get("ref") != f"refs/heads/{default}":
        return "ignored"  # baselines come from the default branch only
    return ctx.submit(ctx.job(kind="push", head_sha=p["after"], base_ref=default, reason="push"))


@on("check_run.rerequested", "check_suite.rerequested")
def rerun_checks(ctx: Context) -> str:
    thing = ctx.payload.get("check_run") or ctx.payload.get("check_suite") or {}
    pulls = thing.get("pull_requests") or (thing.get("check_suite") or {}).get("pull_requests") or []
    results = []
    for pr in pulls:
        # The check's pull_requests entries carry head and base sha and ref (not the fork's repo name).
        results.append(ctx.submit(_pr_job(ctx, pr, reason="rerequested"), force=True))
    return "accepted" if "accepted" in results else ("duplicate" if results else "ignored")


@on("issue_comment.created")
def slash_command(ctx: Context) -> str:
    p = ctx.payload
    issue, comment = p.get("issue") or {}, p.get("comment") or {}
    user = comment.get("user") or {}
    if "pull_request" not in issue or user.get("type") == "Bot":
        return "ignored"  # a plain issue, or a bot (ourselves included)
    if user.get("login") == ctx.queue.settings.bot_login:
        return "ignored"
    command = parse(comment.get("body") or "")
    if command is None:
        return "ignored"
    job = ctx.job(
        kind="command",
        head_sha="",
        pr=int(issue["number"]),
        reason=f"/llmops {command.name}",
        command={
            "name": command.name,
            "argument": command.argument,
            "user": user.get("login"),
            "comment_id": comment.get("id"),
        },
    )
    return ctx.submit(job)


@on(
    "installation.created",
    "installation.deleted",
    "installation.suspend",
    "installation.unsuspend",
    "installation.new_permissions_accepted",
    "installation_repositories.added",
    "installation_repositories.removed",
)
def record_installation(ctx: Context) -> str:
    """Recorded only: nothing is evaluated until a repository has a config (its first PR or push)."""
    p = ctx.payload
    inst = p.get("installation") or {}
    key = f"installation:{inst.get('id')}"
    known = json.loads(ctx.queue.state.get(key) or "{}")
    repos = set(known.get("repositories", []))
    repos |= {r["full_name"] for r in p.get("repositories", []) or []}
    repos |= {r["full_name"] for r in p.get("repositories_added", []) or []}
    repos -= {r["full_name"] for r in p.get("repositories_removed", []) or []}
    record = {
        "id": inst.get("id"),
        "account": (inst.get("account") or {}).get("login"),
        "state": "deleted" if ctx.action == "deleted" else (ctx.action or "created"),
        "repositories": sorted(repos),
        "updated": time.time(),
    }
    ctx.queue.state.set(key, json.dumps(record))
    return "accepted"


def _pr_job(ctx: Context, pr: dict[str, Any], *, reason: str) -> Job:
    head, base = pr.get("head") or {}, pr.get("base") or {}
    return ctx.job(
        kind="pr",
        head_sha=head["sha"],
        pr=int(pr["number"]),
        base_sha=base.get("sha"),
        base_ref=base.get("ref"),
        head_repo=(head.get("repo") or {}).get("full_name"),
        reason=reason,
    )
