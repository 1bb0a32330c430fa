"""worker: run the bot's queued jobs (needs the `bot` extra)."""

from __future__ import annotations

import argparse


def _worker(args: argparse.Namespace) -> int:
    import logging

    from llmops_action.cli.commands.serve import require_bot_extra

    require_bot_extra()
    from llmops_action.bot.queue import run_worker
    from llmops_action.bot.settings import BotSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("httpx", "httpx2", "google_genai", "alembic", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # one line per model call drowns the job log
    run_worker(BotSettings.from_env(), workers=args.threads)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command

    p = add_command(
        sub,
        "worker",
        """Take the bot's jobs from the queue and run them (evaluate, comment, check runs).

Run as many as you like, on as many machines as share the queue: SQLite under LLMOPS_DATA_DIR by default
(one machine), Redis when REDIS_URL is set. Needs GITHUB_APP_ID and the App's private key.

Example:
  REDIS_URL=redis://queue:6379/0 llmops-action worker --threads 2""",
    )
    p.add_argument("--threads", type=int, default=1, help="jobs run at once in this process (default: 1)")
    p.set_defaults(handler=_worker)
