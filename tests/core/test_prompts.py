from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.core.prompts import (
    Prompt,
    load_prompt,
    load_prompt_versions,
    load_prompts,
    parse_prompt,
    render,
    semver_key,
)
from llmops_action.errors import UserInputError
from tests.support.h6 import GREET_V1, GREET_V2, GREET_V3, write


def prompt(template: str, system: str = "", variables: list[dict] | None = None) -> Prompt:
    return Prompt(name="p", version="1.0.0", template=template, system=system, variables=variables or [])


def test_render_system_and_template() -> None:
    p = parse_prompt(GREET_V2, "greet.yml")
    out = render(p, {"who": "Ada"})
    assert (out.system, out.user) == ("You are polite and warm.", "Hello dear Ada")
    assert render(p, {"who": "Ada", "mood": "brisk"}).system == "You are polite and brisk."


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''.format.__self__ }}",
    ],
)
def test_sandbox_blocks_attribute_escapes(template: str) -> None:
    with pytest.raises(UserInputError) as exc:
        render(prompt(template), {"x": render})
    assert "sandbox" in exc.value.message or "undefined" in exc.value.message


def test_sandbox_blocks_unsafe_string_formatting() -> None:
    with pytest.raises(UserInputError, match="sandbox"):
        render(prompt("{{ '{0.__class__}'.format(x) }}"), {"x": 1})


def test_undefined_names_are_errors_not_empty_strings() -> None:
    with pytest.raises(UserInputError, match="undefined") as exc:
        render(prompt("Hi {{ whom }}"), {}, case_id="c-7")
    assert "case 'c-7'" in exc.value.message
    with pytest.raises(UserInputError, match="undefined"):
        render(prompt("{{ user.name }}"), {"user": {}})


def test_missing_required_variable_names_case_and_variable() -> None:
    p = parse_prompt(GREET_V1, "prompts/greet.yml")
    with pytest.raises(UserInputError) as exc:
        render(p, {}, case_id="q-001")
    assert exc.value.message == "case 'q-001': missing required variable 'who' for prompt 'greet'"
    assert exc.value.file == "prompts/greet.yml" and exc.value.key == "variables.who"


def test_variable_types_are_checked() -> None:
    p = prompt("{{ n }}", variables=[{"name": "n", "type": "integer"}])
    assert render(p, {"n": 3}).user == "3"
    for bad in ("3", True, 2.5):
        with pytest.raises(UserInputError, match="must be integer"):
            render(p, {"n": bad}, case_id="c")


def test_defaults_fill_optional_variables() -> None:
    p = prompt("{{ a }}-{{ b }}", variables=[{"name": "a"}, {"name": "b", "required": False, "default": "z"}])
    assert render(p, {"a": "y"}).user == "y-z"


@pytest.mark.parametrize("version", ["1.0.0", "0.1.0", "10.20.30", "1.0.0-rc.1", "1.0.0+build.5"])
def test_semver_accepted(version: str) -> None:
    assert prompt("x").model_copy(update={"version": version}).version == version
    assert parse_prompt(GREET_V1.replace("1.0.0", version), "p.yml").version == version


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0.0", "latest"])
def test_non_semver_is_an_error_with_line(version: str) -> None:
    with pytest.raises(UserInputError, match="not semver") as exc:
        parse_prompt(GREET_V1.replace("1.0.0", version), "p.yml")
    assert exc.value.line == 2 and exc.value.key == "version"


def test_semver_order() -> None:
    versions = ["1.10.0", "1.2.0", "1.2.0-rc.1", "2.0.0", "1.2.1"]
    assert sorted(versions, key=semver_key) == ["1.2.0-rc.1", "1.2.0", "1.2.1", "1.10.0", "2.0.0"]


def test_hash_follows_content_not_description() -> None:
    a = parse_prompt(GREET_V1, "a.yml")
    assert (
        parse_prompt(GREET_V1.replace("Say hello", "Greets people"), "b.yml").content_hash == a.content_hash
    )
    assert parse_prompt(GREET_V1.replace("1.0.0", "1.0.1"), "c.yml").content_hash == a.content_hash
    assert parse_prompt(GREET_V1.replace("Hello", "Hi"), "d.yml").content_hash != a.content_hash
    assert parse_prompt(GREET_V1.replace("polite", "terse"), "e.yml").content_hash != a.content_hash
    assert (
        parse_prompt(GREET_V1.replace("type: string", "type: list"), "f.yml").content_hash != a.content_hash
    )


def test_unknown_key_in_prompt_file_names_line() -> None:
    with pytest.raises(UserInputError, match="unknown key 'templat'") as exc:
        parse_prompt(GREET_V1 + "templat: x\n", "p.yml")
    assert exc.value.line == 8


def test_template_syntax_error_names_the_line_in_the_file() -> None:
    text = "name: p\nversion: 1.0.0\ntemplate: |\n  line one\n  {{ broken\n"
    with pytest.raises(UserInputError, match="syntax") as exc:
        parse_prompt(text, "p.yml")
    assert exc.value.key == "template" and exc.value.line is not None and exc.value.line >= 4


def test_versions_and_the_running_choice(tmp_path: Path) -> None:
    for name, text in (("v1.yml", GREET_V1), ("v2.yml", GREET_V2), ("sub/v3.yaml", GREET_V3)):
        write(tmp_path / "prompts" / name, text)
    found = load_prompt_versions(["prompts"], tmp_path)
    assert sorted(found["greet"], key=semver_key) == ["1.0.0", "1.1.0", "2.0.0"]
    assert load_prompts(["prompts"], tmp_path)["greet"].version == "2.0.0"  # highest by default
    assert load_prompts(["prompts"], tmp_path, {"greet": "1.1.0"})["greet"].version == "1.1.0"
    with pytest.raises(UserInputError, match=r"greet@3\.0\.0"):
        load_prompts(["prompts"], tmp_path, {"greet": "3.0.0"})
    assert load_prompt_versions(["prompts/*.yml"], tmp_path)["greet"].keys() == {"1.0.0", "1.1.0"}


def test_the_same_version_twice_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "prompts" / "a.yml", GREET_V1)
    write(tmp_path / "prompts" / "b.yml", GREET_V1.replace("Hello", "Hi"))
    with pytest.raises(UserInputError, match="defined twice"):
        load_prompt_versions(["prompts"], tmp_path)


def test_missing_prompt_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no such file"):
        load_prompt_versions(["nowhere"], tmp_path)
    with pytest.raises(UserInputError, match="not found"):
        load_prompt(tmp_path / "nope.yml")
