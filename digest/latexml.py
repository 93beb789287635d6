"""arXiv's HTML rendering (LaTeXML markup) -> a paper's sections as plain text.

Only the article is read: arXiv wraps it in navigation, banners and a "report an issue" widget that the
LLM must not see. Math is replaced by its TeX source (LaTeXML emits presentation MathML, content MathML
and the TeX annotation side by side; reading all three would triple every formula). Tables keep their
caption and cell text because results live there; figures keep their caption; the bibliography and
footnotes are dropped.
"""

from __future__ import annotations

import re

import lxml.html
from lxml.html import HtmlElement

# Section-like containers whose own title becomes a "### " line inside the enclosing section's text.
_SUBSECTIONS = ("ltx_subsection", "ltx_subsubsection", "ltx_paragraph", "ltx_subparagraph")
_TOP_SECTIONS = ("ltx_section", "ltx_appendix", "ltx_chapter", "ltx_part")
_SKIP = (
    "ltx_bibliography",
    "ltx_note",  # footnotes: they would land in the middle of a sentence
    "ltx_ERROR",  # LaTeXML's markers for macros it could not convert
    "ltx_page_header",
    "ltx_page_footer",
    "ltx_authors",
    "ltx_dates",
    "ltx_classification",
    "ltx_keywords",
    "ltx_TOC",
)
_TEX_SPECIAL = re.compile(r"[\\^_{}=<>]")
_SPACES = re.compile(r"\s+")  # HTML source line breaks inside a paragraph are just spaces
_LEADING_NUMBER = re.compile(r"^(?:[A-Z]|\d+(?:\.\d+)*|[IVXLC]+)\.?\s+")


def _classes(el: HtmlElement) -> set[str]:
    return set((el.get("class") or "").split())


def _has(el: HtmlElement, names: tuple[str, ...]) -> bool:
    return bool(_classes(el).intersection(names))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _math(el: HtmlElement) -> str:
    tex = (el.get("alttext") or "").strip()
    if not tex:
        annotation = el.xpath(".//*[local-name()='annotation'][@encoding='application/x-tex']")
        tex = annotation[0].text_content().strip() if annotation else _clean(el.text_content())
    # A bare number or word written in math mode reads best without dollars (and keeps "0.50" findable).
    return f"${tex}$" if _TEX_SPECIAL.search(tex) else tex


def _inline(el: HtmlElement) -> str:
    """The running text of an element: math as TeX, footnotes and LaTeXML errors left out."""
    parts: list[str] = [el.text or ""]
    for child in el:
        if not isinstance(child.tag, str):  # comments, processing instructions
            parts.append(child.tail or "")
            continue
        tag = child.tag.rsplit("}", 1)[-1].lower()
        if tag == "math":
            parts.append(_math(child))
        elif tag == "br":
            parts.append(" ")
        elif not _has(child, _SKIP):
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _title(el: HtmlElement) -> str:
    heads = [c for c in el if _has(c, ("ltx_title",))]
    return _clean(_inline(heads[0])) if heads else ""


def _table(el: HtmlElement) -> list[str]:
    """A table figure as its caption plus one ' | '-joined line per row."""
    lines: list[str] = []
    for caption in el.xpath(".//figcaption"):
        lines.append(_clean(_inline(caption)))
    for row in el.xpath(".//tr"):
        cells = [
            _clean(_inline(cell)) for cell in row if isinstance(cell.tag, str) and cell.tag in ("td", "th")
        ]
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def _equation(el: HtmlElement) -> str:
    formulas = [_math(m) for m in el.xpath(".//*[local-name()='math']")]
    tags = [_clean(t.text_content()) for t in el.xpath(".//*[contains(@class, 'ltx_tag_equation')]")]
    return " ".join(formulas + tags[:1])


def _blocks(el: HtmlElement) -> list[str]:
    """The paragraphs of a section body, subsection titles as '### ' lines, in document order."""
    out: list[str] = []
    for child in el:
        if not isinstance(child.tag, str) or _has(child, _SKIP):
            continue
        classes = _classes(child)
        if "ltx_title" in classes:
            continue  # the caller reads the title
        if classes.intersection(_SUBSECTIONS):
            title = _title(child)
            if title:
                out.append(f"### {title}")
            out.extend(_blocks(child))
        elif "ltx_p" in classes:
            text = _clean(_inline(child))
            if text:
                out.append(text)
        elif "ltx_table" in classes or ("ltx_float" in classes and child.xpath(".//table")):
            out.append("\n".join(_table(child)))
        elif child.tag == "figure" or "ltx_figure" in classes:
            # Figures: the caption says what they show; the image itself is unreadable here.
            for caption in child.xpath(".//figcaption"):
                out.append(_clean(_inline(caption)))
        elif "ltx_equation" in classes or "ltx_equationgroup" in classes:
            formula = _equation(child)
            if formula:
                out.append(formula)
        elif child.tag == "li" or "ltx_item" in classes:
            item = " ".join(_blocks(child)) or _clean(_inline(child))
            if item:
                out.append(f"- {item}")
        elif child.tag in ("table",) and "ltx_tabular" in classes:
            out.append("\n".join(_table(child)))
        else:
            out.extend(_blocks(child))
    return [block for block in out if block.strip()]


def section_title(title: str) -> str:
    """A title without its number: '3.1 Model' -> 'Model', 'IV. RESULTS' -> 'RESULTS'."""
    return _LEADING_NUMBER.sub("", title).strip()


def parse_latexml(html: bytes | str) -> list[tuple[str, str]]:
    """The sections of an arXiv HTML page: abstract first, then each top-level section or appendix.

    Paragraphs outside any section (short notes have none) become one section titled 'Text'.
    """
    # arXiv serves UTF-8; without this, lxml guesses Latin-1 for bytes lacking a <meta charset>.
    parser = lxml.html.HTMLParser(encoding="utf-8") if isinstance(html, bytes) else None
    root = lxml.html.fromstring(html, parser=parser)
    articles = root.xpath("//article[contains(concat(' ', @class, ' '), ' ltx_document ')]")
    article = articles[0] if articles else root
    sections: list[tuple[str, str]] = []
    loose: list[str] = []
    for child in article.iter():
        if not isinstance(child.tag, str):
            continue
        classes = _classes(child)
        if "ltx_abstract" in classes:
            text = "\n\n".join(_blocks(child))
            if text:
                sections.append((_title(child) or "Abstract", text))
            break
    for child in _section_candidates(article):
        classes = _classes(child)
        if classes.intersection(_TOP_SECTIONS):
            body = "\n\n".join(_blocks(child))
            title = _title(child) or "Section"
            if body:
                sections.append((title, body))
        elif "ltx_para" in classes or "ltx_p" in classes:
            loose.extend(_blocks(child) if "ltx_para" in classes else [_clean(_inline(child))])
    if loose:
        sections.insert(
            1 if sections and sections[0][0].lower() == "abstract" else 0, ("Text", "\n\n".join(loose))
        )
    return sections


def _section_candidates(article: HtmlElement) -> list[HtmlElement]:
    """Top-level sections and loose paragraphs, looking through wrapper divs but not into sections."""
    found: list[HtmlElement] = []
    for child in article:
        if not isinstance(child.tag, str) or _has(child, _SKIP):
            continue
        classes = _classes(child)
        if classes.intersection(_TOP_SECTIONS) or "ltx_para" in classes or "ltx_p" in classes:
            found.append(child)
        elif "ltx_abstract" in classes or "ltx_title" in classes:
            continue
        else:
            found.extend(_section_candidates(child))
    return found
