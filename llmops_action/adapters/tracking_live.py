"""MLflow work that overlaps the evaluation: a thread imports mlflow, opens the store, finds or creates the
experiment and the evaluation dataset while the first cases run, creates the run (prompts linked, dataset as
its input) once a case is scored, then logs each case's trace as soon as it arrives. At the end `log_run`
only adds what needs the whole result (params, metrics, tags, files).

It runs inside the tracking child process (tracking_process), so its CPU is not the evaluation's: importing
mlflow and its store takes seconds, and done after the evaluation that is time the user waits for. A failure
here is never raised: `finish` falls back to the plain `log_run`, which reports it as its one warning.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmops_action.adapters.tracking import TrackingOutcome
    from llmops_action.adapters.tracking_dataset import DatasetCases
    from llmops_action.adapters.tracking_traces import TraceContext
    from llmops_action.core.comparison import Comparison, TrendPoint
    from llmops_action.core.config import LlmopsConfig
    from llmops_action.core.results import CaseResult, PromptInfo, RunResult

BATCH = 25  # cases per round of writes: fewer, larger transactions for the spans
_DONE = object()


@dataclass
class LiveRun:
    """The run the thread created, and the cases whose traces are already logged."""

    client: Any
    uri: str
    experiment_id: str
    run_id: str
    start_ms: int
    linked_prompts: dict[str, str]
    dataset_id: str | None = None  # the evaluation dataset, linked as the run's input at open
    logged: set[str] = field(default_factory=set)


class LiveTracker:
    """Feed it each scored case (`add`); `finish(result)` completes the run and returns the outcome."""

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
        self.config = config
        self.dataset = dataset
        self.root = Path(root)
        self.prompts = prompts
        self.suite = suite
        self.environ = environ
        self.live: LiveRun | None = None
        self.error: BaseException | None = None
        self._added = 0
        self._ended = False  # the thread has taken the end mark (_DONE): nothing more will come
        self._finished = False  # finish() or abort() was called: the run's end is decided
        self._opened = threading.Event()  # set once the store is open (or could not be): trend() waits on it
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="llmops-mlflow", daemon=True)
        self._thread.start()

    def add(self, case: CaseResult) -> None:
        self._added += 1
        self._queue.put(case)

    def trend(self, *, branch: str, head: RunResult | None = None) -> list[TrendPoint]:
        """The comment's score trend from the store this run logs to (opened by then, so no second open)."""
        from llmops_action.adapters.history import recent_trend
        from llmops_action.adapters.tracking import store_dir

        if self._added:
            self._opened.wait()
        cfg = self.config.tracking_config
        store = store_dir(self.root)
        return recent_trend(cfg, store, suite=self.suite, branch=branch, head=head, environ=self.environ)

    def finish(
        self,
        result: RunResult,
        files: Mapping[str, Path] | None = None,
        comparison: Comparison | None = None,
    ) -> TrackingOutcome:
        from llmops_action.adapters.tracking import log_run, store_dir

        self._finished = True
        self._queue.put(_DONE)
        self._thread.join()
        live = self.live if self.error is None else None
        return log_run(
            result,
            comparison=comparison,
            files=files,
            cfg=self.config.tracking_config,
            out_dir=store_dir(self.root),
            environ=self.environ,
            config=self.config,
            live=live,
        )

    # --- the thread ----------------------------------------------------------------------------------

    def abort(self) -> None:
        """The evaluation stopped (bad input, interrupted): the thread ends and a run it opened is marked
        KILLED, so the MLflow UI does not show it running for ever. After finish() there is nothing to abort."""
        if self._finished:
            return
        self._finished = True
        self._queue.put(_DONE)
        self._thread.join()
        if self.live is not None and self.error is None:
            with contextlib.suppress(Exception):
                self.live.client.set_terminated(self.live.run_id, status="KILLED")

    def _work(self) -> None:
        try:
            # The slow part (importing mlflow and its store, opening it), done while the first cases run.
            from mlflow.tracing.client import TracingClient  # noqa: F401

            store = self._connect()
            first = self._take()
            if first is _DONE:
                return  # no case was scored: create no run
            self.live = self._open(*store)
            self._opened.set()
            ctx = self._context(self.live)
            pending = [first]
            while not self._ended:
                batch = pending or [self._take()]
                pending = []
                while len(batch) < BATCH and not self._queue.empty():
                    batch.append(self._take())
                self._log(self.live, ctx, [c for c in batch if c is not _DONE])
        except BaseException as exc:  # finish() falls back to the plain path, which reports it
            self.error = exc
            self._opened.set()
            while not self._ended:  # drain up to the end mark, so nothing waits on a dead consumer
                self._take()

    def _take(self) -> Any:
        item = self._queue.get()
        self._ended = self._ended or item is _DONE
        return item

    def _connect(self) -> tuple[Any, str, str, Any]:
        """The store's client, the experiment and the evaluation dataset (all reused by later runs)."""
        from llmops_action.adapters.tracking import (
            client_for,
            ensure_experiment,
            experiment_name,
            is_embedded,
            mlflow_env,
            resolve_uri,
            store_dir,
        )
        from llmops_action.adapters.tracking_dataset import ensure_dataset

        cfg = self.config.tracking_config
        store = store_dir(self.root)
        uri = resolve_uri(cfg, store, self.environ)
        with mlflow_env(self.environ):
            if is_embedded(uri):
                store.mkdir(parents=True, exist_ok=True)
            client = client_for(uri)
            exp_id = ensure_experiment(
                client, experiment_name(cfg, self.suite, environ=self.environ, store=store), uri, store
            )
            dataset = None
            if self.dataset is not None:
                dataset = ensure_dataset(client, exp_id, self.dataset, self._redact())
        return client, uri, exp_id, dataset

    def _open(self, client: Any, uri: str, exp_id: str, dataset: Any) -> LiveRun:
        """The run, once a case is scored: its prompts linked and its dataset as its input."""
        from llmops_action.adapters.tracking import global_store, mlflow_env
        from llmops_action.adapters.tracking_dataset import run_input
        from llmops_action.adapters.tracking_prompts import register_run_prompts

        with mlflow_env(self.environ):
            run = client.create_run(
                exp_id, run_name=f"{self.suite} (running)", tags={"llmops.suite": self.suite}
            )
            run_id = run.info.run_id
            with global_store(uri, exp_id):
                linked = register_run_prompts(client, run_id, self.prompts)
            dataset_id = None
            if dataset is not None and self.dataset is not None:
                client.log_inputs(run_id, datasets=[run_input(dataset, self.dataset)])
                dataset_id = str(dataset.dataset_id)
        return LiveRun(client, uri, exp_id, run_id, int(time.time() * 1000), linked, dataset_id)

    def _redact(self) -> Callable[[str], str]:
        from llmops_action.adapters.tracking import redact, secret_values

        secrets = sorted({*secret_values(), *secret_values(self.environ or {})}, key=len, reverse=True)
        return lambda text: redact(text, secrets)

    def _context(self, live: LiveRun) -> TraceContext:
        from llmops_action.adapters.tracking_traces import TraceContext

        provider = self.config.provider
        return TraceContext(
            live.experiment_id,
            live.run_id,
            provider.type,
            getattr(provider, "model", None),
            {p.name: p for p in self.prompts},
            self._redact(),
            live.linked_prompts,
        )

    def _log(self, live: LiveRun, ctx: TraceContext, cases: list[CaseResult]) -> None:
        from llmops_action.adapters.tracking import is_embedded, mlflow_env
        from llmops_action.adapters.tracking_traces import log_traces

        if not cases:
            return
        with mlflow_env(self.environ):
            first = live.start_ms + len(live.logged)
            log_traces(live.uri, cases, ctx, first, remote=not is_embedded(live.uri))
        live.logged.update(c.id for c in cases)
