from __future__ import annotations

from pathlib import Path

import pytest

from llmops_action.core.textfile import read_text
from llmops_action.errors import UserInputError


def test_utf8_text_is_read_and_a_bom_dropped(tmp_path: Path) -> None:
    p = tmp_path / "a.yml"
    p.write_bytes("\ufeffname: café\n".encode())
    assert read_text(p, "prompt file") == "name: café\n"


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"a\nb\n\xe9t\xe9\n", 3, "not UTF-8 text (byte 0xe9 at offset 4)"),
        (b"a\n\x00\x01", 2, "looks binary (a NUL byte at offset 2)"),
    ],
)
def test_binary_or_other_encodings_name_the_line(tmp_path: Path, data: bytes, line: int, words: str) -> None:
    p = tmp_path / "d.jsonl"
    p.write_bytes(data)
    with pytest.raises(UserInputError) as exc:
        read_text(p, "dataset file")
    assert (exc.value.file, exc.value.line) == (str(p), line)
    assert words in exc.value.message


def test_a_folder_or_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="is a folder"):
        read_text(tmp_path, "config file")
    with pytest.raises(UserInputError, match="not found"):
        read_text(tmp_path / "nope.yml", "config file")
