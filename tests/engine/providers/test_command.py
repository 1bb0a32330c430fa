from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from llmops_action.engine.providers.base import ModelRequest
from llmops_action.engine.providers.command import CommandProvider
from llmops_action.errors import ProviderError

PY = sys.executable


def req() -> ModelRequest:
    case = {"id": "c1", "prompt": "qa", "vars": {"question": "2+2?"}}
    return ModelRequest(system="Be exact.", user="Question: 2+2?", case_id="c1", case=case)


def test_case_json_on_stdin_output_on_stdout(tmp_path: Path) -> None:
    (tmp_path / "echo_case.py").write_text(
        "import json, sys\nc = json.load(sys.stdin)\nprint(c['vars']['question'], '|', c['rendered']['user'])\n"
    )
    r = CommandProvider(f"{PY} echo_case.py", tmp_path).complete(req())
    assert r.text == "2+2? | Question: 2+2?"


def test_stdin_carries_the_whole_case(tmp_path: Path) -> None:
    r = CommandProvider(f"{PY} -c 'import sys; sys.stdout.write(sys.stdin.read())'", tmp_path).complete(req())
    payload = json.loads(r.text or "")
    assert payload["id"] == "c1" and payload["rendered"] == {"system": "Be exact.", "user": "Question: 2+2?"}


def test_non_zero_exit_reports_stderr_tail(tmp_path: Path) -> None:
    cmd = f'{PY} -c \'import sys; sys.stderr.write("x" * 2000 + "the real cause"); sys.exit(4)\''
    with pytest.raises(ProviderError) as e:
        CommandProvider(cmd, tmp_path).complete(req())
    assert not e.value.retryable
    assert "exited 4" in e.value.message and e.value.message.endswith("the real cause")
    assert len(e.value.message) < 600


def test_timeout_is_retryable(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="timed out") as e:
        CommandProvider(f"{PY} -c 'import time; time.sleep(5)'", tmp_path, timeout=0.3).complete(req())
    assert e.value.retryable
