"""Reference-based lexical metrics: BLEU, ROUGE-L, keyword recall, context recall.

sacrebleu and rouge_score are imported on first use (rouge_score pulls in nltk, seconds of import time),
and their scorer objects are kept per thread because the runner scores cases concurrently.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from llmops_action.core.results import MetricScore

_local = threading.local()


def _bleu_scorer() -> Any:
    scorer = getattr(_local, "bleu", None)
    if scorer is None:
        from sacrebleu.metrics import BLEU

        # effective_order: sentence BLEU without it is 0 whenever a short output has no 4-gram match.
        scorer = _local.bleu = BLEU(effective_order=True)
    return scorer


def _rouge_scorer() -> Any:
    scorer = getattr(_local, "rouge", None)
    if scorer is None:
        from rouge_score import rouge_scorer

        scorer = _local.rouge = rouge_scorer.RougeScorer(["rougeL"])
    return scorer


def _no_reference(reference: str | None) -> MetricScore | None:
    if reference is None:
        return MetricScore(skipped="no reference")
    if not reference.strip():
        return MetricScore(skipped="empty reference")
    return None


def bleu(output: str, reference: str | None) -> MetricScore:
    """sacrebleu sentence BLEU with effective order, divided by 100; the signature goes in details."""
    if (skip := _no_reference(reference)) is not None:
        return skip
    assert reference is not None
    scorer = _bleu_scorer()
    result = scorer.sentence_score(output, [reference])
    return MetricScore(
        score=result.score / 100.0,
        details={"signature": str(scorer.get_signature()), "bleu": round(result.score, 4)},
    )


def rouge_l(output: str, reference: str | None) -> MetricScore:
    """rouge_score ROUGE-L F-measure, reference first (`score(target, prediction)`).

    rouge_score's default tokenizer keeps only [a-z0-9]; a reference in a non-Latin script has no tokens
    and would always score 0, so that case is a skip with its reason rather than a misleading 0.
    """
    if (skip := _no_reference(reference)) is not None:
        return skip
    assert reference is not None
    scorer = _rouge_scorer()
    if not scorer._tokenizer.tokenize(reference):
        return MetricScore(skipped="reference has no tokens rouge_score can read (it keeps only a-z, 0-9)")
    s = scorer.score(reference, output)["rougeL"]
    return MetricScore(
        score=float(s.fmeasure),
        details={"precision": float(s.precision), "recall": float(s.recall)},
    )


def _word_pattern(term: str) -> re.Pattern[str]:
    """Match `term` as a whole word: no word character right before or after it (unicode aware)."""
    return re.compile(r"(?<!\w)" + re.escape(term.casefold()) + r"(?!\w)")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def keyword_recall(output: str, keywords: Sequence[str]) -> MetricScore:
    """Share of the case's keywords found in the output, case-insensitive, on word boundaries
    ("cat" does not match "concatenate"); whitespace inside a keyword matches any run of whitespace."""
    wanted = [k for k in dict.fromkeys(_norm(k) for k in keywords) if k]
    if not wanted:
        return MetricScore(skipped="no keywords")
    text = _norm(output)
    found = [k for k in wanted if _word_pattern(k).search(text)]
    missing = [k for k in wanted if k not in found]
    return MetricScore(score=len(found) / len(wanted), details={"found": found, "missing": missing})


def retrieved_contexts(raw: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """(ids, texts) from a response's raw["contexts"]: a list of strings, or of objects with
    "id" and/or "text"/"content". A plain string counts as both a possible id and a text."""
    ids: list[str] = []
    texts: list[str] = []
    items = (raw or {}).get("contexts") or []
    if not isinstance(items, list):
        return ids, texts
    for item in items:
        if isinstance(item, str):
            ids.append(item)
            texts.append(item)
        elif isinstance(item, dict):
            if isinstance(item.get("id"), str | int):
                ids.append(str(item["id"]))
            for key in ("text", "content"):
                if isinstance(item.get(key), str):
                    texts.append(item[key])
    return ids, texts


def context_recall(output: str, expected: Sequence[str], raw: dict[str, Any] | None) -> MetricScore:
    """Share of the expected context documents the answer used.

    Rule: an expected entry (a document id or a passage of text) counts as recalled when, after
    case-folding and collapsing whitespace, it
      1. equals the id of a context the app reports as retrieved (ModelResponse.raw["contexts"]), or
      2. occurs on word boundaries in the output (a cited id such as "[doc-3]", or a quoted passage), or
      3. occurs on word boundaries inside the text of a retrieved context.
    So an app that exposes its retrieval is scored on retrieval; one that does not is scored on citations.
    """
    wanted = [e for e in dict.fromkeys(_norm(e) for e in expected) if e]
    if not wanted:
        return MetricScore(skipped="no expected contexts")
    ids, texts = retrieved_contexts(raw)
    id_set = {_norm(i) for i in ids}
    haystacks = [_norm(output), *(_norm(t) for t in texts)]
    found: list[str] = []
    how: dict[str, str] = {}
    for e in wanted:
        pattern = _word_pattern(e)
        if e in id_set:
            how[e] = "retrieved"
        elif pattern.search(haystacks[0]):
            how[e] = "output"
        elif any(pattern.search(h) for h in haystacks[1:]):
            how[e] = "retrieved_text"
        else:
            continue
        found.append(e)
    return MetricScore(
        score=len(found) / len(wanted),
        details={
            "found": {_short(e): how[e] for e in found},
            "missing": [_short(e) for e in wanted if e not in how],
            "retrieved": len(ids) if ids else len(texts),
        },
    )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
