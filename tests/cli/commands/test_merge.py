from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.cli.main import main
from llmops_action.core.results import RunResult
from tests.engine.test_merge import CONFIG, config, split, whole
from tests.support.h6 import write


def shard_files(tmp_path: Path, n: int = 3, score_min: float = 0.1, **kw: object) -> tuple[Path, list[str]]:
    cfg_path = write(tmp_path / ".llmops.yml", CONFIG % score_min)
    files = []
    for i, shard in enumerate(split(whole(config(score_min), **kw), n), 1):
        files.append(str(shard.write(tmp_path / f"shard-{i}" / "results.json")))
    return cfg_path, files


def test_merge_writes_one_results_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, files = shard_files(tmp_path)
    out = tmp_path / "merged"
    assert main(["merge", *files, "--out", str(out), "--config", str(cfg)]) == 0
    merged = RunResult.read(out / "results.json")
    assert merged.counts.cases == 40 and merged.run.shard is None
    assert "merged 3 shard(s): 40 cases, 0 errors, verdict pass" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]  # no temp file left behind


def test_merge_exit_1_when_a_gate_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, files = shard_files(tmp_path, score_min=0.99)
    assert main(["merge", *files, "--out", str(tmp_path / "m"), "--config", str(cfg)]) == 1
    assert "gate failed: quality/score>=0.99" in capsys.readouterr().out


def test_merge_exit_3_when_a_shard_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, files = shard_files(tmp_path)
    out = tmp_path / "m"
    assert main(["merge", files[0], files[2], "--out", str(out), "--config", str(cfg)]) == 3
    assert "2/3 missing" in capsys.readouterr().err
    assert not out.exists()


def test_merge_exit_2_names_the_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, files = shard_files(tmp_path)
    data = json.loads(Path(files[1]).read_text())
    data["run"]["dataset_hash"] = "changed"
    Path(files[1]).write_text(json.dumps(data))
    assert main(["merge", *files, "--out", str(tmp_path / "m"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert files[1] in err and "dataset_hash" in err

    Path(files[1]).write_text("{not json")
    assert main(["merge", *files, "--out", str(tmp_path / "m"), "--config", str(cfg)]) == 2
    assert files[1] in capsys.readouterr().err


def test_merge_requires_out(tmp_path: Path) -> None:
    cfg, files = shard_files(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["merge", *files, "--config", str(cfg)])
    assert exc.value.code == 2
