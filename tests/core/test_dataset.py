from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.core.dataset import load_dataset, load_dataset_file
from llmops_action.errors import UserInputError
from tests.support.h6 import write

JSONL = """\
{"id": "q1", "prompt": "rag", "vars": {"question": "Why?"}, "reference": "Because.", "keywords": ["because"], "tags": ["golden"]}

// comments and blank lines are skipped
{"id": 2, "prompt": "rag", "vars": {"question": "How?"}, "contexts": ["doc-1"]}
"""

YAML = """\
cases:
  - id: y1
    prompt: rag
    vars: {question: "What?"}
    tags: [regression, benchmark]
  - id: y2
    prompt: rag
"""

CSV = """\
id,prompt,question,reference,keywords,tags
c1,rag,Who?,Ada,ada|lovelace,golden|user
c2,rag,"Where, exactly?",,,
"""


def test_jsonl(tmp_path: Path) -> None:
    cases = load_dataset_file(write(tmp_path / "d.jsonl", JSONL))
    assert [c.id for c in cases] == ["q1", "2"]  # numeric ids become strings
    assert cases[0].keywords == ["because"] and cases[0].tags == ["golden"]
    assert cases[1].contexts == ["doc-1"] and cases[1].reference is None
    assert cases[1].source == f"{tmp_path / 'd.jsonl'}:4"


def test_yaml_list_or_mapping_with_cases(tmp_path: Path) -> None:
    cases = load_dataset_file(write(tmp_path / "d.yml", YAML))
    assert [(c.id, c.source.rsplit(":", 1)[1]) for c in cases] == [("y1", "2"), ("y2", "6")]  # type: ignore[union-attr]
    assert cases[0].tags == ["regression", "benchmark"]
    bare = load_dataset_file(write(tmp_path / "e.yaml", "- {id: a, prompt: p}\n"))
    assert bare[0].id == "a"


def test_csv_columns_become_fields_and_vars(tmp_path: Path) -> None:
    c1, c2 = load_dataset_file(write(tmp_path / "d.csv", CSV))
    assert c1.vars == {"question": "Who?"} and c1.reference == "Ada"
    assert c1.keywords == ["ada", "lovelace"] and c1.tags == ["golden", "user"]
    assert c2.vars == {"question": "Where, exactly?"} and c2.keywords == [] and c2.tags == []
    assert c2.source is not None and c2.source.endswith(":3")


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", '{"id": "x", "prompt": "p"}\n{"id": "y", "prompt": "p"}\n')
    write(tmp_path / "b.jsonl", '\n\n{"id": "y", "prompt": "p"}\n')
    with pytest.raises(UserInputError) as exc:
        load_dataset(["a.jsonl", "b.jsonl"], tmp_path)
    err = exc.value
    assert (err.file, err.line, err.key) == (str(tmp_path / "b.jsonl"), 3, "id")
    assert f"first at {tmp_path / 'a.jsonl'}:2" in err.message


def test_duplicate_id_within_one_yaml_file(tmp_path: Path) -> None:
    write(tmp_path / "d.yml", "- {id: a, prompt: p}\n- {id: b, prompt: p}\n- {id: a, prompt: p}\n")
    with pytest.raises(UserInputError, match=r"duplicate case id 'a' \(first at .*d.yml:1\)") as exc:
        load_dataset(["d.yml"], tmp_path)
    assert exc.value.line == 3


def test_bad_json_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", '{"id": "a", "prompt": "p"}\n{"id": "b", "prompt": p}\n')
    with pytest.raises(UserInputError, match="invalid JSON") as exc:
        load_dataset_file(path)
    assert (exc.value.file, exc.value.line) == (str(path), 2)


@pytest.mark.parametrize(
    ("line", "message", "key"),
    [
        ('{"prompt": "p"}', "missing required key 'id'", "id"),
        ('{"id": "a"}', "missing required key 'prompt'", "prompt"),
        ('{"id": "a", "prompt": "p", "refrence": "x"}', "unknown key 'refrence'", "refrence"),
        ('{"id": "a", "prompt": "p", "tags": ["gold"]}', "golden", "tags[0]"),
        ('{"id": "", "prompt": "p"}', "at least 1 character", "id"),
        ('["a", "b"]', "a case must be an object", None),
    ],
)
def test_invalid_case_names_line_and_key(tmp_path: Path, line: str, message: str, key: str | None) -> None:
    path = write(tmp_path / "d.jsonl", '{"id": "ok", "prompt": "p"}\n' + line + "\n")
    with pytest.raises(UserInputError) as exc:
        load_dataset_file(path)
    assert exc.value.line == 2 and exc.value.key == key and message in exc.value.message


def test_csv_row_with_extra_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id,prompt\na,p\nb,p,extra\n")
    with pytest.raises(UserInputError, match="more fields") as exc:
        load_dataset_file(path)
    assert exc.value.line == 3


def test_empty_datasets_and_missing_files(tmp_path: Path) -> None:
    write(tmp_path / "empty.jsonl", "\n")
    with pytest.raises(UserInputError, match="no cases"):
        load_dataset(["empty.jsonl"], tmp_path)
    with pytest.raises(UserInputError, match="no such file"):
        load_dataset(["missing.jsonl"], tmp_path)


def test_globs_in_stable_order(tmp_path: Path) -> None:
    write(tmp_path / "data" / "b.jsonl", '{"id": "b", "prompt": "p"}\n')
    write(tmp_path / "data" / "a.jsonl", '{"id": "a", "prompt": "p"}\n')
    write(tmp_path / "data" / "c.yml", "- {id: c, prompt: p}\n")
    assert [c.id for c in load_dataset(["data/*.jsonl"], tmp_path)] == ["a", "b"]
    assert [c.id for c in load_dataset(["data"], tmp_path)] == ["a", "b", "c"]
