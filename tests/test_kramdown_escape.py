"""The escaping rules for kramdown and Liquid, as pure functions. What a real Jekyll shows is checked in
tests/test_jekyll_site.py; here, the invariants that make that hold for any input."""

from __future__ import annotations

import json
import re

import pytest

from digest.kramdown_escape import breakdown_markdown, link_url, plain_block, plain_line
from tests import hostile
from tests.conftest import SEED_JSON

ALLOWED_TAGS = re.compile(r"<(?:/?code|/?pre)>")


def _only_known_html(markdown: str) -> bool:
    return "<" not in ALLOWED_TAGS.sub("", markdown)


ALL = [*hostile.SNIPPETS, *hostile.LINE_STARTS, hostile.translation(1), *hostile.breakdown(1).values()]


@pytest.mark.parametrize("text", ALL)
def test_plain_text_leaves_no_markup_character(text):
    for written in (plain_line(text), plain_block(text)):
        out = re.sub(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", "", written)  # the references written
        assert not set(out) & set("{}<>[]|$*_`\\#~\"'"), out
        assert "--" not in out and "..." not in out
        assert not re.search(r"^\s*(?:[-+:=>]|\d+\.)", written, re.M), written


@pytest.mark.parametrize("text", ALL)
def test_a_breakdown_gives_liquid_nothing_and_kramdown_no_html(text):
    out = breakdown_markdown(text)
    assert "{" not in out and "}" not in out
    assert _only_known_html(out), out
    targets = re.findall(r"\]\(([^)]*)", out)  # every link left in the Markdown
    assert all(t.startswith(("https://", "http://")) for t in targets), targets


def test_the_seed_texts_are_unchanged():
    for paper in json.loads(SEED_JSON.read_text(encoding="utf-8"))["papers"]:
        assert plain_line(paper["title"]) == paper["title"]
        assert all(plain_line(a) == a for a in paper["authors"])
        assert plain_block(paper["zh"]["translation"]) == paper["zh"]["translation"]
        for key in ("background", "method", "results"):
            assert breakdown_markdown(paper["zh"][key]) == paper["zh"][key]


def test_plain_text_writes_character_references():
    assert plain_line("{{ x }} <b> &amp; a|b") == "&#123;&#123; x &#125;&#125; &lt;b&gt; &amp;amp; a&#124;b"
    assert plain_line("  two\n lines ") == "two lines"
    assert plain_block("- a\n\n  1. b\n#c") == "&#45; a\n\n1&#46; b\n&#35;c"
    assert plain_line("a -- b ... c - d. e") == "a &#45;&#45; b &#46;&#46;&#46; c - d. e"
    assert plain_line("nul\x00 bell\x07") == "nul bell"


def test_only_http_links_stay_links_and_other_brackets_are_text():
    out = breakdown_markdown(
        "[ok](https://a.example/x_(y)) [bad](javascript:alert(1)) ![img](https://b.example/p.png) "
        '[t](https://c.example "title") [ref][1] [^1] *[HTML]: x'
    )
    assert out == (
        "[ok](https://a.example/x_%28y%29) (https://a.example/x&#95;%28y%29) bad "
        "[img](https://b.example/p.png) (https://b.example/p.png) "
        "[t](https://c.example) (https://c.example) &#91;ref&#93;&#91;1&#93; &#91;^1&#93; *&#91;HTML&#93;: x"
    )
    # a link whose text is its address needs no second copy
    assert breakdown_markdown("see [https://a.example/p](https://a.example/p)") == (
        "see [https://a.example/p](https://a.example/p)"
    )
    assert link_url("https://arxiv.org/abs/2602.15766v1") == "https://arxiv.org/abs/2602.15766v1"
    assert link_url("javascript:alert(1)") is None and link_url("https://a.example/{{x}}") is None


def test_code_is_kept_unless_it_would_be_dangerous_as_text():
    assert breakdown_markdown("`[类型] 描述` and ``a ` b``") == "`[类型] 描述` and ``a ` b``"
    assert (
        breakdown_markdown("`{{ x }}` `a<b>`")
        == "<code>&#123;&#123; x &#125;&#125;</code> <code>a&lt;b&gt;</code>"
    )
    assert breakdown_markdown("```py\nx = 1\n```") == "```py\nx = 1\n```"
    assert breakdown_markdown("```\n{% raw %}\n</div>\n```") == (
        "<pre><code>&#123;% raw %&#125;&#10;&lt;/div&gt;</code></pre>"
    )
    assert breakdown_markdown("text\n```\nnever closed") == "text\n```\nnever closed\n```"


def test_pipes_make_a_table_only_with_a_separator_row():
    table = "| a | b |\n|---|---|\n| 1 | 2 |"
    assert breakdown_markdown(table) == table
    assert breakdown_markdown("p(y | x) and ||w||") == "p(y &#124; x) and &#124;&#124;w&#124;&#124;"
    assert breakdown_markdown("$$E$$ and </div>") == "&#36;&#36;E&#36;&#36; and &lt;/div>"
