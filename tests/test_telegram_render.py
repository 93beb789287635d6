"""The Telegram cards as pure functions: every text escaped, every message parseable and within limits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.telegram.buttons import (
    HIDE,
    SHOW,
    callback_data,
    deep_link,
    parse_callback,
    parse_start_payload,
    start_payload,
)
from adapters.telegram.markdown_html import markdown_to_html
from adapters.telegram.render import (
    MAX_MESSAGE,
    labels,
    render_breakdown_messages,
    render_card,
    render_digest,
    render_expanded_card,
    render_header,
    short_authors,
    tg_len,
)
from digest.models import DigestItem, Summary
from tests.fakes.telegram_api import EntityParseError, parse_html
from tests.telegram_support import make_digest, seed_items

HOSTILE = (
    "<b>not bold</b> & <script>alert(1)</script> a < b > c &amp; &lt; $\\frac{a}{b} < x_i^2$ "
    "**stars** __under__ `tick` [link](javascript:alert(1)) ~~strike~~ # hash > quote "
    '"quotes" \'single\' </i> <a href="x">'
)
LONG = ("A very long abstract with <tags> & ampersands $x<y$ **bold** " * 200)[:10_000]


def parsed(html: str) -> str:
    """What Telegram would show: parse as Telegram does (raises on anything it would refuse)."""
    text, _entities = parse_html(html)
    assert tg_len(html) <= MAX_MESSAGE
    assert 0 < tg_len(text) <= MAX_MESSAGE
    return text


def hostile_item(title: str = HOSTILE, authors=(HOSTILE,), abstract: str = LONG, summary=True) -> DigestItem:
    paper = replace(seed_items()[0].paper, title=title, authors=tuple(authors), abstract=abstract)
    texts = Summary(translation=LONG, background=HOSTILE, method=LONG, results=HOSTILE) if summary else None
    return DigestItem(paper, texts)


def test_seed_digest_renders_header_and_a_card_per_paper():
    digest = make_digest(seed_items())
    parts = render_digest(digest)
    assert [p for p, _ in parts] == ["header"] + [i.paper.base_id for i in digest.items]
    header = parsed(parts[0][1].text)
    assert "2026-02-17 08:50 — 2026-02-18 08:50" in header
    assert "抓取总数：8 篇 | 本页显示：8 篇" in header
    card = parsed(parts[1][1].text)
    assert card.startswith("TAC: Timestamped Audio Captioning")
    assert "大型音频语言模型" in card
    assert parts[1][1].buttons[0][0].callback_data == "bd:2602.15766v1"
    for _part, message in parts:
        parsed(message.text)


def test_card_links_title_and_pdf():
    _text, entities = parse_html(render_card(seed_items()[0], "zh").text)
    urls = [e["url"] for e in entities if e["type"] == "text_link"]
    assert urls == ["https://arxiv.org/abs/2602.15766v1", "https://arxiv.org/pdf/2602.15766v1"]


def test_empty_digest_says_so():
    header = parsed(render_header(make_digest([], fetched=3)).text)
    assert "本窗口内没有新论文" in header and "抓取总数：3 篇 | 本页显示：0 篇" in header


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize(
    "item",
    [
        hostile_item(),
        hostile_item(title=LONG, authors=[LONG] * 3),
        hostile_item(authors=[f"Author {i} <&>" for i in range(500)]),
        hostile_item(summary=False),
        hostile_item(title="😀" * 5000, abstract="😀" * 10_000),
    ],
    ids=["hostile", "long-title-authors", "500-authors", "no-summary", "astral"],
)
def test_hostile_text_stays_text_and_within_limits(item, language):
    card = render_card(item, language)
    text = parsed(card.text)
    for message in render_breakdown_messages(item.paper, item.summary, language):
        parsed(message.text)
    expanded = render_expanded_card(item, language)
    if expanded is not None:
        parsed(expanded.text)
    if item.summary is None:  # no breakdown to show: only 👍 / 👎 / Ask
        assert [b.text for row in card.buttons for b in row] == ["👍", "👎", labels(language)["ask"]]
        assert "<tags> & ampersands" in text  # the plain abstract, escaped, clipped
    for row in card.buttons:
        for button in row:
            assert len(button.callback_data.encode()) <= 64


def test_hostile_title_is_shown_literally():
    text = parsed(render_card(hostile_item(abstract="short"), "en").text)
    assert "<b>not bold</b> & <script>alert(1)</script> a < b > c &amp; &lt; $\\frac{a}{b}" in text


def test_long_text_is_clipped_with_an_ellipsis():
    text = parsed(render_card(hostile_item(), "en").text)
    assert text.endswith("…")


def test_breakdown_of_long_sections_is_split_into_messages():
    item = hostile_item()
    messages = render_breakdown_messages(item.paper, item.summary, "en")
    assert len(messages) == 3
    assert render_expanded_card(item, "en") is None  # too long to fit in the card: sent as replies


def test_seed_breakdowns_fit_in_the_card():
    for item in seed_items():
        expanded = render_expanded_card(item, "zh")
        assert expanded is not None
        text, entities = parse_html(expanded.text)
        assert any(e["type"] == "expandable_blockquote" for e in entities)
        assert "背景\n" in text and "结果\n" in text
        assert expanded.buttons[0][0].callback_data == f"bh:{item.paper.versioned_id}"


def test_markdown_becomes_telegram_html():
    html = markdown_to_html(
        "Intro **bold** *it* `code` $x_i<y$ [arXiv](https://arxiv.org) [bad](javascript:x) <b>raw</b>\n\n"
        "- one\n  - nested\n1) first\n2) second\n\n# Head\n\n```\na < b\n```"
    )
    text, entities = parse_html(html)
    kinds = {e["type"] for e in entities}
    assert {"bold", "italic", "code", "text_link", "pre"} <= kinds
    assert "<b>raw</b>" in text  # raw HTML in the Markdown is text
    assert "$x_i<y$" in text
    assert "• one\n  • nested" in text
    assert "1) first\n2) second" in text
    assert [e["url"] for e in entities if e["type"] == "text_link"] == ["https://arxiv.org"]


@pytest.mark.parametrize(
    "markdown",
    [
        HOSTILE,
        LONG,
        "**unclosed",
        "`",
        "$",
        "[x](",
        "> quote\n> > nested",
        "***",
        "| a | b |\n|---|---|\n| <1> | & |",
    ],
)
def test_markdown_never_yields_html_telegram_refuses(markdown):
    html = markdown_to_html(markdown)
    if html:
        parse_html(html)


def test_authors_are_shortened():
    short = short_authors([f"Author {i}" for i in range(20)], "en")
    assert short.startswith("Author 0, Author 1") and "Author 19" in short and "20 authors" in short
    assert short_authors(["A", "B"], "en") == "A, B"


@pytest.mark.parametrize(
    "paper_id", ["2602.15766v1", "0704.0001v12", "hep-th/9901001v2", "math.AG/0101001v1"]
)
def test_buttons_round_trip(paper_id):
    for action in (SHOW, HIDE):
        data = callback_data(action, paper_id)
        assert len(data.encode()) <= 64
        assert parse_callback(data) == (action, paper_id)
    payload = start_payload(paper_id)
    assert len(payload) <= 64 and parse_start_payload(payload) == paper_id
    assert deep_link("DigestBot", paper_id) == f"https://t.me/DigestBot?start={payload}"


@pytest.mark.parametrize(
    "data",
    [None, "", "bd:", "bd:2602.15766", "xx:2602.15766v1", "bd:2602.15766v1;drop", "bd:../../etc", "a" * 64],
)
def test_forged_callback_data_is_refused(data):
    assert parse_callback(data) is None


@pytest.mark.parametrize("payload", [None, "", "hello", "bd_", "bd_2602_15766", "bd_x" * 30])
def test_forged_start_payload_is_refused(payload):
    assert parse_start_payload(payload) is None


@pytest.mark.parametrize(
    "html, error",
    [
        ("a < b", "Unsupported start tag"),
        ("<b>x", "Can't find end tag"),
        ("<b>x</i>", "Unmatched end tag"),
        ("<script>x</script>", "Unsupported start tag"),
        ("<blockquote>a<blockquote>b</blockquote></blockquote>", "can't be nested"),
        ("<code><b>x</b></code>", "can't be inside"),
        ('<span class="x">y</span>', 'must have class "tg-spoiler"'),
    ],
)
def test_the_fake_refuses_what_telegram_refuses(html, error):
    with pytest.raises(EntityParseError, match=error):
        parse_html(html)


def test_the_fake_parses_like_telegram():
    text, entities = parse_html(
        'a &amp; b &lt;3 &#128512; & <b>x<a href="https://e.org/?a=1&amp;b=2">y</a></b>'
    )
    assert text == "a & b <3 😀 & xy"
    assert entities == [
        {"type": "bold", "offset": 14, "length": 2},
        {"type": "text_link", "offset": 15, "length": 1, "url": "https://e.org/?a=1&b=2"},
    ]


def test_bot_texts_exist_in_both_languages_with_the_same_fields():
    import string

    from adapters.telegram.texts import TEXTS, text

    assert TEXTS["zh"].keys() == TEXTS["en"].keys()
    for key in TEXTS["zh"]:
        fields = [
            {f for _, f, _, _ in string.Formatter().parse(TEXTS[lang][key]) if f} for lang in ("zh", "en")
        ]
        assert fields[0] == fields[1], key
    assert text("en", "admin_only") == "Only this group's admins can change its subscription."
    assert text("fr", "busy") == TEXTS["en"]["busy"]  # an unknown language falls back to English


def test_a_link_whose_text_is_not_its_address_shows_the_address():
    html = markdown_to_html(
        "[PDF](https://evil.example/login) [https://a.example/](https://a.example/) <https://b.example> "
        "[**bold** label](https://c.example/x_(y)) [x](javascript:alert(1)) [ref]\n\n[ref]: https://d.example"
    )
    text, entities = parse_html(html)
    assert "PDF (https://evil.example/login)" in text
    assert "https://a.example/ https://b.example " in text  # text already the address: once
    assert "bold label (https://c.example/x_(y))" in text
    assert "ref (https://d.example)" in text  # reference links too
    assert "javascript" not in "".join(e.get("url", "") for e in entities)  # shown as text at most
    urls = [e["url"] for e in entities if e["type"] == "text_link"]
    assert urls == [
        "https://evil.example/login",
        "https://a.example/",
        "https://b.example",
        "https://c.example/x_(y)",
        "https://d.example",
    ]


def test_bidi_overrides_are_removed_and_joiners_kept():
    evil = "\u202eevil\u202a \u2066x\u2069 👩\u200d🔬 می\u200cخواهم"
    item = hostile_item(title=evil, authors=(evil,), abstract=evil, summary=False)
    messages = [render_card(item, "en"), *render_breakdown_messages(item.paper, None, "en")]
    item = replace(item, summary=Summary(evil, evil, evil, evil))
    messages += [render_card(item, "en"), *render_breakdown_messages(item.paper, item.summary, "en")]
    for message in messages:
        shown = parsed(message.text)
        assert not any(c in shown for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
        assert "evil x 👩\u200d🔬 می\u200cخواهم" in shown
