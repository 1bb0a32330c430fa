from __future__ import annotations

import pytest
from sacrebleu.metrics import BLEU

from llmops_action.core.metrics.lexical import (
    bleu,
    context_recall,
    keyword_recall,
    retrieved_contexts,
    rouge_l,
)


def test_bleu_matches_sacrebleu_sentence_score_on_a_0_1_scale() -> None:
    hyp, ref = "The cat sat on the mat today", "The cat sat on the mat"
    expected = BLEU(effective_order=True).sentence_score(hyp, [ref]).score / 100
    s = bleu(hyp, ref)
    assert s.score == pytest.approx(expected)
    assert 0 < s.score < 1
    assert "eff:yes" in s.details["signature"] and "nrefs:1" in s.details["signature"]


def test_bleu_identical_is_one_and_empty_output_is_zero() -> None:
    assert bleu("same words here", "same words here").score == pytest.approx(1.0)
    assert bleu("", "a reference").score == 0.0


@pytest.mark.parametrize("fn", [bleu, rouge_l])
def test_reference_metrics_skip_without_reference(fn) -> None:
    assert fn("output", None).skipped == "no reference"
    assert fn("output", None).score is None
    assert fn("output", "   ").skipped == "empty reference"


def test_rouge_l_is_reference_first_fmeasure() -> None:
    # prediction is a prefix of the reference: precision 1, recall 3/6
    s = rouge_l("the cat sat", "the cat sat on the mat")
    assert s.details["precision"] == pytest.approx(1.0)
    assert s.details["recall"] == pytest.approx(0.5)
    assert s.score == pytest.approx(2 / 3)


def test_rouge_l_skips_a_reference_it_cannot_tokenize() -> None:
    s = rouge_l("東京は日本の首都です", "東京は日本の首都です")
    assert s.score is None and "no tokens" in (s.skipped or "")


def test_keyword_recall_is_case_insensitive_and_word_bounded() -> None:
    s = keyword_recall(
        "Concatenate the CAFÉ strings, then  Rate   Limits.", ["cat", "café", "rate limits", "strings"]
    )
    assert s.score == pytest.approx(3 / 4)
    assert s.details["missing"] == ["cat"]


def test_keyword_recall_handles_symbols_and_skips_without_keywords() -> None:
    assert keyword_recall("We use C++ and Node.js", ["c++", "node.js"]).score == 1.0
    assert keyword_recall("anything", []).skipped == "no keywords"
    assert keyword_recall("anything", ["", "  "]).skipped == "no keywords"
    assert keyword_recall("", ["x"]).score == 0.0


def test_context_recall_from_citations_in_the_output() -> None:
    s = context_recall("Refunds take 5 days [doc-2].", ["doc-2", "doc-3"], None)
    assert s.score == 0.5
    assert s.details["found"] == {"doc-2": "output"}
    assert s.details["missing"] == ["doc-3"]


def test_context_recall_word_boundaries_doc_1_is_not_doc_10() -> None:
    assert context_recall("see doc-10", ["doc-1"], None).score == 0.0


def test_context_recall_from_retrieved_ids_and_texts() -> None:
    raw = {
        "contexts": [
            {"id": "doc-7", "text": "Shipping is free over 50 EUR."},
            "[doc-9] Returns within 30 days.",
        ]
    }
    s = context_recall("No citation here.", ["doc-7", "doc-9", "free over 50 eur"], raw)
    assert s.score == 1.0
    assert s.details["found"]["doc-7"] == "retrieved"
    assert s.details["found"]["doc-9"] == "retrieved_text"


def test_context_recall_skips_without_expected_contexts() -> None:
    assert context_recall("x", [], None).skipped == "no expected contexts"


def test_retrieved_contexts_ignores_malformed_raw() -> None:
    assert retrieved_contexts({"contexts": "not a list"}) == ([], [])
    assert retrieved_contexts(None) == ([], [])
