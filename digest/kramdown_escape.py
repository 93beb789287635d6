"""Text from outside -> Markdown that Jekyll (Liquid, then kramdown with its GFM parser) shows safely.

A Jekyll post goes through two readers. Liquid runs first, on the raw file: any `{{` or `{%` is its
markup, and an unbalanced one (`{% raw %}` in a LaTeX abstract) fails the whole site build. kramdown
runs second: in plain text it makes tables of `p(y | x)`, emphasis of `__init__` or `$a*b$ ... $c*d$`,
math of `$$...$$`, live HTML of `<eos>` or `<script>`, attribute lists of `{: ...}`, footnotes of
`[^x]`, curly quotes of `"`, dashes of `--`, and swallows the backslashes of `$\\{a\\}$`.

Two kinds of field, two rules:

- Plain text (title, authors, categories, the translated or original abstract) must show exactly the
  characters it holds. Every character that means something to either reader becomes an HTML character
  reference (`&#123;` for `{`, `&lt;` for `<`, ...): kramdown passes references through as text, the
  browser shows the character, and Liquid sees no brace at all. Characters that only matter at the start
  of a line (list markers, `:`, `=`) or in runs (`--`, `...`) are encoded only there, so ordinary
  titles and abstracts (such as the reference digest's) come out unchanged.
- The LLM's breakdown stays Markdown (lists, emphasis, code, http(s) links, tables), but nothing in it
  can be live HTML, Liquid, a non-web link, a footnote or an attribute list. Code spans and fenced code
  are kept as they are when they hold nothing that would be dangerous if kramdown read them as text
  instead; otherwise they become `<code>`/`<pre>` HTML (kramdown copies those verbatim) with escaped
  contents. So a misjudged code boundary costs at worst a few visible entities, never safety.

The result never contains `{`, and `<` only in the `<code>`/`<pre>` tags written here, which is what
the end-to-end test checks against the real Jekyll.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

# C0 controls (other than tab and newline) are invalid in HTML and some stop Jekyll's reader.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Characters that mean something to kramdown or Liquid anywhere in a line: HTML's five (as html.escape
# writes them) and Markdown's. One table, so that no reference written here is escaped again.
_ALWAYS = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        "\\": "&#92;",
        "`": "&#96;",
        "*": "&#42;",
        "_": "&#95;",
        "[": "&#91;",
        "]": "&#93;",
        "{": "&#123;",
        "}": "&#125;",
        "|": "&#124;",
        "$": "&#36;",
        "#": "&#35;",
        "~": "&#126;",
    }
)
_DASH_RUN = re.compile(r"-{2,}")  # -- and --- are typographic dashes
_DOT_RUN = re.compile(r"\.{2,}")  # ... is an ellipsis
# Block markers that only count at the start of a line: lists (- + 1.), definitions (:), setext (=).
_LINE_START = re.compile(r"^(?:([-+:=])|(\d+)\.)")
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!&*+,;=%]+")


def _clean(text: str | None) -> str:
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))


def _encode_run(match: re.Match[str]) -> str:
    return "".join(f"&#{ord(c)};" for c in match.group(0))


def _encode_line(line: str) -> str:
    text = line.translate(_ALWAYS)
    text = _DASH_RUN.sub(_encode_run, text)
    text = _DOT_RUN.sub(_encode_run, text)
    return _LINE_START.sub(
        lambda m: f"&#{ord(m.group(1))};" if m.group(1) else f"{m.group(2)}&#46;", text, count=1
    )


def plain_line(text: str | None) -> str:
    """One line of plain text (a title, a name): whitespace collapsed, every character shown as is."""
    return _encode_line(" ".join(_clean(text).split()))


def plain_block(text: str | None) -> str:
    """Plain text that may hold paragraphs (an abstract): blank lines between paragraphs are kept, every
    other character is shown as is (indentation, which HTML would not show anyway, is dropped so that no
    line turns into a code block)."""
    lines = [line.strip() for line in _clean(text).strip().split("\n")]
    return "\n".join(_encode_line(line) if line else "" for line in lines)


def link_url(url: str) -> str | None:
    """The URL if it is an http(s) URL that needs no escaping in a Markdown link, else None."""
    return url if _SAFE_URL.fullmatch(url) else None


# -- the breakdown (Markdown) -------------------------------------------------------------------------

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
# Inside code, text that would be live if kramdown read it as Markdown text after all.
_RISKY_CODE = re.compile(r"[<{}]|\]\(|\]\[|\]:|\[\^|\*\[")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_TEXT_CHARS = str.maketrans(
    {"<": "&lt;", "{": "&#123;", "}": "&#125;", "[": "&#91;", "]": "&#93;", "$": "&#36;"}
)


def _escape_code(code: str) -> str:
    return html.escape(code, quote=False).replace("{", "&#123;").replace("}", "&#125;")


def _code_span(ticks: str, code: str) -> str:
    if not _RISKY_CODE.search(code):
        return f"{ticks}{code}{ticks}"
    # kramdown drops one space of padding on each side, as CommonMark does.
    if code.startswith(" ") and code.endswith(" ") and code.strip():
        code = code[1:-1]
    return f"<code>{_escape_code(code)}</code>"


def _text(text: str, table: bool) -> str:
    text = text.translate(_TEXT_CHARS)
    return text if table else text.replace("|", "&#124;")


def _links(text: str, table: bool) -> str:
    """Text outside code: http(s) inline links kept, any other link, image, footnote or reference
    shown as its text; every other bracket, `<`, brace and `$` as a character reference."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        start = text.find("[", pos)
        if start < 0:
            break
        end = text.find("]", start + 1)
        inner = text[start + 1 : end] if end >= 0 else ""
        if end < 0 or "[" in inner or not text.startswith("(", end + 1):
            out.append(_text(text[pos : start + 1], table))
            pos = start + 1
            continue
        close = _closing_paren(text, end + 1)
        if close < 0:
            out.append(_text(text[pos : start + 1], table))
            pos = start + 1
            continue
        prefix = text[pos:start]
        if prefix.endswith("!"):  # an image: shown as a link to it at most, never loaded
            prefix = prefix[:-1]
        target = text[end + 2 : close].strip()
        url = target.split()[0].strip("<>") if target else ""
        # Parentheses in a target (Wikipedia's) are percent-encoded: the same URL, no parsing doubt.
        url = url.replace("(", "%28").replace(")", "%29")
        label = _text(inner, table)
        out.append(_text(prefix, table))
        if link_url(url) and label.strip():
            out.append(f"[{label}]({url})")
            # A link whose text is not its address shows the address too, as on Telegram and Discord:
            # the LLM's text may come from a prompt injection dressing a phishing URL up as "PDF".
            if inner.strip() not in (url, unquote(url), target.split()[0].strip("<>")):
                out.append(f" ({plain_line(url)})")
        else:
            out.append(label)
        pos = close + 1
    out.append(_text(text[pos:], table))
    return "".join(out)


def _closing_paren(text: str, open_at: int) -> int:
    depth = 0
    for index in range(open_at, len(text)):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        elif char == "\n":
            break
    return -1


def _inline(line: str, table: bool) -> str:
    """One line outside fenced code: code spans (a run of backticks up to the same run) kept or made
    HTML, the rest through _links."""
    out: list[str] = []
    text_start = 0
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and index + 1 < len(line):
            index += 2  # an escaped character (\` included) opens nothing
            continue
        if char != "`":
            index += 1
            continue
        run = index
        while run < len(line) and line[run] == "`":
            run += 1
        ticks = line[index:run]
        close = re.compile(rf"(?<!`){ticks}(?!`)").search(line, run)
        if close is None:
            index = run
            continue
        out.append(_links(line[text_start:index], table))
        out.append(_code_span(ticks, line[run : close.start()]))
        index = text_start = close.end()
    out.append(_links(line[text_start:], table))
    return "".join(out)


def _table_lines(lines: list[str]) -> set[int]:
    """Indexes of lines that belong to a real GFM table (a header row, a --- separator, rows); a pipe
    anywhere else (`p(y | x)`, `||w||`) is text, not a table."""
    keep: set[int] = set()
    for index, line in enumerate(lines):
        if index == 0 or "|" not in line or "-" not in line or not _TABLE_SEPARATOR.match(line):
            continue
        if "|" not in lines[index - 1]:
            continue
        row = index - 1
        keep.update((row, index))
        row = index + 1
        while row < len(lines) and "|" in lines[row] and lines[row].strip():
            keep.add(row)
            row += 1
    return keep


def _fenced(indent: str, fence: str, info: str, body: list[str]) -> list[str]:
    code = "\n".join(body)
    if not _RISKY_CODE.search(code) and not _RISKY_CODE.search(info):
        return [f"{indent}{fence}{info}", *body, f"{indent}{fence}"]
    # <pre> is raw HTML to kramdown: copied as is, so the escaped code shows exactly. One line (line
    # breaks as &#10;), so that a list item around it cannot end in the middle of it.
    return [f"{indent}<pre><code>{_escape_code(code).replace(chr(10), '&#10;')}</code></pre>"]


def breakdown_markdown(text: str | None) -> str:
    """The LLM's Markdown, made safe for Liquid and kramdown (see the module's docstring)."""
    lines = _clean(text).split("\n")
    tables = _table_lines(lines)
    out: list[str] = []
    fence: tuple[str, str, str] | None = None  # indent, fence, info of an open fenced block
    body: list[str] = []
    for index, line in enumerate(lines):
        if fence is not None:
            marker = fence[1]
            stripped = line.strip()
            if stripped.startswith(marker) and stripped == marker[0] * len(stripped):
                out += _fenced(*fence, body)
                fence, body = None, []
            else:
                body.append(line)
            continue
        opening = _FENCE.match(line)
        if opening and not (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            fence = (opening.group(1), opening.group(2), opening.group(3))
            continue
        out.append(_inline(line, index in tables))
    if fence is not None:  # an unclosed fence would swallow the rest of the post: close it here
        out += _fenced(*fence, body)
    return "\n".join(out)
