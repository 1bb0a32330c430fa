"""`llmops-action eval`: exit codes, the summary, results.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.cli.main import main
from tests.support.eval_workspace import make_workspace
from tests.support.gemini_server import GeminiServer

JUDGE = {"type": "judge", "criterion": "answer_relevance", "weight": 1.0}


def run(root: Path, *extra: str) -> int:
    return main(
        ["eval", "--config", str(root / ".llmops.yml"), "--out", str(root / "out"), "--no-progress", *extra]
    )


def test_pass_prints_summary_and_writes_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_workspace(tmp_path, metrics=[{"type": "contains", "value": "42", "weight": 1.0}, JUDGE])
    assert run(tmp_path) == 0
    out = capsys.readouterr().out
    assert "contains" in out and "1.000" in out
    assert "answer_relevance: skipped: no judge credentials" in out
    assert f"results: {tmp_path / 'out' / 'results.json'}" in out
    assert "verdict: pass" in out
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["schema_version"] == 1 and len(data["cases"]) == 5


def test_failed_gate_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_workspace(tmp_path, extra={"gates": {"absolute": [{"metric": "latency_p95_ms", "max": 0.0}]}})
    assert run(tmp_path) == 1
    assert "[FAIL]" in capsys.readouterr().out


def test_bad_config_exits_2_and_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_workspace(tmp_path, extra={"concurency": 3})
    assert run(tmp_path) == 2
    err = capsys.readouterr().err
    assert "concurency" in err and "concurrency" in err
    assert not (tmp_path / "out").exists()


def test_bad_shard_exits_2(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    assert run(tmp_path, "--shard", "4/3") == 2


def test_incomplete_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [{"id": f"c{i}", "prompt": "qa", "vars": {"question": "boom"}} for i in range(3)]
    make_workspace(tmp_path, cases=cases)
    assert run(tmp_path) == 3
    out = capsys.readouterr().out
    assert "errors (3 cases)" in out and "RuntimeError" in out and "verdict: incomplete" in out


def test_gemini_key_from_environment_runs_the_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with GeminiServer() as server:
        monkeypatch.setenv("GEMINI_API_KEY", "k-from-env")
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
        make_workspace(
            tmp_path, n_cases=2, provider={"type": "gemini", "model": "gemini-2.5-flash"}, metrics=[JUDGE]
        )
        assert run(tmp_path, "--shard", "1/1") == 0
        assert {r.headers["x-goog-api-key"] for r in server.requests} == {"k-from-env"}
        assert len(server.judge_requests()) == 2
    out = capsys.readouterr().out
    assert "answer_relevance" in out and "skipped" not in out
    assert "k-from-env" not in out
    assert "k-from-env" not in (tmp_path / "out" / "results.json").read_text()


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = capsys.readouterr().out
    assert "Example:" in out and "--no-cache" in out and "--shard" in out


def test_gate_lines_read_as_what_they_are(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gates = [{"metric": "keyword_recall", "min": 1.01}, {"metric": "contains", "min": 0.5, "blocking": False}]
    make_workspace(tmp_path, extra={"gates": {"absolute": gates}, "tracking": False})
    assert run(tmp_path) == 1
    out = capsys.readouterr().out
    assert "  [FAIL] quality/keyword_recall>=1.01: keyword_recall = 1 violates >= 1.01" in out
    assert "  [PASS] quality/contains>=0.5: contains = 1 meets >= 0.5" in out
