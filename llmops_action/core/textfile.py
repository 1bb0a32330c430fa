"""Reading the user's text files (config, prompts, datasets): UTF-8 or a clear error naming file and line.

A binary file or one in another encoding is bad input (exit 2), never a UnicodeDecodeError traceback.
"""

from __future__ import annotations

from pathlib import Path

from llmops_action.errors import UserInputError


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, max(offset, 0)) + 1


def read_text(path: str | Path, what: str) -> str:
    """The file's text. `what` names it in errors ("config file", "dataset file", "prompt file")."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise UserInputError(f"{what} not found", file=str(p)) from None
    except IsADirectoryError:
        raise UserInputError(f"{what} is a folder, not a file", file=str(p)) from None
    except PermissionError:
        raise UserInputError(f"{what} cannot be read (permission denied)", file=str(p)) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UserInputError(
            f"{what} looks binary (a NUL byte at offset {nul}); expected UTF-8 text",
            file=str(p),
            line=_line_of(data, nul),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8",
            file=str(p),
            line=_line_of(data, exc.start),
        ) from None
    return text.removeprefix("\ufeff")  # a BOM is an editor's habit, not content
