from __future__ import annotations

import pytest

from llmops_action.core.yamlpos import MAX_NODES, format_path, load_yaml
from llmops_action.errors import UserInputError

TEXT = """\
suite: demo
provider:
  type: python
metrics:
  - type: bleu
  - type: judge
    criterion: safety
"""


def test_every_key_and_item_has_its_line() -> None:
    located = load_yaml(TEXT, "c.yml")
    assert located.data["metrics"][1] == {"type": "judge", "criterion": "safety"}
    assert located.lines[("suite",)] == 1
    assert located.lines[("provider", "type")] == 3
    assert located.lines[("metrics", 0)] == 5
    assert located.lines[("metrics", 1, "criterion")] == 7


def test_line_of_walks_up_to_the_nearest_known_ancestor() -> None:
    located = load_yaml(TEXT, "c.yml")
    assert located.line_of(("metrics", 1, "rubric")) == 6
    assert located.line_of(("nothing",)) == 1


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(UserInputError) as exc:
        load_yaml("a: 1\nb: [1, 2\nc: 3\n", "c.yml")
    assert exc.value.file == "c.yml" and exc.value.line in (2, 3, 4)


def test_control_characters_are_a_located_error() -> None:
    with pytest.raises(UserInputError, match="#x0001") as exc:
        load_yaml("a: 1\nb: \x01\n", "c.yml")
    assert (exc.value.file, exc.value.line) == ("c.yml", 2)


def test_duplicate_keys_are_errors_naming_both_lines() -> None:
    with pytest.raises(UserInputError, match=r"duplicate key 'min' \(first at line 2\)") as exc:
        load_yaml("gate:\n  min: 0.5\n  max: 1\n  min: 0.9\n", "c.yml")
    assert (exc.value.file, exc.value.line, exc.value.key) == ("c.yml", 4, "gate.min")


def test_merge_keys_may_be_overridden() -> None:
    located = load_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n")
    assert located.data["d"] == {"x": 3, "y": 2}


def test_non_scalar_keys_are_errors() -> None:
    with pytest.raises(UserInputError, match="scalars") as exc:
        load_yaml("? [a, b]\n: 1\n", "c.yml")
    assert exc.value.file == "c.yml"


@pytest.mark.parametrize("text", ["a: &x [*x]\n", "a: &x {b: *x}\n"])
def test_recursive_aliases_are_errors_not_crashes(text: str) -> None:
    with pytest.raises(UserInputError, match="refers to itself"):
        load_yaml(text, "c.yml")


def test_alias_bombs_are_refused() -> None:
    levels = ["a: &a [" + ",".join(["x"] * 10) + "]"]
    for i in range(1, 7):
        prev, cur = chr(96 + i), chr(97 + i)
        levels.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    assert MAX_NODES < 10**7
    with pytest.raises(UserInputError, match="too many nodes"):
        load_yaml("\n".join(levels) + "\n", "c.yml")


def test_aliases_within_budget_expand() -> None:
    assert load_yaml("a: &x [1]\nb: [*x, *x]\n").data == {"a": [1], "b": [[1], [1]]}


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_documents_are_none(text: str) -> None:
    assert load_yaml(text).data is None


def test_format_path() -> None:
    assert format_path(("metrics", 0, "type")) == "metrics[0].type"
    assert format_path(()) == ""
    assert format_path((2,)) == "[2]"
