"""POST /webhook on a real uvicorn server: verify first, then parse, then route; dedupe on the delivery id."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmops_action.bot.signature import sign
from tests.support.bot import PREVIOUS_SECRET, SECRET, BotEnv, deliver, get, pull_request_payload

pytestmark = pytest.mark.slow


def _metric(url: str, event: str, result: str) -> float:
    _, text = get(f"{url}/metrics")
    for line in text.splitlines():
        if line.startswith(f'llmops_webhook_deliveries_total{{event="{event}",result="{result}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_signatures_none_wrong_previous_and_one_byte_changed(bot: BotEnv) -> None:
    server = bot.serve()
    payload = pull_request_payload()
    raw = json.dumps(payload).encode()

    assert deliver(server.url, "pull_request", payload, secret=None).status == 401
    assert deliver(server.url, "pull_request", payload, secret="not-the-secret").status == 401
    changed = raw.replace(b'"opened"', b'"openeD"', 1)
    assert changed != raw and len(changed) == len(raw)
    assert (
        deliver(server.url, "pull_request", payload, body=changed, signature=sign(SECRET, raw)).status == 401
    )
    # nothing was queued by any of them
    assert (
        get(
            f"{server.url}/jobs",
            headers={"Accept": "application/json", "Authorization": "Bearer operator-token-for-tests"},
        )[1].count('"id"')
        == 0
    )

    rotated = deliver(server.url, "pull_request", payload, secret=PREVIOUS_SECRET)
    assert (rotated.status, rotated.body["result"]) == (202, "accepted")
    assert _metric(server.url, "pull_request", "rejected") == 3
    assert _metric(server.url, "pull_request", "accepted") == 1


def _announce_big_body(url: str, length: int) -> int:
    """Send only the headers of a body over GitHub's 25 MB cap: the server answers before reading it."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.putrequest("POST", "/webhook")
    conn.putheader("Content-Length", str(length))
    conn.putheader("X-GitHub-Event", "pull_request")
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status


def test_malformed_json_is_400_big_is_413_unknown_is_202_ignored(bot: BotEnv) -> None:
    server = bot.serve()
    assert deliver(server.url, "pull_request", b"{not json").status == 400
    assert _announce_big_body(server.url, 25 * 1024 * 1024 + 1) == 413
    ping = deliver(server.url, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert (ping.status, ping.body["result"]) == (202, "ignored")
    labeled = pull_request_payload("labeled")
    assert deliver(server.url, "pull_request", labeled).body["result"] == "ignored"
    assert _metric(server.url, "ping", "ignored") == 1


def test_a_redelivery_is_a_duplicate_even_after_a_restart(bot: BotEnv) -> None:
    server = bot.serve()
    payload = pull_request_payload()
    first = deliver(server.url, "pull_request", payload, delivery="d-1")
    assert (first.status, first.body["result"]) == (202, "accepted")
    server.stop()

    server = bot.serve()
    again = deliver(server.url, "pull_request", payload, delivery="d-1")
    assert (again.status, again.body["result"]) == (202, "duplicate")
    assert _metric(server.url, "pull_request", "duplicate") == 1
    # the same head under a new delivery id is the same job: not queued twice
    other = deliver(server.url, "pull_request", payload, delivery="d-2")
    assert other.body["result"] == "duplicate"


def test_installations_are_recorded_and_nothing_is_evaluated(bot: BotEnv) -> None:
    from llmops_action.bot.settings import BotSettings
    from llmops_action.bot.state import open_state
    from tests.support.github_server import load_payload

    server = bot.serve()
    created = load_payload("installation", "created.payload.json")
    assert deliver(server.url, "installation", created).body["result"] == "accepted"
    added = load_payload("installation_repositories", "added.payload.json")
    added["installation"]["id"] = created["installation"]["id"]
    assert deliver(server.url, "installation_repositories", added).body["result"] == "accepted"

    settings = BotSettings.from_env(bot.env())
    state = open_state(settings.data_dir, None)
    record = json.loads(state.get(f"installation:{created['installation']['id']}") or "{}")
    expected = {r["full_name"] for r in created["repositories"]} | {
        r["full_name"] for r in added["repositories_added"]
    }
    assert set(record["repositories"]) == expected - {r["full_name"] for r in added["repositories_removed"]}
    assert state.jobs() == []


def test_health_readiness_and_metrics(bot: BotEnv) -> None:
    server = bot.serve()
    assert get(f"{server.url}/healthz") == (200, "ok")
    status, body = get(f"{server.url}/readyz")
    assert status == 200, body
    ready = json.loads(body)
    assert ready["queue"]["backend"] == "sqlite" and ready["github"]["ok"] is True
    _, text = get(f"{server.url}/metrics")
    assert "llmops_jobs{" in text and "llmops_job_duration_seconds_bucket" in text


def test_the_server_refuses_to_start_without_a_secret(bot: BotEnv) -> None:
    env = {k: v for k, v in bot.env().items() if not k.startswith("GITHUB_WEBHOOK_SECRET")}
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_action", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "GITHUB_WEBHOOK_SECRET is not set" in proc.stderr
