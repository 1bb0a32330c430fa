"""Run the bot for real: `llmops-action serve` under uvicorn and `llmops-action worker` as processes on
127.0.0.1, fed deliveries signed the way GitHub signs them, against the fake GitHub App API and the fake
Gemini server. Payloads come from ../shared/fixtures/github-webhooks/, edited where a field must change.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops_action.bot.signature import sign
from tests.support.github_app import INSTALLATION_ID
from tests.support.github_server import load_payload
from tests.support.pr_project import CAPITALS, INSTRUCTION

SECRET = "webhook-secret-current"
PREVIOUS_SECRET = "webhook-secret-previous"
GEMINI_KEY = "AIza-bot-test-key-never-leaks"
OPERATOR_TOKEN = "operator-token-for-tests"
HEAD = "a" * 40
BASE = "b" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")


# -- the project a repository holds (data only: a gemini provider) ------------------------------------


def prompt_yaml(version: str = "1.0.0", *, instruction: bool = True) -> str:
    system = "You are a geography assistant. " + (INSTRUCTION if instruction else "Be friendly.")
    return (
        f"name: answer\nversion: {version}\ndescription: Answer geography questions\n"
        "variables:\n  - {name: country, type: string, required: true}\n"
        f"system: |\n  {system}\n"
        "template: |\n  What is the capital of {{ country }}?\n"
    )


def config_yaml(provider: str = "gemini", extra: str = "") -> str:
    line = {
        "gemini": "provider: {type: gemini, model: gemini-2.5-flash}",
        "python": "provider: {type: python, function: 'app:answer'}",
        "command": "provider: {type: command, command: 'python app.py'}",
    }[provider]
    return f"""suite: capitals
prompts: [prompts]
datasets: [cases.jsonl]
{line}
metrics:
  - {{type: keyword_recall, weight: 1.0}}
gates:
  absolute:
    - {{metric: error_rate, max: 0.0}}
  regression:
    metrics: [score]
concurrency: 8
{extra}"""


def write_repo(
    folder: Path,
    *,
    version: str = "1.0.0",
    instruction: bool = True,
    provider: str = "gemini",
    extra: str = "",
    cases: int = 12,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts").mkdir(exist_ok=True)
    (folder / "prompts" / "answer.yml").write_text(
        prompt_yaml(version, instruction=instruction), encoding="utf-8"
    )
    lines = [
        json.dumps({"id": f"cap-{i:02d}", "prompt": "answer", "vars": {"country": c}, "keywords": [cap]})
        for i, (c, cap) in enumerate(list(CAPITALS.items())[:cases])
    ]
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / ".llmops.yml").write_text(config_yaml(provider, extra), encoding="utf-8")
    return folder


def geography_model(body: dict[str, Any], model: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The fake Gemini answering like the app: it names the capital only when the system prompt asks."""
    from tests.support.gemini_server import (
        default_handler,
        has_schema,
        request_system,
        request_text,
        response_body,
    )

    if has_schema(body):
        return default_handler(body, model)
    text, system = request_text(body), request_system(body)
    country = next((c for c in CAPITALS if c in text), "Nowhere")
    answer = (
        f"The capital of {country} is {CAPITALS[country]}."
        if "name the capital" in system
        else f"{country} is a lovely country with a rich history."
    )
    return 200, response_body(answer, prompt_tokens=12, output_tokens=9, model_version=model), {}


# -- deliveries ------------------------------------------------------------------------------------------


def pull_request_payload(
    action: str = "opened",
    *,
    number: int = 7,
    head: str = HEAD,
    base: str = BASE,
    repo: str = "octo-org/llmops-demo",
    head_repo: str | None = None,
) -> dict[str, Any]:
    name = "synchronize.payload.json" if action == "synchronize" else "opened.payload.json"
    p = copy.deepcopy(load_payload("pull_request", name))
    p["action"] = action
    p["number"] = number
    pr = p["pull_request"]
    pr["number"] = number
    pr["head"]["sha"], pr["base"]["sha"], pr["base"]["ref"] = head, base, "main"
    pr["head"]["repo"]["full_name"] = head_repo or repo
    pr["base"]["repo"]["full_name"] = repo
    p["repository"]["full_name"] = repo
    p["repository"]["default_branch"] = "main"
    p["installation"] = {"id": INSTALLATION_ID, "node_id": p.get("installation", {}).get("node_id", "")}
    return p


def comment_payload(
    body: str, *, number: int = 7, login: str = "writer", user_type: str = "User", comment_id: int = 555
) -> dict[str, Any]:
    p = copy.deepcopy(load_payload("issue_comment", "created.on-pull-request.payload.json"))
    p["issue"]["number"] = number
    p["comment"].update(body=body, id=comment_id)
    p["comment"]["user"].update(login=login, type=user_type)
    p["sender"].update(login=login, type=user_type)
    p["repository"]["full_name"] = "octo-org/llmops-demo"
    p["installation"] = {"id": INSTALLATION_ID}
    return p


@dataclass
class Delivery:
    status: int
    body: dict[str, Any]
    seconds: float


def deliver(
    url: str,
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    secret: str | None = SECRET,
    delivery: str | None = None,
    signature: str | None = None,
    body: bytes | None = None,
) -> Delivery:
    raw = (
        body
        if body is not None
        else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    )
    # `signature` given: sent as is (a wrong one, or one made over other bytes); else signed with `secret`.
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
    }
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret, raw)
    req = urllib.request.Request(f"{url}/webhook", data=raw, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, text = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read()
    return Delivery(status, json.loads(text or b"{}"), time.perf_counter() - started)


def get(url: str, *, headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# -- processes -------------------------------------------------------------------------------------------


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    url: str = ""
    log: Path | None = None

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log else ""


@dataclass
class BotEnv:
    tmp: Path
    api_url: str
    private_key: str
    gemini_url: str
    redis_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.tmp / "data"

    def env(self) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "LLMOPS_", "GEMINI", "REDIS"))
        }
        env.update(
            GITHUB_APP_ID="424242",
            GITHUB_APP_PRIVATE_KEY=self.private_key,
            GITHUB_WEBHOOK_SECRET=SECRET,
            GITHUB_WEBHOOK_SECRET_PREVIOUS=PREVIOUS_SECRET,
            GITHUB_API_URL=self.api_url,
            GEMINI_API_KEY=GEMINI_KEY,
            GOOGLE_GEMINI_BASE_URL=self.gemini_url,
            LLMOPS_DATA_DIR=str(self.data_dir),
            LLMOPS_OPERATOR_TOKEN=OPERATOR_TOKEN,
            LLMOPS_GITHUB_THROTTLE="false",
            LLMOPS_JOB_LEASE_SECONDS="3",
            LLMOPS_REAP_INTERVAL_SECONDS="0.5",
            PYTHONUNBUFFERED="1",
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra)
        return env

    def _spawn(self, args: list[str], name: str) -> Proc:
        log = self.tmp / f"{name}-{len(self.procs)}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", "llmops_action", *args],
            env=self.env(),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
        )
        proc = Proc(popen, log=log)
        self.procs.append(proc)
        return proc

    def serve(self) -> Proc:
        port = free_port()
        proc = self._spawn(["serve", "--host", "127.0.0.1", "--port", str(port)], "serve")
        proc.url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if proc.popen.poll() is not None:
                raise AssertionError(f"serve exited: {proc.output()}")
            try:
                return get(f"{proc.url}/healthz")[0] == 200
            except OSError:
                return False

        wait_for(up, timeout=30)
        return proc

    def worker(self) -> Proc:
        return self._spawn(["worker"], "worker")

    def close(self) -> None:
        for p in self.procs:
            p.stop()
