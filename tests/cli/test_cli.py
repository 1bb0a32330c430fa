from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from llmops_action.cli.main import COMMAND_MODULES, build_parser, main
from tests.conftest import REPO


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command and nested subcommand ('prompt diff', ...) with its parser."""
    out: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out[f"{prefix}{name}"] = sub
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return out


PARSERS = subcommand_parsers()


def test_every_module_registers_its_command() -> None:
    assert set(COMMAND_MODULES) <= set(PARSERS)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_help_ends_with_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*name.split(), "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    description = PARSERS[name].description or ""
    assert "Example:" in description, f"`{name} --help` has no Example: block"
    example = description.rsplit("Example:", 1)[1]
    assert f"llmops-action {name}" in example, f"the example of `{name}` does not run `llmops-action {name}`"
    assert description.strip().splitlines()[0] in text


def _cli_section(readme: str) -> str:
    m = re.search(r"^## CLI\b.*?(?=^## |\Z)", readme, flags=re.M | re.S)
    return m.group(0) if m else ""


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_every_command_is_documented_in_the_readme(name: str) -> None:
    readme = REPO / "README.md"
    assert readme.is_file(), "README.md is missing"
    section = _cli_section(readme.read_text(encoding="utf-8"))
    assert section, "README.md has no '## CLI' section"
    assert re.search(rf"llmops-action {re.escape(name)}\b|`{re.escape(name)}`", section), (
        f"README.md '## CLI' does not document `llmops-action {name}`"
    )


def test_no_command_prints_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "COMMAND" in capsys.readouterr().out


def test_unknown_command_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from llmops_action.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('google.genai', 'mlflow', 'github', 'numpy', 'jinja2') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY="


def test_subcommand_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from llmops_action.cli.main import build_parser\n"
        "build_parser()\n"
        "print(','.join(m for m in ('google.genai', 'mlflow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
