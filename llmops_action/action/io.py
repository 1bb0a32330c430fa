"""Talking to the Actions runner: workflow commands, step outputs, the job summary.

Formats follow GitHub's "Workflow commands for GitHub Actions" page: `::error file=F,line=L::message`,
with `%`, CR and LF escaped in the message, and `:` and `,` too in property values; multiline outputs
use the `name<<DELIMITER` heredoc form in $GITHUB_OUTPUT with a random delimiter.
Every line printed here is redacted of the run's secrets first. The runner already masks every value that
comes from `secrets.*` or `github.token`, so those are never echoed in an `::add-mask::` line (that line would
print the raw value to stdout); `add_mask` is for values the action derives itself.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

SUMMARY_LIMIT = 1024 * 1024  # GitHub refuses a step summary over 1 MiB


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class Console:
    """Workflow commands on stdout; everything passes through `redact`."""

    def __init__(self, secrets: Iterable[str] = (), stream: TextIO | None = None) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.stream = stream or sys.stdout

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def add_secret(self, value: str) -> None:
        """Redact `value` from everything printed, written to outputs or to the summary from here on.

        Nothing is printed: the runner masks a secret input already, and `::add-mask::value` would echo it.
        """
        if value and value not in self.secrets:
            self.secrets = sorted({*self.secrets, value}, key=len, reverse=True)

    def add_mask(self, value: str) -> None:
        """Mask a value the action derived itself (the runner cannot know it), and redact it too."""
        if value and value not in self.secrets:
            # The value must reach the runner unredacted, or the mask would mask nothing.
            self._write(f"::add-mask::{escape_data(value)}")
            self.add_secret(value)

    def command(self, name: str, message: str, **props: str | int | None) -> None:
        given = {k: v for k, v in props.items() if v is not None and v != ""}
        prop_text = ",".join(f"{k}={escape_property(self.redact(str(v)))}" for k, v in given.items())
        self._write(f"::{name}{' ' + prop_text if prop_text else ''}::{escape_data(self.redact(message))}")

    def error(
        self, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
    ) -> None:
        self.command("error", message, file=file, line=line, title=title)

    def warning(
        self, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
    ) -> None:
        self.command("warning", message, file=file, line=line, title=title)

    def notice(self, message: str, *, title: str | None = None) -> None:
        self.command("notice", message, title=title)

    def info(self, message: str) -> None:
        for line in self.redact(message).splitlines() or [""]:
            # A line that starts with "::" would be read as a command: never let text we print do that.
            self._write(line if not line.startswith("::") else " " + line)

    def group(self, title: str) -> None:
        self._write(f"::group::{escape_data(self.redact(title))}")

    def endgroup(self) -> None:
        self._write("::endgroup::")


def write_outputs(path: str | None, values: Mapping[str, str], console: Console) -> None:
    """Append to $GITHUB_OUTPUT, every value in the heredoc form so a newline can never inject an output."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in values.items():
            value = console.redact(value)
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            while delimiter in value:  # practically never; keeps the format sound anyway
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(path: str | None, text: str, console: Console) -> None:
    if not path:
        return
    data = console.redact(text)
    encoded = data.encode("utf-8")
    if len(encoded) > SUMMARY_LIMIT - 1024:
        data = encoded[: SUMMARY_LIMIT - 1024].decode("utf-8", "ignore") + "\n\n*(summary truncated)*\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(data.rstrip("\n") + "\n")


def relative_to_workspace(file: str | None, workspace: Path) -> str | None:
    """Annotations need repository-relative paths to attach to the file in the PR's diff view."""
    if not file:
        return None
    p = Path(file)
    try:
        return p.resolve().relative_to(workspace.resolve()).as_posix() if p.is_absolute() else p.as_posix()
    except ValueError:
        return p.as_posix()
