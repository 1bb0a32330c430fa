"""serve: the bot's webhook server (needs the `bot` extra)."""

from __future__ import annotations

import argparse

from llmops_action.errors import UserInputError

BOT_EXTRA_HINT = 'Install the bot service with: pip install "llmops-action[bot]"'


def require_bot_extra() -> None:
    try:
        import huey  # noqa: F401
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UserInputError(f"the bot service is not installed ({exc})", hint=BOT_EXTRA_HINT) from None


def _serve(args: argparse.Namespace) -> int:
    require_bot_extra()
    from llmops_action.bot.app import serve
    from llmops_action.bot.settings import BotSettings

    settings = BotSettings.from_env()
    settings.require_webhook_secret()  # refuse to start before binding the port
    serve(settings, args.host, args.port)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command

    p = add_command(
        sub,
        "serve",
        """Run the GitHub App's webhook server (POST /webhook, /healthz, /readyz, /metrics, /jobs).

Configuration comes from the environment (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY or
GITHUB_APP_PRIVATE_KEY_FILE, GITHUB_WEBHOOK_SECRET, GITHUB_WEBHOOK_SECRET_PREVIOUS, REDIS_URL,
LLMOPS_DATA_DIR, LLMOPS_OPERATOR_TOKEN; see the README's "Bot service" section). It refuses to start
without a webhook secret. Jobs run in `llmops-action worker`.

Example:
  GITHUB_WEBHOOK_SECRET=... llmops-action serve --host 0.0.0.0 --port 8080""",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to bind (default: 8080)")
    p.set_defaults(handler=_serve)
