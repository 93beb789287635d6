"""A hostile corpus: what real arXiv text (LaTeX, pipes, raw `<`) and an LLM led by a prompt injection
in a paper's full text can put in a digest. Used by the Jekyll end-to-end test and the renderers' tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.fakes.arxiv_api import Entry

# One line each; every one of them broke or ate text in a real Jekyll 4.3 site before escaping.
SNIPPETS = (
    "{% raw %}",
    "{% endraw %}",
    "{% include x.html %}",
    "{{ page.path }}",
    "{{ x }}",
    "$\\mathbf{{x}}$",
    "{%",
    "{{",
    "p(y | x)",
    "||w||_2",
    "$\\{a\\}$",
    "__init__",
    "$a*b$ and then $c*d$",
    "<eos>",
    "a<b>c",
    "</div>",
    "</details>",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "[PDF](https://evil.example/phish)",
    "&amp; stays &amp;",
    "$$E = mc^2$$",
    "{: .ial} {::comment}",
    "x[^1] *[HTML]",
    "\"double\" and 'single' quotes",
    "a -- b --- c ... d << e >>",
    "<!-- comment",
    "<https://evil.example>",
    "C:\\path\\to\\file \\\\ end\\",
    "~~strike~~ `code` **bold** _em_ ^sup",
    "O'Brien & Müller — 東京 🧪",
)

# Lines that mean something only at the start of a line (for the LLM's multi-line translation).
LINE_STARTS = (
    "# not a heading",
    "## not one either #",
    "- not a list",
    "+ not a list",
    "* not a list",
    "1. not a list",
    "> not a quote",
    ": not a definition",
    "=====",
    "| a | b |",
    "|---|---|",
    "| 1 | 2 |",
    "    indented four spaces",
    "```",
    "[^1]: not a footnote",
    "[x]: javascript:alert(1)",
    "*[HTML]: not an abbreviation",
    "{: #id .ial}",
    "</div>",
    "</details>",
)

DAY = "2026-02-18"
UPDATED = datetime(2026, 2, 17, 12, 0, tzinfo=UTC)  # inside the 2026-02-18 window (Asia/Shanghai, 08:50)
MANY_AUTHORS = 2000

# What must show as text (never as markup) inside each breakdown.
BREAKDOWN_VISIBLE = (
    "{% raw %}",
    "{{ page.path }}",
    "<eos>",
    "a<b>c",
    "<script>alert(1)</script>",
    "</div>",
    "</details>",
    "{% include x.html %}",
    "{{ x }}",
)


def paper_ids(count: int = 6) -> list[str]:
    return [f"2602.{19000 + n}v1" for n in range(count, 0, -1)]  # newest first, as the digest orders


def many_authors() -> tuple[str, ...]:
    """A large collaboration: real names (accents, apostrophes, hyphens), a few hostile ones. (Every
    name hostile makes kramdown itself slow: ~10 s for 2,000 names full of entities next to non-ASCII
    text, quadratic in its span parser; safe, but not what this test is about.)"""
    hostile_names = [f"Zoë_{i} *O'Brien* {{{{i}}}} <b>{i}</b>" for i in range(20)]
    plain = [f"Zoë Müller-O'Brien {i}" for i in range(len(hostile_names), MANY_AUTHORS)]
    return (*hostile_names, *plain)


def entries() -> list[Entry]:
    """Papers whose titles, authors and abstracts carry the snippets; the first has 2,000 authors."""
    out = []
    for n, arxiv_id in enumerate(paper_ids()):
        chunk = SNIPPETS[n::6]  # each paper's title holds a different share of the snippets
        authors = (
            many_authors()
            if n == 0
            else ("A. <Author>", "B. {{ Author }}", "C. [Author](javascript:alert(1))")
        )
        out.append(
            Entry(
                id=arxiv_id,
                title=f"Paper {n}: " + " ".join(chunk),
                authors=authors,
                categories=("cs.SD", "eess.AS") if n % 2 else ("eess.AS",),
                published=UPDATED,
                updated=UPDATED,
                summary="We show that " + " ".join(SNIPPETS) + " holds.",
            )
        )
    return out


def translation(n: int) -> str:
    return "\n".join([f"译文 {n}：", *SNIPPETS, "", *LINE_STARTS])


def breakdown(n: int) -> dict[str, str]:
    """Markdown lists (each item named `item-<n>-<x>`) around every trick the LLM could be led to write."""
    return {
        "background": "\n".join(
            [
                f"- **背景** item-{n}-b1: {{% raw %}} {{{{ page.path }}}} <eos> a<b>c p(y | x)",
                f"- item-{n}-b2: [x](javascript:alert(1)) ![i](javascript:alert(2)) <img src=x onerror=alert(1)>",
                "</div>",
                "</details>",
                f"- item-{n}-b3: `{{{{ x }}}}` and `a<b>` $$E=mc^2$$ x[^1] {{: .x}} <script>alert(1)</script>",
                "[^1]: a footnote",
                "*[HTML]: an abbreviation",
            ]
        ),
        "method": "\n".join(
            [
                f"1. item-{n}-m1: ||w||_2 and `__init__` and [PDF](https://evil.example/phish)",
                f"2. item-{n}-m2: <a href=javascript:alert(1)>link</a> [y](data:text/html,x)",
                "",
                "```python",
                "{% raw %}",
                "</div>",
                "x = {'a': 1}",
                "```",
                "",
                f"- item-{n}-m3: {{% endraw %}} {{% include x.html %}}",
                "",
                "| metric | value |",
                "|---|---|",
                "| F1 | 0.5 |",
            ]
        ),
        "results": "\n".join(
            [
                # every other paper's results open with fenced code, right after the "3)" line
                *(["```liquid", "{% raw %} <script>", "```"] if n % 2 else []),
                f"- item-{n}-r1: <!-- {{% raw %}}",
                f"- item-{n}-r2: </details> <iframe src=javascript:alert(1)>",
                "```",
                "{{ x }} </div>",
            ]
        ),
    }


def llm_texts(failing: str | None = None) -> dict[str, dict[str, str]]:
    return {
        arxiv_id: {"translation": translation(n), **breakdown(n)}
        for n, arxiv_id in enumerate(paper_ids())
        if arxiv_id != failing
    }


def llm_reply(texts: dict[str, str]) -> str:
    return json.dumps(texts, ensure_ascii=False)
