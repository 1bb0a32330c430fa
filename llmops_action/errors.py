"""One exception root, named for what the user must fix; formatted only at the edge (cli, action).

Exit codes shared by the CLI and the Action:
0 all blocking gates pass; 1 a blocking gate failed (a result, not an exception);
2 the user's input is wrong; 3 the run is incomplete (provider/judge errors, infrastructure).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3

# A warn never fails the job: warnings are for humans, blocking is what gates are for.
_VERDICT_EXIT = {"pass": EXIT_OK, "warn": EXIT_OK, "fail": EXIT_GATE_FAILED, "incomplete": EXIT_INCOMPLETE}


def exit_code_for(verdict: str) -> int:
    """The exit code of a run or comparison verdict; an unknown verdict is an incomplete run."""
    return _VERDICT_EXIT.get(verdict, EXIT_INCOMPLETE)


class LlmopsError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code = EXIT_INCOMPLETE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def format(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UserInputError(LlmopsError):
    """Config, prompt, dataset or argument is wrong. Names the file, the line and the key when known."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.line = line
        self.key = key

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.key and (self.key.startswith("-") or self.key.isupper()):
            parts.append(f"argument {self.key}")  # a command-line argument, not a key in a file
        elif self.key:
            parts.append(f"key '{self.key}'")
        return ", ".join(parts)

    def format(self) -> str:
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        return text if not self.hint else f"{text}\n{self.hint}"


class IncompleteRunError(LlmopsError):
    """The run could not produce a trustworthy result (too many errors, infrastructure failure)."""

    exit_code = EXIT_INCOMPLETE


class ProviderError(LlmopsError):
    """One call to a model or app failed. Recorded on the case; never turned into a score."""

    exit_code = EXIT_INCOMPLETE

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
