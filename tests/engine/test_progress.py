"""Progress lines in CI, a bar on a terminal, silence for work that ends within two seconds."""

from __future__ import annotations

import io
import time

from llmops_action.engine.progress import Progress, slow_step


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_a_line_every_few_seconds_and_a_last_one() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("eval", 400, stream=out, tty=False, clock=clock) as p:
        for i in range(400):
            clock.now = i * 0.1  # 40 s in all
            p.update(errors=int(i % 100 == 0))
    lines = out.getvalue().splitlines()
    assert lines[0] == "eval: 21/400 cases, 1 error, 2.0 s"  # nothing before two seconds
    assert lines[1] == "eval: 71/400 cases, 1 error, 7.0 s"  # then one line every five
    assert lines[-1] == "eval: 400/400 cases, 4 errors, 39.9 s"
    assert len(lines) == 9


def test_quick_work_prints_nothing() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("eval", 5, stream=out, tty=False, clock=clock) as p:
        for _ in range(5):
            clock.now += 0.1
            p.update()
    assert out.getvalue() == ""


def test_a_terminal_gets_a_bar() -> None:
    out = io.StringIO()
    with Progress("eval", 3, stream=out, tty=True, delay=0) as p:
        for _ in range(3):
            p.update()
    assert "eval:" in out.getvalue() and "/3 [" in out.getvalue()  # a tqdm bar, redrawn in place


def test_a_slow_step_says_what_it_does_and_how_long_it_took() -> None:
    out = io.StringIO()
    with slow_step("mlflow: logging the run to sqlite:///x.db", stream=out, delay=0.05):
        time.sleep(0.2)
    first, last = out.getvalue().splitlines()
    assert first == "mlflow: logging the run to sqlite:///x.db..."
    assert last.startswith("mlflow: logging the run to sqlite:///x.db: done in ")
    quiet = io.StringIO()
    with slow_step("quick", stream=quiet, delay=5):
        pass
    assert quiet.getvalue() == ""
