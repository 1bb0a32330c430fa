"""Every bad input is exit 2 with the file, the line and the key, no traceback, and nothing half-written.

Each case starts from a workspace whose earlier run left a good results.json; the bad input must leave it
byte for byte as it was. The Python app records every call it gets, so "checked before any evaluation
starts" is asserted, not assumed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from llmops_action.cli.main import main
from tests.support.eval_workspace import make_workspace

EARLIER = '{"an": "earlier good results.json"}\n'
COUNTING_APP = """
from pathlib import Path

def answer(question, topic="general"):
    with open(Path(__file__).with_name("calls.log"), "a") as f:
        f.write(question + "\\n")
    return {"output": "The answer is 42. " + question}
"""


def workspace(root: Path, **kw: object) -> Path:
    make_workspace(root, extra={"tracking": False, "cache": {"enabled": False}}, **kw)  # type: ignore[arg-type]
    (root / "app.py").write_text(COUNTING_APP, encoding="utf-8")
    (root / "out").mkdir()
    (root / "out" / "results.json").write_text(EARLIER, encoding="utf-8")
    return root


def edit_config(root: Path, change: Callable[[dict], None]) -> None:
    path = root / ".llmops.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def edit_prompt(root: Path, **fields: str) -> None:
    path = root / "prompts" / "qa.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def call(argv: list[str]) -> int:
    """main() as the shell sees it: argparse's own errors leave through SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def cli(capsys: pytest.CaptureFixture[str], root: Path, *argv: str) -> tuple[int, str]:
    code = call(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def eval_argv(root: Path) -> list[str]:
    return ["eval", "--config", str(root / ".llmops.yml"), "--out", str(root / "out"), "--no-progress"]


def check_argv(root: Path) -> list[str]:
    return ["config", "check", "--config", str(root / ".llmops.yml")]


def assert_bad_input(root: Path, code: int, text: str, *expected: str) -> None:
    assert code == 2, text
    assert "Traceback" not in text
    for piece in expected:
        assert piece in text, (piece, text)
    assert (root / "out" / "results.json").read_text(encoding="utf-8") == EARLIER
    assert not (root / "calls.log").exists(), "an evaluation started before the input was checked"


def _binary_dataset(root: Path) -> tuple[str, ...]:
    good = json.dumps({"id": "a", "prompt": "qa", "vars": {"question": "x"}})
    (root / "data" / "cases.jsonl").write_bytes(good.encode() + b"\n\x89PNG\x00\x00\x1a\n")
    return ("cases.jsonl:2", "binary", "offset")


def _latin1_dataset(root: Path) -> tuple[str, ...]:
    rows = [{"id": f"c{i}", "prompt": "qa", "vars": {"question": f"q{i}"}} for i in range(2)]
    text = (
        "\n".join(json.dumps(r) for r in rows)
        + '\n{"id": "c2", "prompt": "qa", "vars": {"question": "café"}}\n'
    )
    (root / "data" / "cases.jsonl").write_bytes(text.encode("latin-1"))
    return ("cases.jsonl:3", "not UTF-8", "0xe9")


def _binary_prompt(root: Path) -> tuple[str, ...]:
    (root / "prompts" / "qa.yml").write_bytes(b"name: qa\nversion: 1.0.0\n\xff\xfe\x00t\x00")
    return ("qa.yml:3", "prompt file")


def _latin1_registry(root: Path) -> tuple[str, ...]:
    registry = root / ".llmops" / "registry"
    registry.mkdir(parents=True)
    (registry / "qa.json").write_bytes(
        '{"name": "qa", "active": "1.0.0", "log": [], "by": "José"}'.encode("latin-1")
    )
    return ("qa.json:1", "registry file is not UTF-8")


def _range_template(root: Path) -> tuple[str, ...]:
    edit_prompt(root, template="{% for i in range(10**8) %}x{% endfor %}")
    return ("cases.jsonl:1", "case 'c000'", "sandbox")


def _huge_string_template(root: Path) -> tuple[str, ...]:
    edit_prompt(root, template="{% for i in range(50000) %}{{ question * 100 }}{% endfor %}")
    return ("cases.jsonl:1", "case 'c000'", "limits.max_prompt_chars")


def _ljust_template(root: Path) -> tuple[str, ...]:
    edit_prompt(root, template="{{ question.ljust(10**9) }}")
    return ("cases.jsonl:1", "sandbox")


def _gate_unknown_metric(root: Path) -> tuple[str, ...]:
    edit_config(root, lambda c: c.update(gates={"absolute": [{"metric": "keyword_recal", "min": 0.5}]}))
    return (
        ".llmops.yml:",
        "key 'gates.absolute[0].metric'",
        "unknown metric 'keyword_recal'",
        "keyword_recall",
    )


def _regression_unknown_metric(root: Path) -> tuple[str, ...]:
    edit_config(root, lambda c: c.update(gates={"regression": {"metrics": ["score", "faithfulness"]}}))
    return (".llmops.yml:", "key 'gates.regression.metrics[1]'", "unknown metric 'faithfulness'")


def _drift_unknown_signal(root: Path) -> tuple[str, ...]:
    edit_config(root, lambda c: c.update(drift={"block": ["latency"]}))
    return (".llmops.yml:", "key 'drift.block[0]'", "unknown drift signal 'latency'", "latency_ms")


def _quoted_number(root: Path) -> tuple[str, ...]:
    edit_config(root, lambda c: c["metrics"][0].update(weight="0.2"))
    return (".llmops.yml:", "key 'metrics[0].weight'", "'0.2'", "Remove the quotes")


def _empty_dataset(root: Path) -> tuple[str, ...]:
    (root / "data" / "cases.jsonl").write_text("\n", encoding="utf-8")
    return (".llmops.yml:", "key 'datasets'", "no cases", "data/cases.jsonl")


def _missing_variable(root: Path) -> tuple[str, ...]:
    (root / "data" / "cases.jsonl").write_text(
        '{"id": "ok", "prompt": "qa", "vars": {"question": "q"}}\n{"id": "bad", "prompt": "qa", "vars": {}}\n',
        encoding="utf-8",
    )
    return ("cases.jsonl:2", "key 'vars.question'", "case 'bad'", "missing required variable")


def _undefined_variable(root: Path) -> tuple[str, ...]:
    edit_prompt(root, template="{{ question }} {{ undeclared }}")
    return ("cases.jsonl:1", "case 'c000'", "undefined")


def _failing_template(root: Path) -> tuple[str, ...]:
    edit_prompt(root, template="{{ 1 / 0 }}")
    return ("cases.jsonl:1", "ZeroDivisionError")


BAD_FILES = {
    "binary dataset": _binary_dataset,
    "non-UTF-8 dataset": _latin1_dataset,
    "binary prompt": _binary_prompt,
    "non-UTF-8 registry file": _latin1_registry,
    "range(10**8) in a template": _range_template,
    "a template building a huge string": _huge_string_template,
    "a template padding to 10**9": _ljust_template,
    "gate on an unknown metric": _gate_unknown_metric,
    "regression gate on an unknown metric": _regression_unknown_metric,
    "drift block on an unknown signal": _drift_unknown_signal,
    "quoted number": _quoted_number,
    "empty dataset": _empty_dataset,
    "case missing a required variable": _missing_variable,
    "template using an undefined variable": _undefined_variable,
    "template raising": _failing_template,
}


@pytest.mark.parametrize("command", ["eval", "config check"])
@pytest.mark.parametrize("bad", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_input_is_exit_2_before_any_call(
    bad: Callable[[Path], tuple[str, ...]], command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = workspace(tmp_path)
    expected = bad(root)
    argv = eval_argv(root) if command == "eval" else check_argv(root)
    code, text = cli(capsys, root, *argv)
    assert_bad_input(root, code, text, *expected)


def test_config_pointing_at_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = workspace(tmp_path)
    code, text = cli(capsys, root, "eval", "--config", str(root), "--out", str(root / "out"))
    assert_bad_input(root, code, text, "argument --config", "folder", f"--config {root / '.llmops.yml'}")


def test_out_pointing_at_a_file_is_refused_before_evaluating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = workspace(tmp_path)
    argv = eval_argv(root)
    argv[argv.index("--out") + 1] = str(root / "out" / "results.json")
    code, text = cli(capsys, root, *argv)
    assert_bad_input(root, code, text, "argument --out", "existing file")


@pytest.mark.parametrize("command", ["compare", "pr", "merge"])
def test_every_out_argument_is_checked(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("keep me", encoding="utf-8")
    argv = {
        "compare": ["compare", "--base", "b.json", "--head", "h.json", "--out", str(afile / "sub")],
        "pr": ["pr", "--out", str(afile)],
        "merge": ["merge", "r.json", "--out", str(afile)],
    }[command]
    code = call(argv)
    err = capsys.readouterr().err
    assert code == 2 and "argument --out" in err and "existing file" in err
    assert afile.read_text(encoding="utf-8") == "keep me"


def test_oversized_case_field_is_an_error_on_that_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [{"id": f"c{i}", "prompt": "qa", "vars": {"question": f"q{i}"}} for i in range(3)]
    cases.append({"id": "huge", "prompt": "qa", "vars": {"question": "x" * 2_000}})
    root = workspace(tmp_path, cases=cases)
    edit_config(root, lambda c: c.update(limits={"max_field_bytes": 1_000}, max_error_rate=0.5))
    code, text = cli(capsys, root, *check_argv(root))
    assert code == 0 and "cases.jsonl:4: case 'huge'" in text and "limits.max_field_bytes" in text
    code, text = cli(capsys, root, *eval_argv(root))
    assert code == 0, text
    assert "huge: case field 'vars.question' is 2,000 bytes, over the 1,000 bytes limit" in text
    results = (root / "out" / "results.json").read_text(encoding="utf-8")
    assert "x" * 1_000 not in results
    huge = next(c for c in json.loads(results)["cases"] if c["id"] == "huge")
    assert huge["output"] is None and "max_field_bytes" in huge["error"]
    assert "huge" not in (root / "calls.log").read_text(encoding="utf-8").split(), "the app saw the huge case"


def test_oversized_output_is_an_error_on_that_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = workspace(tmp_path, n_cases=2)
    (root / "app.py").write_text(
        'def answer(question, topic="general"):\n    return "y" * 5_000\n', encoding="utf-8"
    )
    edit_config(root, lambda c: c.update(limits={"max_field_bytes": 4_096}, max_error_rate=1.0))
    code, text = cli(capsys, root, *eval_argv(root))
    assert code == 0, text
    assert "c000: output is 5,000 bytes, over the 4,096 bytes limit (limits.max_field_bytes)" in text
    results = (root / "out" / "results.json").read_text(encoding="utf-8")
    assert "y" * 4_096 not in results


def test_rendered_prompt_cap_is_configurable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = workspace(tmp_path, n_cases=1)
    edit_config(root, lambda c: c.update(limits={"max_prompt_chars": 10}))
    code, text = cli(capsys, root, *check_argv(root))
    assert_bad_input(root, code, text, "cases.jsonl:1", "over 10 characters (limits.max_prompt_chars)")
