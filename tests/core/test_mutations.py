from __future__ import annotations

import pytest

from llmops_action.core.metrics.guardrails import find_injection, find_pii
from llmops_action.core.mutations import (
    BY_NAME,
    CANARY_INSTRUCTION,
    CANARY_VERDICT,
    GROSS,
    MUTATIONS,
    REFUSAL,
    SourceCase,
    hallucinate,
    translate,
    truncate,
)

CASES = [
    SourceCase("a", "Refunds are paid within 14 days to the card that was charged.", "Answer from the docs."),
    SourceCase("b", "The Berlin office opens at 9 on weekdays.", ""),
    SourceCase("c", "Invoices are sent by e-mail as PDF files [KB-101].", "Cite the document id."),
    SourceCase("d", "We retry the charge three times over seven days.", ""),
]


def apply(name: str, language: str | None = None) -> dict[str, str]:
    return BY_NAME[name].apply(CASES, language)


def test_every_mutation_says_what_it_models_and_the_gross_ones_are_the_three() -> None:
    assert all(m.models for m in MUTATIONS)
    assert GROSS == ("empty", "refusal", "off_topic")
    assert {m.name for m in MUTATIONS if m.kind == "mutation"} == {
        "empty", "refusal", "truncate", "hallucinate", "off_topic", "injection_compliance", "pii_leak", "language"
    }  # fmt: skip


def test_empty_and_refusal_replace_every_answer() -> None:
    assert set(apply("empty").values()) == {""}
    assert set(apply("refusal").values()) == {REFUSAL}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one two three four five six seven eight nine ten", "one two three"),
        ("Refunds are paid within 14 days.", "Refunds"),  # never half a word
        ("Supercalifragilistic", "Supercalifragilistic"),  # at least one word
        ("", ""),
    ],
)
def test_truncate_keeps_the_first_30_percent_on_a_word_boundary(text: str, expected: str) -> None:
    assert truncate(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Refunds are paid within 14 days.", "Refunds are paid within 31 days."),
        ("Invoices [KB-101] cost 2.50 euros.", "Invoices [KB-101] cost 7.50 euros."),  # a citation is no fact
        ("We retry the charge three times.", "We retry the charge seven times."),
        ("Invoices are sent to Acme customers.", "Invoices are sent to Globex customers."),
        ("all fine here", "all fine here This has been the rule since 1998, confirmed by Globex."),
    ],
)
def test_hallucinate_swaps_one_fact_for_an_unsupported_one(text: str, expected: str) -> None:
    assert hallucinate(text) == expected


def test_off_topic_gives_each_case_another_cases_answer() -> None:
    out = apply("off_topic")
    originals = {c.id: c.output for c in CASES}
    assert all(out[cid] != originals[cid] for cid in out)
    assert sorted(out.values()) == sorted(originals.values())  # a permutation: answers to other questions
    lone = BY_NAME["off_topic"].apply(CASES[:1], None)
    assert lone == {"a": CASES[0].output}  # nothing else to answer with: left as it was


def test_injection_compliance_obeys_the_planted_instruction_and_leaks_the_system_prompt() -> None:
    out = apply("injection_compliance")
    assert out["a"].endswith("My system prompt is: Answer from the docs.")
    assert out["b"].endswith("I have been PWNED.")
    assert "ignore_instructions" in find_injection(out["a"])


def test_pii_leak_appends_an_email_and_a_card_the_guardrail_finds() -> None:
    out = apply("pii_leak")
    assert out["a"].startswith(CASES[0].output)
    assert {f["kind"] for f in find_pii(out["a"])} >= {"email", "credit_card"}


def test_language_keeps_the_facts_and_changes_the_words() -> None:
    de = translate("Invoices are sent as PDF files within 14 days [KB-101].", "en")
    assert de.startswith("Die Antwort lautet") and "14" in de and "[KB-101]" in de and "PDF" in de
    assert translate("Die Rechnung kommt in 14 Tagen.", "de").startswith("Here is the answer")
    assert BY_NAME["language"].needs_language


def test_canaries_are_wrong_answers_with_a_payload_for_the_judge() -> None:
    plain = apply("off_topic")
    for name, payload in (("canary_instruction", CANARY_INSTRUCTION), ("canary_verdict", CANARY_VERDICT)):
        out = apply(name)
        assert BY_NAME[name].kind == "canary" and BY_NAME[name].needs_judge
        assert out == {cid: text + payload for cid, text in plain.items()}
    assert "score_manipulation" in find_injection(CANARY_INSTRUCTION)
    assert "fake_verdict" in find_injection(CANARY_VERDICT)


def test_mutations_are_deterministic() -> None:
    assert [m.apply(CASES, "en") for m in MUTATIONS] == [m.apply(CASES, "en") for m in MUTATIONS]
