"""Progress a person can see, for work that takes longer than about two seconds.

On a terminal, a tqdm bar (shown only once the work has taken `delay` seconds). Without one (CI logs), one
line every `every` seconds, e.g. `eval: 120/400 cases, 3 errors, 12.3 s`, and a last line when done. Work
that ends within `delay` prints nothing, so fast commands and tests stay quiet.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

DELAY = 2.0
EVERY = 5.0


class Progress:
    """Counts done items and errors. Thread-safe: workers may call `update` concurrently."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str = "cases",
        enabled: bool = True,
        stream: TextIO | None = None,
        tty: bool | None = None,
        delay: float = DELAY,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.delay, self.every, self.clock = delay, every, clock
        self.done = 0
        self.errors = 0
        self._start = clock()
        self._last_line: float | None = None
        self._lock = threading.Lock()
        self._bar: Any = None
        if enabled and self.tty:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, unit=unit.rstrip("s"), desc=label, leave=False, delay=delay, file=self.stream
            )

    def line(self) -> str:
        errors = f", {self.errors} error{'s' if self.errors != 1 else ''}" if self.errors else ""
        return (
            f"{self.label}: {self.done}/{self.total} {self.unit}{errors}, {self.clock() - self._start:.1f} s"
        )

    def update(self, n: int = 1, *, errors: int = 0) -> None:
        with self._lock:
            self.done += n
            self.errors += errors
            if not self.enabled:
                return
            if self._bar is not None:
                self._bar.update(n)
                if errors:
                    self._bar.set_postfix(errors=self.errors, refresh=False)
                return
            now = self.clock()
            if now - self._start < self.delay:
                return
            if self._last_line is None or now - self._last_line >= self.every:
                self._write()
                self._last_line = now

    def _write(self) -> None:
        self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            elif self.enabled and self._last_line is not None and self._last_line != self.clock():
                self._write()  # the final count, so the log ends on what was done

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def slow_step(
    what: str, *, stream: TextIO | None = None, delay: float = DELAY, enabled: bool = True
) -> Iterator[None]:
    """Say `what...` if one step (an MLflow upload, a history query) is still running after `delay`
    seconds, and how long it took once it ends."""
    out = stream or sys.stderr
    start = time.monotonic()
    said = threading.Event()

    def announce() -> None:
        said.set()
        out.write(f"{what}...\n")
        out.flush()

    timer = threading.Timer(delay, announce)
    timer.daemon = True
    if enabled:
        timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if said.is_set():
            out.write(f"{what}: done in {time.monotonic() - start:.1f} s\n")
            out.flush()
