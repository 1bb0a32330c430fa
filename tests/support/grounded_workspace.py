"""A workspace whose app answers from the case's context, for the self-test and judge-panel tests.

Each of the 8 cases carries a context of about 35 words with one number; the app answers with the context
itself, so the answer is fully supported (the grounded judge in tests/support/judges.py gives it 5) and the
reference matches it (ROUGE-L 1). Swapping the number (`hallucinate`) moves ROUGE-L by about 0.03, below the
regression gate's 0.05, while the judge sees an unsupported number.

root = make_grounded_workspace(tmp_path, metrics=LEXICAL, gates={...}, judge={...})
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.eval_workspace import make_workspace

APP = """
def answer(question, context="", **_):
    return {"output": context, "input_tokens": 20, "output_tokens": 35}
"""

CONTEXTS = [
    "The Berlin office opens at 9 in the morning on weekdays and closes early on Fridays, when the support "
    "team hands the queue over to colleagues in Lisbon for the evening shift and the weekend rota.",
    "Refunds for annual plans are paid back within 14 days of the request, to the card that was charged, and "
    "the invoice history keeps a credit note so that accountants can match every payment with its refund.",
    "Each workspace stores up to 250 gigabytes of attachments before the storage page asks an administrator "
    "to archive old projects, buy another block of space, or move large recordings to an external bucket.",
    "Passwords must be rotated every 90 days on enterprise accounts, and single sign-on users follow the "
    "policy of their identity provider instead, which the security settings page shows next to each member.",
    "The mobile app keeps drafts offline for 30 days, synchronises them as soon as a connection returns, and "
    "warns the author about conflicting edits made on another device in the meantime by a teammate.",
    "Exports of audit logs are limited to 5 per hour per organisation, run in the background, and arrive as a "
    "compressed archive whose download link stays valid for one week after the export has finished.",
    "Guests invited to a shared board can comment for 60 days without an account, after which the owner "
    "decides whether to extend access, convert them to members, or remove the board from their view.",
    "Support tickets marked urgent receive a first reply within 2 hours around the clock, while normal "
    "tickets are answered during business hours in the order they arrived in the queue of each region.",
]

LEXICAL: list[dict[str, Any]] = [
    {"type": "rouge_l", "weight": 1.0},
    {"type": "keyword_recall", "weight": 1.0},
]
FAITHFULNESS: dict[str, Any] = {"type": "judge", "criterion": "faithfulness", "weight": 1.0}


def grounded_cases() -> list[dict[str, Any]]:
    cases = []
    for i, context in enumerate(CONTEXTS):
        words = [w.strip(",.") for w in context.split() if len(w) > 6]
        cases.append(
            {
                "id": f"g{i:02d}",
                "prompt": "qa",
                "vars": {
                    "question": f"Question {i} about the policy?",
                    "topic": "policy",
                    "context": context,
                },
                "reference": context,
                "keywords": words[:2],
            }
        )
    return cases


def make_grounded_workspace(root: Path, *, metrics: list[dict[str, Any]], **extra: Any) -> Path:
    make_workspace(root, metrics=metrics, cases=grounded_cases(), extra={"tracking": False, **extra})
    (root / "app.py").write_text(APP, encoding="utf-8")
    return root
