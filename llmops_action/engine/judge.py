"""Run the LLM judge for one metric on one case.

Every call gets its own nonce (the tags around untrusted fields carry it). The nonce is a digest of the
call's own content, so the untrusted text cannot predict it (it would have to contain its own hash) while
the same call gets the same request, and the judge cache can hit. A verdict that does not parse is retried
once with a new nonce (the attempt is part of the digest), then becomes an error. Never a neutral or
passing score.

With `samples: k` the judge is called k times (sample index 0..k-1, part of the cache key) and the mean is
the score. If any sample fails, the whole metric is an error: averaging the samples that happened to succeed
would quietly turn "k judgements" into fewer, and a flaky judge would look steadier than it is.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from llmops_action.core.config import JudgeConfig, MetricConfig
from llmops_action.core.dataset import Case
from llmops_action.core.metrics.judge_prompt import (
    JudgeParseError,
    JudgeVerdict,
    build_judge_request,
    parse_judge_output,
)
from llmops_action.core.results import MetricScore
from llmops_action.engine.providers.base import ModelRequest, ModelResponse
from llmops_action.errors import ProviderError

NO_CREDENTIALS = "no judge credentials"
_OK_FINISH = (None, "STOP", "FINISH_REASON_UNSPECIFIED")


class _JudgeFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def acceptable(response: ModelResponse, metric: MetricConfig) -> bool:
    """A judge reply worth caching: not blocked, finished normally, a verdict that parses within the scale."""
    if response.blocked or response.finish_reason not in _OK_FINISH:
        return False
    try:
        parse_judge_output(response.text, metric.scale)
    except JudgeParseError:
        return False
    return True


def no_answer(metric: MetricConfig, reason: str) -> MetricScore:
    """A case the model gave no answer to (a safety block, an empty reply) is the product's behaviour, so it is
    scored, not dropped: the scale's minimum on every judge criterion, without asking the judge."""
    details = {
        "criterion": metric.criterion,
        "reasoning": f"{reason}: scored the scale's minimum",
        "no_answer": True,
    }
    passed = None if metric.threshold is None else metric.threshold <= 0.0
    return MetricScore(score=0.0, passed=passed, details=details)


def skipped_judge(metric: MetricConfig) -> MetricScore:
    """What a judge metric records when no judge can run (no GEMINI_API_KEY): a skip, never a score."""
    return MetricScore(skipped=NO_CREDENTIALS, details={"criterion": metric.criterion})


def _nonce(
    metric: MetricConfig, case: Case, output: str, sample: int, attempt: int, retrieved: Sequence[str] | None
) -> str:
    blob = json.dumps(
        [
            # what changes the request; a weight or a threshold only changes how the verdict is used, so a
            # re-weighted metric hits the cache
            metric.model_dump(mode="json", exclude={"weight", "threshold"}),
            case.model_dump(mode="json"),
            output,
            sample,
            attempt,
            list(retrieved or []),
        ],
        sort_keys=True,
        default=str,
    )
    nonce = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
    # Astronomically unlikely, but a field that contains the nonce could close its own block.
    while nonce in blob:
        nonce = hashlib.sha256(nonce.encode()).hexdigest()[:16]
    return nonce


def _one_sample(
    metric: MetricConfig,
    case: Case,
    output: str,
    complete: Callable[[ModelRequest], ModelResponse],
    judge_cfg: JudgeConfig,
    sample: int,
    retrieved: Sequence[str] | None,
) -> tuple[JudgeVerdict, ModelResponse, int]:
    """(verdict, response, attempts). Raises _JudgeFailure with the reason."""
    last_parse_error = ""
    for attempt in (1, 2):
        request = build_judge_request(
            metric,
            case,
            output,
            judge_cfg,
            nonce=_nonce(metric, case, output, sample, attempt, retrieved),
            sample=sample,
            retrieved=retrieved,
        )
        try:
            response = complete(request)
        except ProviderError as exc:
            raise _JudgeFailure(f"provider error: {exc.message}") from None
        if response.blocked:
            raise _JudgeFailure(f"judge prompt blocked ({response.blocked})")
        if response.finish_reason not in _OK_FINISH:
            raise _JudgeFailure(f"judge stopped with finish reason {response.finish_reason}")
        try:
            return parse_judge_output(response.text, metric.scale), response, attempt
        except JudgeParseError as exc:
            last_parse_error = exc.reason
    raise _JudgeFailure(f"unparseable verdict after a retry: {last_parse_error}")


def _total(values: Iterable[int | None]) -> int | None:
    """The sum, or None when any count is unknown (an unknown count is not zero)."""
    items = list(values)
    return None if not items or None in items else sum(v or 0 for v in items)


def judge_case(
    metric: MetricConfig,
    case: Case,
    output: str,
    complete: Callable[[ModelRequest], ModelResponse],
    judge_cfg: JudgeConfig,
    *,
    retrieved: Sequence[str] | None = None,
) -> MetricScore:
    """Judge `output` on `metric` (a judge metric). `complete` is the runner's call (retries, rate limit,
    cache). `retrieved`: context texts the app used, if it reported them; better grounding for faithfulness."""
    verdicts: list[JudgeVerdict] = []
    responses: list[ModelResponse] = []
    attempts = 0
    for sample in range(judge_cfg.samples):
        try:
            verdict, response, n = _one_sample(metric, case, output, complete, judge_cfg, sample, retrieved)
        except _JudgeFailure as exc:
            where = f" (sample {sample + 1} of {judge_cfg.samples})" if judge_cfg.samples > 1 else ""
            return MetricScore(error=f"judge: {exc.reason}{where}", details={"judge_model": judge_cfg.model})
        verdicts.append(verdict)
        responses.append(response)
        attempts += n
    scores = [v.normalized for v in verdicts]
    mean = statistics.fmean(scores)
    details: dict[str, Any] = {
        "criterion": metric.criterion,
        "raw_scores": [v.score for v in verdicts],
        "scale": list(metric.scale),
        "reasoning": verdicts[0].reasoning,
        "manipulation_detected": any(v.manipulation_detected for v in verdicts),
        "judge_model": judge_cfg.model,
        "judge_model_version": next((r.model_version for r in responses if r.model_version), None),
        "samples": len(verdicts),
        "calls": attempts,
        "cache_hits": sum(1 for r in responses if r.cache_hit),
        # Per judge call, for the span of this metric in the case's MLflow trace.
        "latency_ms": sum(r.latency_ms for r in responses),
        "input_tokens": _total(r.input_tokens for r in responses),
        "output_tokens": _total(r.output_tokens for r in responses),
    }
    if len(scores) > 1:
        details["std"] = statistics.pstdev(scores)
        details["min"] = min(scores)
        details["max"] = max(scores)
    passed = None if metric.threshold is None else mean >= metric.threshold
    return MetricScore(score=mean, passed=passed, details=details)
