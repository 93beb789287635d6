"""A paper's PDF -> its sections as plain text, through pdfium (pypdfium2: Apache-2.0/BSD, not AGPL).

A PDF has no section markup, so headings are recognised by shape: a short line that is a section number
plus a capitalised title ('3 Method', '4. Experiments', 'IV. RESULTS') or one of the usual unnumbered
titles. Subsection lines ('3.1 Encoder') stay inside their section as '### ' lines, like the HTML path.
Everything from the references on is dropped, as the HTML path drops the bibliography.
"""

from __future__ import annotations

import re

import pypdfium2

_SECTION = re.compile(r"^(?P<num>\d{1,2}|[IVX]{1,5})\.?\s+(?P<title>[A-Z][^\n]{1,80})$")
_SUBSECTION = re.compile(r"^(?P<num>\d{1,2}\.\d{1,2}(?:\.\d{1,2})?)\.?\s+(?P<title>[A-Z][^\n]{1,80})$")
_UNNUMBERED = re.compile(
    r"^(abstract|introduction|related work|background|method(?:s|ology)?|experiments?|results|"
    r"evaluation|discussion|conclusions?|limitations|appendix)$",
    re.IGNORECASE,
)
_END = re.compile(r"^(?:\d{1,2}\.?\s+)?(references|bibliography)$", re.IGNORECASE)
# A heading is a short line without the full stop a sentence ends with.
_MAX_HEADING = 80


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page, as pdfium lays it out (lines end with CR LF)."""
    pdf = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return pages
    finally:
        pdf.close()


def _number(label: str) -> int:
    roman = {"I": 1, "V": 5, "X": 10}
    if label.isdigit():
        return int(label)
    values = [roman[c] for c in label]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _heading(line: str, last: int) -> tuple[int, str] | None:
    """(1, title) for the next section's heading, (2, title) for a subsection of section `last`.

    Running text can start with a number and a capital ("2 GB of memory ..."), so a numbered heading
    must be short, not end like a sentence, and continue the numbering: section last + 1, or a
    subsection of section `last`.
    """
    if len(line) > _MAX_HEADING or line.endswith((".", ",", ";")) or len(line.split()) > 10:
        return None
    if match := _SUBSECTION.match(line):
        major = int(match.group("num").split(".")[0])
        return (2, line) if major == last else None
    if match := _SECTION.match(line):
        return (1, line) if _number(match.group("num")) == last + 1 else None
    if _UNNUMBERED.match(line):
        return 1, line
    return None


def _join(lines: list[str]) -> str:
    """Lines -> paragraphs: a hyphen at a line end joins the word; a blank line ends a paragraph."""
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current.endswith("-") and current[-2:-1].isalpha():
                continue  # a word hyphenated across a page break: the next page finishes it
            if current:
                paragraphs.append(current)
            current = ""
        elif line.startswith("### "):
            if current:
                paragraphs.append(current)
            paragraphs.append(line)
            current = ""
        elif current.endswith("-") and current[-2:-1].isalpha() and line[:1].islower():
            current = current[:-1] + line
        else:
            current = f"{current} {line}" if current else line
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


def parse_pdf(data: bytes) -> list[tuple[str, str]]:
    """The sections of a PDF paper; text before the first heading goes to a section titled 'Front matter'."""
    sections: list[tuple[str, list[str]]] = [("Front matter", [])]
    last = 0  # the number of the latest numbered section
    for page in pdf_pages(data):
        for raw in page.splitlines():
            line = " ".join(raw.split())
            if _END.match(line):
                return _finish(sections)
            heading = _heading(line, last)
            if heading is None:
                sections[-1][1].append(line)
            elif heading[0] == 1:
                sections.append((heading[1], []))
                if match := _SECTION.match(line):
                    last = _number(match.group("num"))
            else:
                sections[-1][1].append(f"### {heading[1]}")
        sections[-1][1].append("")  # a page break ends a paragraph
    return _finish(sections)


def _finish(sections: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    out = []
    for title, lines in sections:
        text = _join(lines)
        if text:
            out.append((title, text))
    return out
