from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_action.core.comparison import Comparison, RunRef
from llmops_action.core.documents import write_atomic
from llmops_action.core.results import RunResult
from llmops_action.errors import UserInputError


def _comparison() -> Comparison:
    return Comparison(suite="support", head=RunRef(sha="a" * 40))


def test_a_written_comparison_reads_back_equal(tmp_path: Path) -> None:
    c = _comparison()
    path = c.write(tmp_path / "out" / "comparison.json")
    assert Comparison.from_json(path.read_text(), str(path)) == c
    assert not list(tmp_path.glob("out/*.tmp"))


def test_a_results_file_of_another_kind_is_refused_by_name(tmp_path: Path) -> None:
    path = write_atomic(tmp_path / "comparison.json", _comparison().to_json())
    with pytest.raises(UserInputError, match=r"not an llmops-action llmops\.run document") as exc:
        RunResult.read(path)
    assert exc.value.file == str(path)


def test_a_newer_schema_version_is_refused_with_the_key() -> None:
    doc = json.loads(_comparison().to_json()) | {"schema_version": 99}
    with pytest.raises(UserInputError, match="schema_version 99 is not supported") as exc:
        Comparison.from_json(json.dumps(doc))
    assert exc.value.key == "schema_version"


def test_an_invalid_field_names_its_key_path() -> None:
    doc = json.loads(_comparison().to_json()) | {"metrics": [{"name": "bleu", "n_paired": "many"}]}
    with pytest.raises(UserInputError) as exc:
        Comparison.from_json(json.dumps(doc), "artifact/comparison.json")
    assert exc.value.key == "metrics[0].n_paired"
    assert exc.value.file == "artifact/comparison.json"
