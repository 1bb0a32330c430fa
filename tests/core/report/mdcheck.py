"""A structural checker for the Markdown we post: fences closed, <details> balanced, no raw HTML, no mention.

It follows CommonMark's fence rules (a fence closes only with the same character, at least as long, nothing
after it), which is what decides whether content can escape a code block on GitHub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
ALLOWED_TAGS = {"details", "summary", "sub", "br"}
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
MENTION = re.compile(r"(?<![A-Za-z0-9`])@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9_.-]+)?")


@dataclass
class Parsed:
    outside: list[str] = field(default_factory=list)  # lines outside fenced code
    fences: list[tuple[str, str]] = field(default_factory=list)  # (info, content)
    unclosed: bool = False


def parse(md: str) -> Parsed:
    out = Parsed()
    lines = md.split("\n")
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            fence, info = m.group(1), m.group(2).strip()
            body: list[str] = []
            i += 1
            closed = False
            while i < len(lines):
                line = lines[i]
                stripped = line.lstrip(" ")
                if (
                    len(line) - len(stripped) <= 3
                    and stripped.startswith(fence[0] * len(fence))
                    and stripped.rstrip() == fence[0] * len(stripped.rstrip())
                ):
                    closed = True
                    break
                body.append(line)
                i += 1
            out.fences.append((info, "\n".join(body)))
            if not closed:
                out.unclosed = True
            i += 1
            continue
        out.outside.append(lines[i])
        i += 1
    return out


def problems(md: str, marker: str | None = None) -> list[str]:
    """Everything wrong with `md` as a GitHub comment; empty when it is well-formed and safe."""
    p = parse(md)
    found = []
    if p.unclosed:
        found.append("a code fence is never closed")
    text = "\n".join(p.outside)
    stack: list[str] = []
    for m in re.finditer(r"<(/?)([A-Za-z][A-Za-z0-9-]*)", text):
        closing, tag = m.group(1), m.group(2).lower()
        if tag not in ALLOWED_TAGS:
            found.append(f"raw HTML tag outside code: {m.group(0)}")
            continue
        if tag in ("details", "summary"):
            if not closing:
                stack.append(tag)
            elif not stack or stack.pop() != tag:
                found.append(f"unbalanced </{tag}>")
    if stack:
        found.append(f"unclosed <{stack[-1]}>")
    if "<!--" in text.replace(marker or "\0", ""):
        found.append("an HTML comment opener outside code besides the marker")
    if marker is not None:
        if md.count(marker) != 1:
            found.append(f"marker appears {md.count(marker)} times")
        if md.count("<!--") != 1:
            found.append(f"'<!--' appears {md.count('<!--')} times in the raw body")
    for m in MENTION.finditer(_strip_code_spans(text)):
        found.append(f"live mention outside code: {m.group(0)}")
    if "@" in _strip_code_spans(text):
        found.append("an ASCII '@' outside code")
    if INVISIBLE.search(md):
        found.append("zero-width or bidi control character")
    return found


def _strip_code_spans(text: str) -> str:
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", text)


def table_header(md: str, heading: str) -> list[str]:
    """The column names of the first table after `### heading`."""
    lines = md.split("\n")
    start = lines.index(f"### {heading}")
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no table after {heading}")
