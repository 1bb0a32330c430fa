"""`llmops-action drift`: PSI per feature between two JSONL samples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llmops_action.cli.main import main


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def production(
    rng: np.random.Generator, n: int, *, shift: float = 0.0, brazil: float = 0.0
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for _ in range(n):
        country = "br" if rng.random() < brazil else str(rng.choice(["fr", "de", "us"]))
        row: dict[str, object] = {
            "country": country,
            "propensity": float(rng.beta(2, 5)) + shift,
            "premium": bool(rng.random() < 0.3),
        }
        if rng.random() < 0.9:
            row["query_len"] = int(rng.integers(5, 200))
        rows.append(row)
    return rows


@pytest.fixture
def samples(tmp_path: Path) -> tuple[str, str, str]:
    rng = np.random.default_rng(0)
    ref = write_jsonl(tmp_path / "ref.jsonl", production(rng, 500))
    same = write_jsonl(tmp_path / "same.jsonl", production(rng, 400))
    moved = write_jsonl(tmp_path / "moved.jsonl", production(rng, 400, shift=0.15, brazil=0.2))
    return ref, same, moved


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_per_feature_for_an_unchanged_sample(
    samples: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ref, same, _ = samples
    code, out, _ = run(capsys, "drift", "--reference", ref, "--current", same)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["feature", "kind", "n", "ref", "n"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {"country", "premium", "propensity", "query_len"}
    assert all(" ok" in r for r in rows.values())
    assert "numeric" in rows["query_len"] and "categorical" in rows["premium"]


def test_moved_features_are_critical_and_exit_1_only_when_asked(
    samples: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ref, _, moved = samples
    code, out, _ = run(
        capsys, "drift", "--reference", ref, "--current", moved, "--features", "country,propensity", "--json"
    )
    assert code == 0
    signals = {s["signal"]: s for s in json.loads(out)}
    assert set(signals) == {"country", "propensity"}
    assert signals["country"]["status"] == "critical" and signals["country"]["top_bin"] == "br"
    assert signals["propensity"]["status"] == "critical" and signals["propensity"]["p_method"] == "chi2"
    code, _, _ = run(capsys, "drift", "--reference", ref, "--current", moved, "--fail-on-critical")
    assert code == 1


def test_thresholds_from_the_command_line(
    samples: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ref, _, moved = samples
    code, out, _ = run(
        capsys,
        "drift",
        "--reference",
        ref,
        "--current",
        moved,
        "--features",
        "propensity",
        "--critical",
        "50",
        "--warning",
        "0.1",
        "--json",
    )
    assert code == 0 and json.loads(out)[0]["status"] == "warning"
    code, _, err = run(
        capsys, "drift", "--reference", ref, "--current", moved, "--warning", "0.3", "--critical", "0.2"
    )
    assert code == 2 and "critical must be >= warning" in err


def test_bad_input_names_file_and_line(
    tmp_path: Path, samples: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ref = samples[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{"a": 2,}\n', encoding="utf-8")
    code, _, err = run(capsys, "drift", "--reference", ref, "--current", str(bad))
    assert code == 2 and f"{bad}:2: not JSON" in err
    bad.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    assert (
        "bad.jsonl:2: each line must be a JSON object"
        in run(capsys, "drift", "--reference", ref, "--current", str(bad))[2]
    )
    bad.write_text('{"a": {"nested": 1}}\n', encoding="utf-8")
    assert "bad.jsonl:1, key 'a'" in run(capsys, "drift", "--reference", ref, "--current", str(bad))[2]
    code, _, err = run(capsys, "drift", "--reference", ref, "--current", ref, "--features", "country,contry")
    assert code == 2 and "unknown feature(s) contry" in err
    code, _, err = run(capsys, "drift", "--reference", str(tmp_path / "nope.jsonl"), "--current", ref)
    assert code == 2 and "file not found" in err


def test_the_command_module_imports_nothing_heavy() -> None:
    code = "import sys, llmops_action.cli.commands.drift; print(sorted({'numpy', 'pydantic'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
