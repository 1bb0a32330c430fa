"""A tiny, deterministic help-desk app: retrieval over docs/ and an extractive answer.

It stands in for a real LLM app so the quickstart runs offline, yet it genuinely depends on the prompt: the
`python` provider passes the rendered system instruction (`system`) and user prompt (`prompt`), and the app
follows the rules it finds there, the way a model would:

- "Answer in one sentence" / "in two sentences" / "in a few sentences"  -> how many sentences it returns;
- "at most N words"                                                      -> cuts the answer to N words;
- "Cite the document id"                                                 -> appends "[KB-102]";
- 'If the documents do not contain the answer, say "..."'                -> declines when retrieval is weak.

So editing a prompt changes the outputs, and the scores, reproducibly. Used as `app:answer` in .llmops.yml.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import cache
from pathlib import Path

DOCS = Path(__file__).resolve().parent / "docs"
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "my",
        "of",
        "on",
        "or",
        "our",
        "the",
        "this",
        "to",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "there",
        "any",
        "get",
    ]
)
# Below this share of the question's informative words, the best passage is not an answer.
MIN_COVERAGE = 0.34


def _tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [w.rstrip("s") if len(w) > 3 else w for w in words if w not in STOPWORDS]


@cache
def corpus() -> dict[str, tuple[str, list[str]]]:
    """{doc id: (title, sentences)} from docs/<id>.md (first line '# Title', then one sentence per line)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(DOCS.glob("*.md")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out[path.stem] = (lines[0].lstrip("# "), lines[1:])
    return out


@cache
def _idf() -> dict[str, float]:
    docs = corpus()
    df: Counter[str] = Counter()
    for title, sentences in docs.values():
        df.update(set(_tokens(title + " " + " ".join(sentences))))
    return {w: math.log(1 + len(docs) / n) for w, n in df.items()}


def retrieve(question: str, k: int = 2) -> list[str]:
    """Ids of the k documents whose words best cover the question's (idf-weighted)."""
    idf = _idf()
    q = set(_tokens(question))
    scores = {}
    for doc_id, (title, sentences) in corpus().items():
        words = set(_tokens(title + " " + " ".join(sentences)))
        scores[doc_id] = sum(idf.get(w, 0.0) for w in q & words)
    return sorted(scores, key=lambda d: (-scores[d], d))[:k]


def _rank_sentences(question: str, doc_ids: list[str]) -> list[tuple[float, str, str]]:
    idf = _idf()
    q = set(_tokens(question))
    total = sum(idf.get(w, 1.0) for w in q) or 1.0
    ranked = []
    for doc_id in doc_ids:
        for i, sentence in enumerate(corpus()[doc_id][1]):
            coverage = sum(idf.get(w, 0.0) for w in q & set(_tokens(sentence))) / total
            ranked.append((coverage, -i, doc_id, sentence))
    ranked.sort(key=lambda r: (-r[0], -r[1], r[2]))
    return [(c, d, s) for c, _, d, s in ranked]


def _rules(system: str) -> dict[str, object]:
    text = system.lower()
    sentences = 2
    if "one sentence" in text:
        sentences = 1
    elif "a few sentences" in text:
        sentences = 3
    words = re.search(r"at most (\d+) words", text)
    decline = re.search(r'do not contain the answer, say "([^"]+)"', system, re.IGNORECASE)
    return {
        "sentences": sentences,
        "max_words": int(words[1]) if words else None,
        "cite": "cite the document id" in text,
        "decline": decline[1] if decline else None,
    }


def answer(question: str, *, system: str = "", prompt: str = "", **_: object) -> dict[str, object]:
    """The provider contract: a dict with the output and the retrieved contexts (for context recall)."""
    rules = _rules(system)
    doc_ids = retrieve(question)
    ranked = _rank_sentences(question, doc_ids)
    contexts = [f"{d}: {corpus()[d][0]}. {' '.join(corpus()[d][1])}" for d in doc_ids]
    if rules["decline"] and (not ranked or ranked[0][0] < MIN_COVERAGE):
        return {"output": str(rules["decline"]), "contexts": contexts}
    chosen = ranked[: int(rules["sentences"])]  # type: ignore[call-overload]
    text = " ".join(s for _, _, s in chosen)
    if rules["max_words"]:
        words = text.split()
        if len(words) > int(rules["max_words"]):  # type: ignore[call-overload]
            text = " ".join(words[: int(rules["max_words"])]).rstrip(",.;") + "."  # type: ignore[call-overload]
    if rules["cite"] and chosen:
        cited = " ".join(f"[{d}]" for d in dict.fromkeys(d for _, d, _ in chosen))
        text = f"{text.rstrip('.')} {cited}."
    return {"output": text, "contexts": contexts}
