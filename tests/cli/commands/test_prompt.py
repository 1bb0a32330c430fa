from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.cli.main import main
from tests.support.h6 import GREET_V2, commit_all, init_repo, make_project, write


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    return str(make_project(tmp_path))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_active_versions_hash_and_file(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prompt", "list", "--config", cfg, "--json")
    assert code == 0
    [row] = json.loads(out)
    assert row["name"] == "greet" and row["active"] == "1.1.0" and not row["pinned"]
    assert row["versions"] == ["1.0.0", "1.1.0"]
    assert row["file"] == "prompts/greet_v2.yml" and len(row["hash"]) == 16

    assert run(capsys, "prompt", "activate", "greet", "1.0.0", "--config", cfg, "--by", "ada")[0] == 0
    code, out, _ = run(capsys, "prompt", "list", "--config", cfg)
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "ACTIVE", "VERSIONS", "HASH", "FILE"]
    assert out.splitlines()[1].split()[:2] == ["greet", "1.0.0"]


def test_show_prints_template_and_variables(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prompt", "show", "greet@1.0.0", "--config", cfg)
    assert code == 0
    assert "greet@1.0.0" in out and "Hello {{ who }}" in out and "who: string, required" in out
    code, _, err = run(capsys, "prompt", "show", "gret", "--config", cfg)
    assert code == 2 and "did you mean 'greet'" in err


def test_render_with_vars_json_and_file(cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prompt", "render", "greet", "--vars", '{"who": "Ada"}', "--config", cfg)
    assert code == 0
    assert "You are polite and warm." in out and "Hello dear Ada" in out
    vars_file = write(tmp_path / "vars.json", '{"who": "Bo", "mood": "grumpy"}')
    code, out, _ = run(
        capsys, "prompt", "render", "greet", "--vars", f"@{vars_file}", "--config", cfg, "--json"
    )
    assert json.loads(out)["system"] == "You are polite and grumpy."


def test_render_a_case_uses_its_prompt_and_vars(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prompt", "render", "--case", "c2", "--config", cfg, "--json")
    assert code == 0
    assert json.loads(out)["user"] == "Hello dear Linus"
    code, out, _ = run(capsys, "prompt", "render", "greet@1.0.0", "--case", "c2", "--config", cfg, "--json")
    assert json.loads(out)["user"] == "Hello Linus"
    code, _, err = run(capsys, "prompt", "render", "--case", "nope", "--config", cfg)
    assert code == 2 and "nope" in err


def test_render_missing_variable_is_exit_2(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prompt", "render", "greet", "--vars", "{}", "--config", cfg)
    assert code == 2 and "'who'" in err
    code, _, err = run(capsys, "prompt", "render", "greet", "--vars", "[1]", "--config", cfg)
    assert code == 2 and "JSON object" in err


def test_render_is_sandboxed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_project(tmp_path)
    write(
        tmp_path / "prompts" / "evil.yml",
        """\
        name: evil
        version: 1.0.0
        template: "{{ ''.__class__.__mro__[1].__subclasses__() }}"
        """,
    )
    code, out, err = run(capsys, "prompt", "render", "evil", "--vars", "{}", "--config", str(cfg))
    assert code == 2 and "sandbox" in err and "subclasses" not in out


def test_diff_two_versions_and_two_files(
    cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "prompt", "diff", "greet@1.0.0", "greet@1.1.0", "--config", cfg)
    assert code == 0
    assert "--- greet@1.0.0 (prompts/greet_v1.yml)" in out
    assert "-Hello {{ who }}" in out and "+Hello dear {{ who }}" in out
    v1, v2 = str(tmp_path / "prompts" / "greet_v1.yml"), str(tmp_path / "prompts" / "greet_v2.yml")
    code, out, _ = run(capsys, "prompt", "diff", v1, v2, "--exit-code")
    assert code == 1 and out.startswith(f"--- {v1}\n+++ {v2}")
    code, out, _ = run(capsys, "prompt", "diff", v1, v1, "--exit-code")
    assert (code, out) == (0, "")


def test_diff_warns_when_content_changes_without_a_version_bump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path / "a.yml", GREET_V2)
    b = write(tmp_path / "b.yml", GREET_V2.replace("dear", "darling"))
    code, _, err = run(capsys, "prompt", "diff", str(a), str(b))
    assert code == 0 and "version is still 1.1.0" in err


def test_diff_at_git_refs_reads_without_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    project = repo / "svc"  # the config need not sit at the repository's top
    cfg = make_project(project)
    (project / "prompts" / "greet_v2.yml").unlink()
    init_repo(repo)
    base = commit_all(repo, "v1 only")
    write(project / "prompts" / "greet_v2.yml", GREET_V2)
    commit_all(repo, "add v2")
    write(project / "prompts" / "greet_v2.yml", GREET_V2.replace("dear", "darling"))  # uncommitted

    code, out, _ = run(
        capsys, "prompt", "diff", "greet", "--ref", base, "--ref2", "HEAD", "--config", str(cfg)
    )
    assert code == 0
    assert f"--- greet@1.0.0 ({base}:svc/prompts/greet_v1.yml)" in out
    assert "+++ greet@1.1.0 (HEAD:svc/prompts/greet_v2.yml)" in out and "+Hello dear {{ who }}" in out
    # without --ref2 the new side is the working tree, uncommitted edit included
    code, out, _ = run(
        capsys, "prompt", "diff", "greet", "--ref", "HEAD", "--config", str(cfg), "--exit-code"
    )
    assert code == 1 and "-Hello dear {{ who }}" in out and "+Hello darling {{ who }}" in out
    # the registry at the ref decides which version ran there
    assert run(capsys, "prompt", "activate", "greet", "1.0.0", "--config", str(cfg), "--by", "t")[0] == 0
    commit_all(repo, "pin 1.0.0")
    code, out, _ = run(
        capsys, "prompt", "diff", "greet", "--ref", "HEAD", "--config", str(cfg), "--exit-code"
    )
    assert (code, out) == (0, "")
    code, _, err = run(capsys, "prompt", "diff", "greet", "--ref", "no-such-ref", "--config", str(cfg))
    assert code == 2 and "no-such-ref" in err


def test_diff_usage_errors(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "prompt", "diff", "greet", "--config", cfg)[0] == 2
    assert run(capsys, "prompt", "diff", "greet@1.0.0", "--ref", "HEAD", "--config", cfg)[0] == 2


def test_activate_rollback_history(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "prompt", "activate", "greet", "1.0.0", "--note", "safer", "--by", "ada", "--config", cfg
    )
    assert code == 0 and "greet: active greet@1.1.0 -> greet@1.0.0" in out
    code, out, _ = run(capsys, "prompt", "activate", "greet@1.0.0", "--by", "ada", "--config", cfg)
    assert code == 0 and "greet@1.0.0 is already active" in out
    code, _, err = run(capsys, "prompt", "activate", "greet", "4.0.0", "--config", cfg)
    assert code == 2 and "4.0.0" in err
    code, out, _ = run(capsys, "prompt", "rollback", "greet", "--by", "bob", "--config", cfg)
    assert code == 0 and "rolled back greet@1.0.0 -> greet@1.1.0" in out
    code, out, _ = run(capsys, "prompt", "history", "greet", "--config", cfg, "--json")
    log = json.loads(out)
    assert [(x["action"], x["version"], x["by"]) for x in log] == [
        ("activate", "1.0.0", "ada"),
        ("rollback", "1.1.0", "bob"),
    ]
    assert log[0]["note"] == "safer"
    code, out, _ = run(capsys, "prompt", "history", "greet", "--config", cfg)
    assert "rollback  1.0.0 -> 1.1.0  by bob" in out
    code, _, err = run(capsys, "prompt", "rollback", "greet", "--config", cfg)
    assert code == 2 and "no earlier active version" in err


def test_history_of_an_unknown_prompt_is_exit_2(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "prompt", "history", "gret", "--config", cfg)
    assert code == 2 and "argument NAME: no prompt named 'gret'" in err and "did you mean 'greet'" in err
    code, out, _ = run(capsys, "prompt", "history", "greet", "--config", cfg)
    assert code == 0 and "never activated" in out


def test_diff_without_a_difference_says_so(
    cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = str(tmp_path / "prompts" / "greet_v1.yml")
    code, out, err = run(capsys, "prompt", "diff", v1, v1)
    assert (code, out) == (0, "")
    assert f"no difference: {v1} and {v1} have the same content" in err


def test_render_refuses_variables_the_prompt_does_not_have(
    cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "prompt", "render", "greet", "--vars", '{"who": "Ada", "wh0": 1}', "--config", cfg
    )
    assert code == 2 and "argument --vars" in err and "no variable 'wh0'" in err and "who" in err


def test_argument_errors_name_the_argument(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prompt", "render", "--case", "nope", "--config", cfg)
    assert code == 2 and "argument --case" in err and "key" not in err
    code, _, err = run(capsys, "prompt", "render", "greet", "--config", cfg)
    assert code == 2 and "argument --vars" in err
    code, _, err = run(capsys, "prompt", "show", "greet@9.9.9", "--config", cfg)
    assert code == 2 and "argument NAME@VERSION" in err


def test_rollback_hint_names_a_version_that_exists(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prompt", "rollback", "greet", "--config", cfg)
    assert code == 2 and "prompt activate greet@1.1.0" in err
