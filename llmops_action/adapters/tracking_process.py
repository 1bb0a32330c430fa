"""Live MLflow tracking in a child process: the evaluation's interpreter never imports mlflow.

Why a process and not a thread: `import mlflow`, creating the store and writing a trace per case are a few
seconds of CPU. In a thread they hold the GIL that the evaluation's worker threads need to handle each model
response, and a 400-case run got 10 % slower. A child interpreter runs the same `LiveTracker` on another core,
and the parent only pickles each scored case into a pipe.

The protocol is pickles both ways between two processes of the same installation, nothing else on either
end. Parent to child: ("open", kwargs), ("case", CaseResult)..., ("trend", kwargs)?, then ("finish", kwargs) or
("abort", None). Child to parent: ("log", text) for whatever the child prints (shown on the parent's stderr,
where a user, or a test, sees it) and ("reply", value) for trend and finish. A child that cannot start or
dies leaves the parent to do the same in-process (`log_run`); one that does not answer within
`tracking.timeout` is stopped. Either way tracking costs one warning at worst, never the evaluation.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from llmops_action.adapters.tracking import TrackingOutcome
    from llmops_action.adapters.tracking_dataset import DatasetCases
    from llmops_action.core.comparison import Comparison, TrendPoint
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.results import CaseResult, PromptInfo, RunResult
    from llmops_action.engine.workspace import Workspace

_EOF = object()  # the child is gone
_LATE = object()  # the child did not answer within tracking.timeout


class Tracker(Protocol):
    """What the evaluation and the report use of a live tracker (TrackerProcess, or LiveTracker in-process)."""

    def add(self, case: CaseResult) -> None: ...

    def trend(self, *, branch: str, head: RunResult | None = None) -> list[TrendPoint] | None: ...

    def finish(
        self,
        result: RunResult,
        files: Mapping[str, Path] | None = None,
        comparison: Comparison | None = None,
    ) -> TrackingOutcome: ...

    def abort(self) -> None: ...


class TrackerProcess:
    """The parent's side: the same calls as LiveTracker (add, trend, finish, abort), answered by the child."""

    def __init__(
        self,
        config: LlmopsConfig,
        root: Path,
        prompts: list[PromptInfo],
        *,
        suite: str,
        environ: Mapping[str, str] | None = None,
        dataset: DatasetCases | None = None,
    ) -> None:
        self.config, self.root = config, Path(root)
        self.environ = None if environ is None else dict(environ)
        package_parent = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "llmops_action.adapters.tracking_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._finished = False
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._replies: queue.Queue[Any] = queue.Queue()
        self._writer = threading.Thread(target=self._write, name="llmops-mlflow-out", daemon=True)
        self._reader = threading.Thread(target=self._read, name="llmops-mlflow-in", daemon=True)
        self._writer.start()
        self._reader.start()
        opening = {
            "config": config,
            "root": self.root,
            "prompts": prompts,
            "suite": suite,
            "environ": environ,
            "dataset": dataset,
        }
        self._outbox.put(("open", opening))

    def add(self, case: CaseResult) -> None:
        self._outbox.put(("case", case))

    def trend(self, *, branch: str, head: RunResult | None = None) -> list[TrendPoint] | None:
        """The trend points, or None when the child is gone (the caller then reads the store itself)."""
        self._outbox.put(("trend", {"branch": branch, "head": head}))
        reply = self._reply()
        return None if reply in (_EOF, _LATE) else reply  # type: ignore[no-any-return]

    def finish(
        self,
        result: RunResult,
        files: Mapping[str, Path] | None = None,
        comparison: Comparison | None = None,
    ) -> TrackingOutcome:
        self._finished = True
        self._outbox.put(("finish", {"result": result, "files": files, "comparison": comparison}))
        self._outbox.put(None)
        reply = self._reply()
        if reply is _LATE:
            return self._gave_up()
        self._proc.wait()
        if reply is not _EOF:
            return reply  # type: ignore[no-any-return]
        # The child died: log what it may not have, here (a run it left half-done stays FAILED/RUNNING).
        from llmops_action.adapters.tracking import log_run, store_dir

        cfg = self.config.tracking_config
        return log_run(
            result,
            comparison=comparison,
            files=files,
            cfg=cfg,
            out_dir=store_dir(self.root),
            environ=self.environ,
            config=self.config,
        )

    def abort(self) -> None:
        if self._finished:  # after finish() the run's end is decided: an error later must not undo it
            return
        self._finished = True
        self._outbox.put(("abort", None))
        self._outbox.put(None)

    # --- the pipes --------------------------------------------------------------------------------------

    def _reply(self) -> Any:
        """The child's next reply, _EOF when it is gone, or _LATE past `tracking.timeout` (then it is killed)."""
        try:
            reply = self._replies.get(timeout=self.config.tracking_config.timeout)
        except queue.Empty:
            with contextlib.suppress(OSError):
                self._proc.kill()
            reply = _LATE
        if reply is _EOF or reply is _LATE:
            self._replies.put(reply)  # every later call sees the child gone, none waits for ever
        return reply

    def _gave_up(self) -> TrackingOutcome:
        """A store that hangs must not hang the run: one warning, as for any other tracking failure."""
        from llmops_action.adapters.tracking import TrackingOutcome, public_uri, resolve_uri, store_dir

        cfg = self.config.tracking_config
        uri = public_uri(resolve_uri(cfg, store_dir(self.root), self.environ))
        warning = (
            f"MLflow tracking to {uri} did not finish within {cfg.timeout:g} s (tracking.timeout); "
            "the evaluation result is unaffected"
        )
        print(f"llmops-action: warning: {warning}", file=sys.stderr)
        return TrackingOutcome(warning=warning)

    def _write(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while (message := self._outbox.get()) is not None:
                pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.flush()
        except Exception:  # a dead child, or a message that cannot travel: finish() falls back to log_run
            with contextlib.suppress(OSError):
                self._proc.kill()  # so the reader sees EOF and nobody waits for a reply that cannot come
        with contextlib.suppress(OSError):
            stdin.close()

    def _read(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            while True:
                kind, value = pickle.load(stdout)
                if kind == "log":
                    sys.stderr.write(value)
                    sys.stderr.flush()
                else:
                    self._replies.put(value)
        except (EOFError, OSError, pickle.UnpicklingError):
            self._replies.put(_EOF)


def start_tracker(
    config: LlmopsConfig,
    root: Path,
    prompts: list[PromptInfo],
    *,
    suite: str,
    environ: Mapping[str, str] | None = None,
    dataset: DatasetCases | None = None,
) -> Tracker:
    """A tracker in a child process, or in a thread of this one when no child can be started."""
    try:
        return TrackerProcess(config, root, prompts, suite=suite, environ=environ, dataset=dataset)
    except OSError:
        from llmops_action.adapters.tracking_live import LiveTracker

        return LiveTracker(config, root, prompts, suite=suite, environ=environ, dataset=dataset)


def live_tracking(ws: Workspace, root: Path) -> Tracker | None:
    """With tracking on, MLflow opens in a child process while the cases run (adapters/tracking_process);
    `root` holds the project's store. The caller finishes it with the result, or aborts it."""
    if not ws.config.tracking_config.enabled:
        return None
    from llmops_action.adapters.tracking_dataset import DatasetCases
    from llmops_action.adapters.tracking_prompts import prompt_info
    from llmops_action.engine.evaluate import dataset_hash

    used = sorted({c.prompt for c in ws.cases} or set(ws.prompts))
    prompts = [prompt_info(ws.prompts[n]) for n in used if n in ws.prompts]
    suite = ws.config.suite
    dataset = DatasetCases(suite, dataset_hash(ws.cases), ws.cases)
    return start_tracker(ws.config, root, prompts, suite=suite, environ=None, dataset=dataset)


def feed(tracker: Tracker | None) -> Callable[[CaseResult], None] | None:
    """What the evaluation calls with each scored case: the tracker's `add`, or nothing."""
    return tracker.add if tracker is not None else None


@contextmanager
def aborted_on_error(tracker: Tracker | None) -> Iterator[None]:
    try:
        yield
    except BaseException:
        if tracker is not None:
            tracker.abort()  # the run it opened ends KILLED, not running for ever
        raise


# --- the child --------------------------------------------------------------------------------------------


class _Forward:
    """A text stream whose writes travel to the parent as ("log", text)."""

    def __init__(self, send: Any) -> None:
        self._send = send

    def write(self, text: str) -> int:
        if text:
            self._send(("log", text))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def child_main(inp: IO[bytes], out: IO[bytes]) -> int:
    from llmops_action.adapters.tracking_live import LiveTracker

    lock = threading.Lock()

    def send(message: tuple[str, Any]) -> None:
        with lock:
            pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()

    sys.stdout = sys.stderr = _Forward(send)  # type: ignore[assignment]
    kind, opening = pickle.load(inp)
    if kind != "open":
        return 2
    tracker = LiveTracker(**opening)
    while True:
        try:
            kind, value = pickle.load(inp)
        except EOFError:  # the parent is gone without a word: the run is not finished, say so in MLflow
            tracker.abort()
            return 1
        if kind == "case":
            tracker.add(value)
        elif kind == "trend":
            send(("reply", tracker.trend(**value)))
        elif kind == "finish":
            send(("reply", tracker.finish(**value)))
            return 0
        else:
            tracker.abort()
            return 0


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: the parent decides (it aborts, or the pipe closes), so the child
    # ends its run as KILLED instead of dying mid-write with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # C-level writes to stdout must never land in the reply channel
    code = child_main(sys.stdin.buffer, replies)
    # Everything is committed and replied by now. A normal exit tears down mlflow's module graph and runs
    # its atexit hooks (telemetry, async queues this process never used): 0.7 s the user would wait for.
    os._exit(code)
