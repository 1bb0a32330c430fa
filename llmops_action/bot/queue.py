"""The durable queue (huey): SQLite under LLMOPS_DATA_DIR without REDIS_URL, Redis with it.

huey carries job ids only; the job records, leases and dedupe keys live in the shared state (state.py).
huey removes a message when a worker takes it, so a worker that dies mid-job would lose it: the lease
and the reaper (execute.reap) are what bring such a job back. Periodic work (the reaper, the continuous
evaluation schedule) runs in every worker, guarded so one worker does each round.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from huey import Huey, RedisHuey, crontab
from huey.exceptions import RetryTask
from huey.storage import SqliteStorage

from llmops_action.bot import jobs as J
from llmops_action.bot.jobs import Job
from llmops_action.bot.settings import BotSettings
from llmops_action.bot.state import State, open_state
from llmops_action.errors import UserInputError

log = logging.getLogger("llmops_action.bot")


class WalSqliteStorage(SqliteStorage):  # type: ignore[misc]
    """huey's SQLite storage with `synchronous=NORMAL`: in WAL mode a commit survives a crash of the
    process (what a worker restart is) without an fsync per enqueue, which at FULL costs ~10 ms a webhook.
    A power cut may lose the last commits; the reaper queues again any job left queued without a message."""

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


def parse_cron(expr: str) -> Any:
    """A 5-field cron expression (minute hour day month weekday, UTC) as huey's matcher."""
    fields = expr.split()
    if len(fields) != 5:
        raise UserInputError(f"schedule must have 5 cron fields, not {len(fields)}: {expr!r}", key="schedule")
    try:
        return crontab(*fields, strict=True)
    except ValueError as exc:
        raise UserInputError(f"schedule {expr!r} is not a cron expression ({exc})", key="schedule") from None


class BotQueue:
    def __init__(self, settings: BotSettings, state: State | None = None) -> None:
        self.settings = settings
        self.state = state or open_state(settings.data_dir, settings.redis_url)
        if settings.redis_url:
            self.backend = "redis"
            self.huey: Any = RedisHuey("llmops", url=settings.redis_url, utc=True)
        else:
            self.backend = "sqlite"
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self.huey = Huey(
                "llmops",
                storage_class=WalSqliteStorage,
                filename=str(settings.data_dir / "queue.db"),
                utc=True,
            )
        self.executor: Any = None  # set in worker processes only
        self._task = self.huey.task(name="run_job")(self._run_job)
        self.huey.periodic_task(crontab(), name="schedule_tick")(self._tick)

    # -- producing (server and workers) ----------------------------------------------------------------

    def enqueue(self, job_id: str) -> None:
        self._task(job_id)

    def submit(self, job: Job, *, force: bool = False) -> bool:
        if J.submit(self.state, job, force=force):
            self.enqueue(job.id)
            return True
        return False

    def size(self) -> int:
        return int(self.huey.pending_count())

    # -- consuming (workers) ---------------------------------------------------------------------------

    def _run_job(self, job_id: str) -> None:
        if self.executor is None:
            raise RuntimeError("no executor in this process: jobs run in `llmops-action worker`")
        busy = self.executor.run(job_id)
        if busy is not None:
            raise RetryTask(delay=busy.delay)  # the installation is at its bound; others keep flowing

    def _tick(self) -> None:
        """Each minute: queue the continuous evaluations whose cron matches (one worker per minute)."""
        now = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None)
        if not self.state.set_if_absent(f"tick:{now.isoformat()}", "1"):
            return
        for key in self.state.keys("schedule:"):
            raw = self.state.get(key)
            if raw:
                self.schedule_due(json.loads(raw), now)

    def schedule_due(self, entry: dict[str, Any], now: datetime) -> bool:
        try:
            due = parse_cron(entry["cron"])(now)
        except UserInputError:
            return False
        if not due or self.executor is None:
            return False
        client = self.executor.app.client(entry["installation_id"], entry["repo"])
        sha = client._call("read", lambda: client._repo.get_git_ref(f"heads/{entry['branch']}").object.sha)
        job = Job(
            kind="schedule",
            repo=entry["repo"],
            installation_id=int(entry["installation_id"]),
            head_sha=sha,
            base_ref=entry["branch"],
            config_path=self.settings.config_path,
            reason="schedule",
        )
        return self.submit(job, force=True)


def run_worker(settings: BotSettings, *, workers: int = 1) -> None:
    """The `llmops-action worker` process: huey's consumer plus the reaper thread."""
    import os
    import socket
    import uuid

    from llmops_action.bot.execute import Executor, reap
    from llmops_action.bot.github_app import GitHubApp

    settings.require_app()
    queue = BotQueue(settings)
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    queue.executor = Executor(settings, queue.state, GitHubApp(settings), worker_id, queue.submit)

    def reaper() -> None:
        while True:
            try:
                for job_id in reap(queue.state, settings, queue.enqueue):
                    log.warning("job %s lost its worker; queued again", job_id)
            except Exception:
                log.exception("reaper round failed")
            time.sleep(settings.reap_interval)

    threading.Thread(target=reaper, daemon=True, name="llmops-reaper").start()
    consumer = queue.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, backoff=1.05, max_delay=0.5
    )
    consumer.run()
