"""The LLM's Markdown -> the HTML subset Telegram parses.

markdown-it-py does the parsing (CommonMark, raw HTML off, so a `<b>` in the text stays text); this
module only walks its tokens and writes the tags Telegram knows. Every piece of text goes through
html.escape, so the result always parses, whatever the input. Telegram has no lists or headings:
lists become bullet lines, headings bold lines, LaTeX ($...$) stays verbatim in <code>.
"""

from __future__ import annotations

from html import escape
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

_MD = (
    MarkdownIt("commonmark", {"html": False, "typographer": False})
    .enable(["strikethrough", "table"])
    .use(dollarmath_plugin, allow_space=True, double_inline=True)
)

_INLINE_TAGS = {
    "strong_open": "<b>",
    "strong_close": "</b>",
    "em_open": "<i>",
    "em_close": "</i>",
    "s_open": "<s>",
    "s_close": "</s>",
}


def _safe_href(href: str) -> str | None:
    """Only absolute web links become <a>; anything else is shown as its text."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.netloc:
        return href
    return None


def _inline(children: list[Token]) -> str:
    out: list[str] = []
    # Each open link: its href if it became an <a>, and the plain text of its label so far.
    links: list[tuple[str | None, list[str]]] = []

    def label(text: str) -> str:
        for _, words in links:
            words.append(text)
        return text

    for tok in children:
        kind = tok.type
        if kind == "text":
            out.append(escape(label(tok.content), quote=False))
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind in _INLINE_TAGS:
            out.append(_INLINE_TAGS[kind])
        elif kind == "code_inline":
            out.append(f"<code>{escape(label(tok.content), quote=False)}</code>")
        elif kind in ("math_inline", "math_inline_double"):
            fence = "$$" if kind == "math_inline_double" else "$"
            out.append(f"<code>{escape(label(fence + tok.content + fence), quote=False)}</code>")
        elif kind == "link_open":
            href = _safe_href(str(tok.attrGet("href") or ""))
            links.append((href, []))
            if href is not None:
                out.append(f'<a href="{escape(href, quote=True)}">')
        elif kind == "link_close" and links:
            href, words = links.pop()
            if href is not None:
                out.append("</a>")
                # A link whose text is not its address shows the address too: the LLM's text may
                # come from a prompt injection dressing a phishing URL up as "PDF".
                if "".join(words).strip() not in (href, unquote(href)):
                    out.append(f" ({escape(href, quote=False)})")
        elif kind == "image":
            out.append(escape(label(tok.content or ""), quote=False))
        else:  # html_inline is off; anything unforeseen is shown as text
            out.append(escape(tok.content or "", quote=False))
    return "".join(out)


def markdown_to_html(markdown: str) -> str:
    """Convert Markdown to Telegram HTML (parse_mode=HTML). Never raises on odd input."""
    tokens = _MD.parse(markdown or "")
    blocks: list[str] = []
    lists: list[list] = []  # stack of [ordered, next number, delimiter]
    prefix = ""
    heading = False
    table_row: list[str] | None = None
    for tok in tokens:
        kind = tok.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            ordered = kind == "ordered_list_open"
            lists.append([ordered, int(tok.attrGet("start") or 1) if ordered else 0, tok.markup or "."])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            if lists:
                lists.pop()
            if not lists:
                blocks.append("")
        elif kind == "list_item_open" and lists:
            ordered, number, delimiter = lists[-1]
            bullet = f"{number}{delimiter}" if ordered else "•"
            if ordered:
                lists[-1][1] += 1
            prefix = "  " * (len(lists) - 1) + bullet + " "
        elif kind == "heading_open":
            heading = True
        elif kind == "heading_close":
            heading = False
            blocks.append("")
        elif kind == "paragraph_close" and not lists:
            blocks.append("")
        elif kind == "tr_open":
            table_row = []
        elif kind == "tr_close":
            blocks.append(" | ".join(table_row or []))
            table_row = None
        elif kind == "inline":
            text = _inline(tok.children or [])
            if table_row is not None:
                table_row.append(text)
                continue
            if heading:
                text = f"<b>{text}</b>"
            if prefix:
                text, prefix = prefix + text, ""
            elif lists:  # a later paragraph of a list item: indent it under the bullet
                text = "  " * len(lists) + text
            blocks.append(text)
        elif kind in ("fence", "code_block", "math_block", "math_block_label"):
            body = tok.content.rstrip("\n")
            if kind.startswith("math"):
                body = f"$${body}$$"
            blocks.append(f"<pre>{escape(body, quote=False)}</pre>")
            if not lists:
                blocks.append("")
        elif kind == "hr":
            blocks.extend(["———", ""])
        # blockquote_open/close: Telegram forbids nested blockquotes and breakdowns are shown in one,
        # so quoted Markdown is shown as plain paragraphs.
    text = "\n".join(blocks)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip("\n")
