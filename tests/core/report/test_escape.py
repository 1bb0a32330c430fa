from __future__ import annotations

import pytest

from llmops_action.core.report import escape
from tests.core.report.mdcheck import parse, problems


def test_prose_neutralises_mentions_and_issue_refs() -> None:
    out = escape.prose("thanks @octocat and @github/security-team, see #12 and a@b.com")
    assert "@" not in out
    assert "＠octocat" in out and "＠github/security-team" in out
    assert "＃12" in out


def test_prose_escapes_html_so_nothing_renders_or_closes() -> None:
    out = escape.prose("</details><!-- x --><img src=x onerror=alert(1)>&amp;")
    assert "<" not in out and ">" not in out.replace("&gt;", "")
    assert out.startswith("&lt;/details&gt;&lt;") and "<!--" not in out
    assert "&amp;amp;" in out  # an entity in the input is shown, not decoded


def test_prose_escapes_markdown_links_images_and_emphasis() -> None:
    out = escape.prose("![track](http://x/p.png) [click](javascript:alert) *bold* `code`")
    assert "\\!\\[track\\]" in out and "\\[click\\]" in out and "\\*bold\\*" in out and "\\`code\\`" in out


def test_prose_is_one_line_and_escapes_block_starts_only_where_asked() -> None:
    assert escape.prose("a\nb\r\nc") == "a<br>b<br>c"
    assert escape.prose("# title", line_start=True) == "\\# title"
    assert escape.prose("1. item", line_start=True) == "1\\. item"
    assert escape.prose("1.2.0") == "1.2.0"


def test_cell_escapes_pipes_and_newlines() -> None:
    out = escape.cell("a | b\nc")
    assert out == "a \\| b<br>c"
    assert escape.cell("") == " "


@pytest.mark.parametrize(
    "char",
    ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff"],
)
def test_invisible_and_bidi_characters_are_removed(char: str) -> None:
    assert escape.strip_invisible(f"a{char}b") == "ab"
    assert char not in escape.fence(f"x{char}y")
    assert char not in escape.prose(f"x{char}y")


def test_stripping_happens_before_mention_neutralising() -> None:
    # "@\u200buser" becomes "@user" once the zero-width space is gone: it must still not ping.
    assert "@" not in escape.prose("@\u200buser @\u202eorg/team")


def test_truncate_says_how_much_is_left_out() -> None:
    assert escape.truncate("abcdef", 4) == "abcd… (2 more characters)"
    assert escape.truncate("abc", 4) == "abc"
    assert escape.truncate("abc", None) == "abc"


@pytest.mark.parametrize(
    "content",
    ["```", "````\n```", "a ``````` b", "~~~\n```\n~~~~", "```diff\n+x\n```", "`", ""],
)
def test_fence_cannot_be_closed_by_its_content(content: str) -> None:
    block = escape.fence(content, "text")
    parsed = parse(f"before\n\n{block}\n\nafter")
    assert not parsed.unclosed
    assert parsed.fences == [("text", content)]
    assert parsed.outside == ["before", "", "", "after"]


def test_fence_keeps_mentions_verbatim_but_breaks_html_comments() -> None:
    block = escape.fence("@user <!-- llmops-action:comment suite=default -->", "text")
    assert "@user" in block  # GitHub never links a mention inside code
    assert "<!--" not in block


def test_fence_truncates_before_fencing() -> None:
    block = escape.fence("x" * 10_000, "text", limit=100)
    assert block.endswith("… (9900 more characters)\n```")
    assert problems(block) == []


def test_fence_rejects_an_unsafe_info_string() -> None:
    with pytest.raises(ValueError):
        escape.fence("x", "diff\n```")


def test_link_url_accepts_http_only_and_encodes_parentheses() -> None:
    assert escape.link_url("https://x.test/a(b)") == "https://x.test/a%28b%29"
    assert escape.link_url("javascript:alert(1)") is None
    assert escape.link_url("https://x.test/a b") is None


def test_label_keeps_mermaid_strings_closed() -> None:
    assert '"' not in escape.label('main"]; click x')
    assert escape.label("") == "?"


def test_short_sha_only_accepts_hex() -> None:
    assert escape.short_sha("0123456789abcdef") == "0123456"
    assert escape.short_sha("`@user`") == "unknown"
