"""A real `mlflow server` (full mlflow) on 127.0.0.1, started once per test session.

sqlite backend and an artifacts folder in a temporary directory; `--workers 1` keeps it light.
Startup takes 15-35 s (database migrations), so the fixture waits on `/health`.

Use it from a test module (or a conftest in a subfolder) with:

    from tests.support.mlflow_server import mlflow_server  # noqa: F401  (a fixture)
"""

from __future__ import annotations

import atexit
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class MlflowServer:
    uri: str  # http://127.0.0.1:<port>
    root: Path  # holds mlflow.db, the artifacts folder and server.log


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mlflow_cli() -> list[str]:
    exe = Path(sys.executable).with_name("mlflow")
    return [str(exe)] if exe.exists() else [shutil.which("mlflow") or "mlflow"]


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_mlflow_server(root: Path) -> tuple[MlflowServer, subprocess.Popen[bytes]]:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    cmd = [
        *_mlflow_cli(),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited ({proc.returncode}):\n{_tail(root / 'server.log')}")
        if _healthy(uri):
            return MlflowServer(uri=uri, root=root), proc
        time.sleep(0.5)
    stop_mlflow_server(proc)
    raise RuntimeError(
        f"mlflow server not healthy after {START_TIMEOUT_S:.0f} s:\n{_tail(root / 'server.log')}"
    )


def stop_mlflow_server(proc: subprocess.Popen[bytes]) -> None:
    # The server forks workers (uvicorn/gunicorn) in its own session: end that process group only.
    try:
        os.killpg(proc.pid, 15)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=5)


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


_SHARED: list[MlflowServer] = []


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One server per session even when several test modules import this fixture.

    Each importing module registers its own copy of a session fixture, so the server itself is kept
    here and stopped when the interpreter exits.
    """
    if not _SHARED:
        server, proc = start_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
        atexit.register(stop_mlflow_server, proc)
        _SHARED.append(server)
    yield _SHARED[0]


class _Always500(http.server.BaseHTTPRequestHandler):
    def _fail(self) -> None:
        body = b'{"error_code": "INTERNAL_ERROR", "message": "boom"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _fail

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def always_500_server() -> Iterator[str]:
    """A tracking URI whose server answers every request with HTTP 500."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Always500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
