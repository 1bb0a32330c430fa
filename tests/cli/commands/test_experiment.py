"""`llmops-action experiment ...`: from a draft to a winner active in the prompt registry."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from llmops_action.adapters.registry import load_entry
from llmops_action.cli.main import main
from llmops_action.experiments import assign, load_experiment
from tests.adapters.test_tracking_prompts import production
from tests.support.h6 import make_project

EXPERIMENT = """
experiments:
  - name: greet-v2
    prompt: greet
    variants:
      control: {version: 1.0.0}
      treatment: {version: 1.1.0}
    metric: {name: thumbs_up, type: rate}
    guardrails:
      - {name: latency_ms, type: continuous, direction: decrease, tolerance: 50}
    planned_samples: 500
"""


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = make_project(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + EXPERIMENT, encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def feedback(cfg: str, path: Path, n: int, p_control: float, p_treatment: float) -> Path:
    exp = load_experiment(cfg, "greet-v2")
    rnd = random.Random(4)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            unit = f"user-{i}"
            variant = assign(exp, unit)
            up = rnd.random() < (p_treatment if variant == "treatment" else p_control)
            for metric, value in (("thumbs_up", int(up)), ("latency_ms", rnd.gauss(800, 80))):
                f.write(
                    json.dumps(
                        {
                            "unit_id": unit,
                            "variant": variant,
                            "metric": metric,
                            "value": value,
                            "time": 1.7e9 + i,
                        }
                    )
                    + "\n"
                )
    return path


def test_an_experiment_from_draft_to_a_winner_in_the_registry(
    cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(capsys, "experiment", "assign", "greet-v2", "user-1", "--config", cfg)[1].split("\t")[1]
        == "control"
    )
    code, out, _ = run(capsys, "experiment", "start", "greet-v2", "--config", cfg, "--by", "ada")
    assert code == 0 and "draft -> running" in out
    path = feedback(cfg, tmp_path / "fb.jsonl", 3000, 0.50, 0.60)
    code, out, _ = run(capsys, "experiment", "import", "greet-v2", str(path), "--config", cfg)
    assert code == 0 and "imported 6000 outcome record(s)" in out

    code, out, _ = run(capsys, "experiment", "results", "greet-v2", "--config", cfg)
    assert code == 0
    assert "treatment = greet@1.1.0" in out and "split check (SRM)" in out and ": pass" in out
    assert "decision: winner -> treatment" in out and "boundary crossed at" in out
    assert "fixed-n (two-proportion z-test, Newcombe interval)" in out and "fixed-n (Welch's t-test)" in out

    code, out, _ = run(capsys, "experiment", "results", "greet-v2", "--config", cfg, "--json")
    data = json.loads(out)
    assert data["decision"] == "winner" and data["primary"]["arms"]["treatment"]["n"] > 1000

    code, out, _ = run(
        capsys, "experiment", "complete", "greet-v2", "--winner", "treatment", "--config", cfg, "--by", "ada"
    )
    assert code == 0 and "greet@1.1.0 is now active" in out
    root = Path(cfg).parent
    # MLflow's prompt registry follows the activation: `production` names the winner's version.
    assert "alias 'production' -> version" in out
    assert production(f"sqlite:///{root / '.llmops' / 'mlflow.db'}", "greet") == "1.1.0"
    entry = load_entry(root, "greet")
    assert entry.active == "1.1.0" and "experiment greet-v2" in entry.log[-1].note
    assert all(assign(load_experiment(cfg, "greet-v2"), f"u{i}") == "treatment" for i in range(50))
    code, _, err = run(capsys, "experiment", "pause", "greet-v2", "--config", cfg)
    assert code == 2 and "completed: it cannot become paused" in err


def test_results_keep_running_while_the_sample_is_small(
    cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "experiment", "start", "greet-v2", "--config", cfg)
    path = feedback(cfg, tmp_path / "fb.jsonl", 150, 0.5, 0.5)
    code, out, _ = run(capsys, "experiment", "results", "greet-v2", "--config", cfg, "--outcomes", str(path))
    assert code == 0 and "decision: keep-running" in out and "units per variant so far" in out
    assert "fixed-n: shown once each variant has 500 units" in out


def test_an_unknown_experiment_is_bad_input(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "experiment", "results", "greet-v3", "--config", cfg)
    assert code == 2 and "no experiment named 'greet-v3'" in err and "did you mean 'greet-v2'" in err


def test_list_shows_state_and_split(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "experiment", "list", "--config", cfg, "--json")
    assert code == 0 and json.loads(out)[0] | {"split": None} == {
        "name": "greet-v2",
        "state": "draft",
        "winner": None,
        "control": "greet@1.0.0",
        "treatment": "greet@1.1.0",
        "split": None,
    }


def test_notify_sends_an_srm_alert_once_while_it_stays_open(
    cfg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.alert_receiver import AlertReceiver

    config = Path(cfg)
    config.write_text(
        config.read_text(encoding="utf-8") + "alerts:\n  sinks: [{type: webhook, url_env: TEST_HOOK}]\n",
        encoding="utf-8",
    )
    run(capsys, "experiment", "start", "greet-v2", "--config", cfg)
    path = feedback(cfg, tmp_path / "fb.jsonl", 2000, 0.5, 0.5)
    # drop a third of the treatment's units: the split no longer matches the configured 50/50
    records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    kept = [
        r for r in records if not (r["variant"] == "treatment" and int(r["unit_id"].split("-")[1]) % 3 == 0)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    with AlertReceiver() as rx:
        monkeypatch.setenv("TEST_HOOK", rx.url)
        for _ in range(2):
            code, out, err = run(
                capsys,
                "experiment",
                "results",
                "greet-v2",
                "--config",
                cfg,
                "--outcomes",
                str(path),
                "--notify",
            )
            assert code == 0 and "decision: invalid" in out and "FAIL" in out
    (got,) = rx.requests
    alert = json.loads(got.body)["alert"]
    assert (alert["type"], alert["severity"], alert["dedupe_key"]) == (
        "experiment",
        "critical",
        "experiment:greet-v2:srm",
    )
    assert "alert webhook: skipped: already open" in err
