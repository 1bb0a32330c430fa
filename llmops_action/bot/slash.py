"""`/llmops rerun | accept REASON | help` in a PR comment, for users with write access or more.

The permission is read through the API (repos/get-collaborator-permission-level: `admin`, `write`,
`read` or `none`; `maintain` shows as `write`). Anyone else gets a short reply and nothing else happens.
Replies carry a marker naming the comment they answer, so running the command job twice replies once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmops_action.bot import jobs as J
from llmops_action.bot.checks import CheckRuns
from llmops_action.bot.jobs import Job
from llmops_action.bot.messages import render

if TYPE_CHECKING:
    from llmops_action.bot.execute import Executor

WRITERS = ("admin", "write")
_COMMAND = re.compile(r"^\s*/llmops(?:\s+(?P<name>\S+))?(?:[ \t]+(?P<rest>.*))?$", re.M)


@dataclass(frozen=True)
class Command:
    name: str  # rerun | accept | help | unknown words fall back to help
    argument: str = ""


def parse(body: str) -> Command | None:
    """The first `/llmops ...` line of a comment, or None."""
    m = _COMMAND.search(body or "")
    if m is None:
        return None
    name = (m["name"] or "help").lower()
    if name not in ("rerun", "accept", "help"):
        name = "help"
    return Command(name, (m["rest"] or "").strip())


def reply_marker(comment_id: int) -> str:
    return f"<!-- llmops-action:reply comment={int(comment_id)} -->"


def run_command(ex: Executor, job: Job) -> None:
    import time

    cmd = job.command or {}
    started = time.time()
    J.update(ex.state, job, state="running", started=started, attempts=job.attempts + 1, worker=ex.worker_id)
    client = ex.client(job)
    number = int(job.pr or 0)
    user = str(cmd["user"])
    marker = reply_marker(int(cmd["comment_id"]))
    command = Command(str(cmd["name"]), str(cmd.get("argument") or ""))
    permission = client._call("read", lambda: client._repo.get_collaborator_permission(user))
    verdict = command.name
    if permission not in WRITERS:
        client.upsert_comment(
            number, render("denied.md.j2", marker=marker, command=command.name, permission=permission), marker
        )
        verdict = "denied"
    elif command.name == "help":
        client.upsert_comment(number, render("help.md.j2", marker=marker), marker)
    elif command.name == "rerun":
        pull = client.pull(number)
        ex.submit(_pr_job(job, pull), force=True)
    elif command.name == "accept":
        if not command.argument:
            client.upsert_comment(number, render("no_reason.md.j2", marker=marker), marker)
            verdict = "no-reason"
        else:
            pull = client.pull(number)
            _accept(ex, job, client, pull.head_sha, user, command.argument)
    now = time.time()
    J.update(ex.state, job, state="done", verdict=verdict, finished=now, duration=now - started)


def _pr_job(job: Job, pull: object) -> Job:
    return Job(
        kind="pr",
        repo=job.repo,
        installation_id=job.installation_id,
        head_sha=pull.head_sha,  # type: ignore[attr-defined]
        pr=job.pr,
        base_sha=pull.base_sha,  # type: ignore[attr-defined]
        base_ref=pull.base_ref,  # type: ignore[attr-defined]
        head_repo=pull.head_repo,  # type: ignore[attr-defined]
        config_path=job.config_path,
        reason="rerun",
    )


def _accept(ex: Executor, job: Job, client: object, sha: str, user: str, reason: str) -> None:
    """Record the acceptance for this head sha and turn its regression check green with who and why."""
    from llmops_action.bot.execute import accept_key

    # The reason is untrusted text: one line, no mention that pings anyone.
    reason = " ".join(reason.split())[:300].replace("@", "@\u200b")
    ex.state.set(accept_key(job.repo, job.pr, sha), json.dumps({"user": user, "reason": reason}))
    checks = CheckRuns(client, sha, app_id=ex.settings.app_id, known={})  # type: ignore[arg-type]
    if checks._find("regression") is not None:
        text = render("accepted.md.j2", user=user, reason=reason).strip()
        checks.complete("regression", "success", text, f"{text}\n\nRecorded for head `{sha}`.")
