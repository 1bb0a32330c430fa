"""Assignment: documented hash, shipped test vectors, the split over 100,000 ids, stable across processes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from llmops_action.core.experiment_config import ExperimentConfig
from llmops_action.experiments import Experiment, assign, bucket
from tests.conftest import REPO

VECTORS = json.loads(
    resources.files("llmops_action.experiments").joinpath("assignment_vectors.json").read_text("utf-8")
)


def config(control: float = 50, treatment: float = 50, name: str = "exp") -> ExperimentConfig:
    return ExperimentConfig.model_validate(
        {
            "name": name,
            "variants": {"control": {"model": "a"}, "treatment": {"model": "b"}},
            "split": {"control": control, "treatment": treatment},
            "metric": {"name": "up", "type": "rate"},
        }
    )


def documented_bucket(name: str, unit: str) -> int:
    """The hash as the module docstring states it, written out again for another implementation to copy."""
    digest = hashlib.sha256((name + ":" + unit).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], byteorder="big", signed=False) % 10_000


@pytest.mark.parametrize("v", VECTORS["vectors"], ids=lambda v: f"{v['experiment']}:{v['unit_id']!r}")
def test_the_shipped_test_vectors_pass(v: dict[str, object]) -> None:
    name, unit = str(v["experiment"]), str(v["unit_id"])
    assert hashlib.sha256(f"{name}:{unit}".encode()).hexdigest() == v["sha256_hex"]
    assert bucket(name, unit) == documented_bucket(name, unit) == v["bucket"]
    bp = int(v["control_basis_points"])  # type: ignore[call-overload]
    cfg = config(bp, 10_000 - bp, name)
    assert cfg.split.basis_points()[0] == bp
    assert assign(cfg, unit) == v["variant"]


def test_the_vectors_cover_both_variants_and_awkward_ids() -> None:
    variants = {v["variant"] for v in VECTORS["vectors"]}
    ids = {v["unit_id"] for v in VECTORS["vectors"]}
    assert variants == {"control", "treatment"}
    assert {"", "a:b:c", "🙂"} <= ids


@pytest.mark.parametrize(("control", "treatment"), [(50, 50), (90, 10), (1, 2)])
def test_over_100000_ids_the_split_is_within_half_a_point(control: float, treatment: float) -> None:
    cfg = config(control, treatment)
    n = 100_000
    share = sum(assign(cfg, f"user-{i}") == "treatment" for i in range(n)) / n
    assert abs(share - treatment / (control + treatment)) < 0.005


def test_the_same_id_gets_the_same_variant_in_two_processes() -> None:
    code = (
        "import sys\n"
        "from llmops_action.core.experiment_config import ExperimentConfig\n"
        "from llmops_action.experiments import assign\n"
        "cfg = ExperimentConfig.model_validate({'name': 'exp', 'variants': {'control': {'model': 'a'}, "
        "'treatment': {'model': 'b'}}, 'metric': {'name': 'up', 'type': 'rate'}})\n"
        "print(''.join('t' if assign(cfg, f'user-{i}') == 'treatment' else 'c' for i in range(2000)))\n"
    )
    outs = []
    for seed in ("1", "2"):  # str hashes differ between these processes; the assignment must not
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True
        )
        outs.append(out.stdout.strip())
    here = "".join("t" if assign(config(), f"user-{i}") == "treatment" else "c" for i in range(2000))
    assert outs[0] == outs[1] == here
    assert 800 < here.count("t") < 1200


def test_only_a_running_experiment_splits_traffic() -> None:
    cfg = config()
    treated = next(f"u{i}" for i in range(100) if assign(cfg, f"u{i}") == "treatment")
    assert assign(Experiment(cfg, state="running"), treated) == "treatment"
    for state in ("draft", "paused", "cancelled"):
        assert assign(Experiment(cfg, state=state), treated) == "control"
    control_unit = next(f"u{i}" for i in range(100) if assign(cfg, f"u{i}") == "control")
    assert assign(Experiment(cfg, state="completed", winner="treatment"), control_unit) == "treatment"


def test_the_vector_file_is_packaged() -> None:
    assert (Path(REPO) / "llmops_action" / "experiments" / "assignment_vectors.json").is_file()
    assert "experiments/assignment_vectors.json" in (REPO / "pyproject.toml").read_text(encoding="utf-8")


def test_assignment_imports_nothing_heavy_into_the_apps_request_path() -> None:
    code = "import sys, llmops_action.experiments\nprint([m for m in ('numpy', 'mlflow', 'jinja2') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
