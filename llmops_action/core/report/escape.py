"""Make untrusted text (model outputs, judge reasons, PR-controlled names and prompts) safe in GitHub Markdown.

Everything that came from a model or a pull request goes through one of these before it reaches a comment:

- `cell`    a GitHub table cell: one line, `|` escaped;
- `prose`   inline Markdown text (one paragraph);
- `html_text` text inside our own HTML (e.g. `<summary>`), where Markdown is not parsed;
- `fence`   a whole fenced code block, with a fence longer than any backtick run in the content.

Choices, and why:

- Mentions. GitHub's mention filter runs on the *rendered* HTML text outside `<code>`/`<pre>`/`<a>`, so an
  HTML entity (`&#64;user`) decodes back to `@user` and still pings. A zero-width character after `@` works
  with today's filter (Renovate uses `@&#8203;`) but is invisible and depends on that filter's exact regex.
  We replace every ASCII `@` outside code with U+FF20 FULLWIDTH COMMERCIAL AT (`＠`): it reads the same, and
  with no ASCII `@` left no version of the filter can match. Inside code fences `@` is kept (GitHub never
  links mentions in code), so diffs and outputs stay exact.
- Issue references. `#123` / `owner/repo#123` outside code cross-link issues; `#` before a digit becomes
  U+FF03 (`＃`) for the same reason.
- HTML. `&`, `<`, `>` are escaped outside code, so no tag renders and `</details>` or `<!--` cannot close or
  open anything. Inside a fence HTML is inert, but `<!--` still becomes `＜!--` (U+FF1C, visible, like the
  `＠` above) so that a search for our hidden marker over the raw body can only ever find the real one.
- Invisible characters. Zero-width and bidi override/isolate characters are removed (they hide or reorder
  text: "trojan source"), as are C0 controls other than tab and newline.
- Length. Long text is cut with a visible "… (N more characters)" marker, before escaping, so a cut never
  lands inside an entity or a fence.
"""

from __future__ import annotations

import re

# U+200B-U+200F zero-width and LRM/RLM, U+202A-U+202E bidi embeddings/overrides, U+2060-U+2064 word joiner and
# invisible operators, U+2066-U+2069 bidi isolates, U+FEFF BOM / zero-width no-break space, C0 controls and DEL.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\x00-\x08\x0b-\x1f\x7f]")
_MD_PUNCT = re.compile(r"([\\`*_\[\]!|~{}])")
_ISSUE_REF = re.compile(r"#(?=\d)")
_BACKTICK_RUN = re.compile(r"`+")
# Block syntax only matters where the text starts a line: a heading, list item or thematic break.
_BLOCK_START = re.compile(r"^(\s*)(?:([#=+-])|(\d+)([.)]))")

FULLWIDTH_AT = "\uff20"
FULLWIDTH_HASH = "\uff03"


def strip_invisible(text: str) -> str:
    """Remove zero-width, bidi-control and control characters (keeps tab and newline; CR becomes newline)."""
    return _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def truncate(text: str, limit: int | None) -> str:
    """Cut to at most `limit` characters of content plus a visible marker saying how much was left out."""
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def clean(text: object, limit: int | None = None) -> str:
    """str(), drop invisible characters, truncate. The common first step of every filter."""
    return truncate(strip_invisible("" if text is None else str(text)), limit)


def neutralize_mentions(text: str) -> str:
    """No ASCII `@` and no `#<digit>` left: nothing can ping a user or a team, or cross-link an issue."""
    return _ISSUE_REF.sub(FULLWIDTH_HASH, text.replace("@", FULLWIDTH_AT))


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_text(text: object, limit: int | None = 200) -> str:
    """Text inside our own HTML element (e.g. `<summary>`): GitHub does not parse Markdown there."""
    return neutralize_mentions(escape_html(clean(text, limit))).replace("\n", " ")


def prose(text: object, limit: int | None = 2000, line_start: bool = False) -> str:
    """Inline Markdown text: no HTML, no emphasis/links/images/code spans, no mentions; newlines become `<br>`.

    Backslash-escaping ASCII punctuation is always literal in CommonMark, so `[x](y)`, `![x](y)`, `*x*`,
    `` `x` `` and `~~x~~` render as typed. `line_start=True` when the text begins a line (after `> `, say),
    where `#`, `-`, `+`, `=` or `1.` would start a heading, a list or a rule.
    """
    s = escape_html(clean(text, limit))
    s = _MD_PUNCT.sub(r"\\\1", s)
    s = neutralize_mentions(s)
    s = "<br>".join(line.strip() for line in s.split("\n"))
    return _BLOCK_START.sub(_escape_block_start, s, count=1) if line_start else s


def _escape_block_start(m: re.Match[str]) -> str:
    if m.group(2):
        return m.group(1) + "\\" + m.group(2)
    return m.group(1) + m.group(3) + "\\" + m.group(4)


def cell(text: object, limit: int | None = 200) -> str:
    """A GitHub-flavoured table cell: one line, pipes escaped (by `prose`), never empty-looking."""
    s = prose(text, limit)
    return s if s else " "


def fence_for(content: str, char: str = "`") -> str:
    """A fence longer than any run of `char` in the content, so the content cannot close it."""
    longest = max((len(m) for m in re.findall(re.escape(char) + "+", content)), default=0)
    return char * max(3, longest + 1)


def fence(text: object, info: str = "", limit: int | None = 4000) -> str:
    """A complete fenced code block (no trailing newline). Content is verbatim apart from invisible characters,
    truncation and a broken `<!--`; it can neither close the fence nor open HTML."""
    body = clean(text, limit).replace("<!--", "\uff1c!--")
    if info and not re.fullmatch(r"[A-Za-z0-9_+-]+", info):
        raise ValueError(f"unsafe info string for a code fence: {info!r}")
    marker = fence_for(body)
    return f"{marker}{info}\n{body}\n{marker}" if body else f"{marker}{info}\n{marker}"


def link_url(url: object) -> str | None:
    """An http(s) URL safe inside `[text](url)`, or None when it is not one."""
    s = strip_invisible(str(url or "")).strip()
    if not re.match(r"https?://[^\s]+$", s):
        return None
    for ch, enc in (("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"), ("`", "%60"), ('"', "%22")):
        s = s.replace(ch, enc)
    return s


def label(text: object, limit: int = 24) -> str:
    """A label safe inside a Mermaid string literal: only a conservative character set survives."""
    # "main@abc1234" keeps its two halves apart rather than running them together.
    s = re.sub(r"[^A-Za-z0-9 ._:/#+-]", "", clean(text).replace("@", " "))
    return s[:limit] or "?"


def code_span_ok(text: str) -> bool:
    """True when `text` can sit in a single-backtick code span unchanged (used for shas and hashes)."""
    return bool(re.fullmatch(r"[A-Za-z0-9._:/-]*", text))


def short_sha(sha: object) -> str:
    """First 7 hex characters of a sha, or a safe placeholder."""
    s = str(sha or "")
    return s[:7] if re.fullmatch(r"[0-9a-fA-F]{4,64}", s) else "unknown"
