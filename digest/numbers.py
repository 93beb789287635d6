"""Check that every number an LLM wrote occurs in the text it was given.

A breakdown is only worth reading if its scores are the paper's own; an invented "72.5%" is the most
damaging thing a summary can contain and the easiest one to catch mechanically. A number is supported
when the source holds the same value in any obvious spelling: 0.50 and 0.5, 1,000 and 1000, ±12 and 12,
-3 and −3 and 3, 71.9% and 71.9, 10x and 10×, "75-150" as 75 and 150. Also accepted: a source value
rounded to fewer (but not zero) decimals (71.92 -> 71.9), a fraction as a percentage (0.9395 -> 93.95%)
and back, and English number words in the source (three -> 3). Structure the LLM adds is not checked:
list markers ("1)", "2.", "(3)") and a heading's ordinal ("### 2. Method", "**Step 1**").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

# Full-width digits and signs (common in CJK text) read as ASCII; other punctuation is left alone so
# that a Chinese comma between two numbers is never taken for a thousands separator.
_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "％": "%", "．": "."})
# A digit group separator: ASCII comma or a thin/no-break space, followed by exactly three digits.
_GROUPING = re.compile(r"(?<=\d)[,\u2009\u202f\u00a0](?=\d{3}(?!\d))")
# Sign, range dash and suffixes need no handling: only the unsigned digits are compared.
_NUMBER = re.compile(r"(?<![\d.])(?:\d+(?:\.\d+)?|\.\d+)(?:\s*(?:\\?%|percent\b))?")
_LIST_MARKER = re.compile(r"^(\s*(?:[-*+>]\s+)*(?:\*\*|__)?)([(（]?\d{1,2}[.)）、:：])(?=\s|\*|$|[^\d])")
_HEADING = re.compile(
    r"^(\s*(?:#{1,6}\s*|[-*+]\s+)?(?:\*\*|__)?\s*(?:第|step|part|stage|phase|section|阶段|步骤)?\s*)(\d{1,2})(?!\d|\.\d)",
    re.IGNORECASE,
)
_INLINE_ENUM = re.compile(r"[(（]\d{1,2}[)）]")
_SMALL_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
_WORDS = {word: value for value, word in enumerate(_SMALL_NUMBERS.split())} | {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "thousand": 1000,
    "twice": 2,
    "double": 2,
}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)


def _canon(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text or text == "0" else text.lstrip("0") or "0"


def _parse(token: str) -> tuple[Decimal, bool] | None:
    """(value, is_percent) of a matched token, or None when it is not a usable number."""
    percent = token.rstrip().endswith(("%", "percent"))
    digits = re.match(r"[\d.]+", token)
    if not digits:
        return None
    try:
        return Decimal(digits.group(0)), percent
    except InvalidOperation:
        return None


def _prepare(text: str) -> str:
    return _GROUPING.sub("", text.translate(_WIDTH))


def _blank(match: re.Match[str], group: int) -> str:
    """The match with one group replaced by spaces, so offsets and the rest of the line stay put."""
    start, end = match.span(group)
    whole = match.group(0)
    offset = match.start(0)
    return whole[: start - offset] + " " * (end - start) + whole[end - offset :]


def _strip_structure(text: str) -> str:
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        is_heading = stripped.startswith("#") or bool(
            re.fullmatch(r"\s*(?:[-*+]\s+)?(\*\*|__).+?\1\s*[:：]?\s*", line)
        )
        line = _LIST_MARKER.sub(lambda m: _blank(m, 2), line, count=1)
        if is_heading:
            line = _HEADING.sub(lambda m: _blank(m, 2), line, count=1)
        line = _INLINE_ENUM.sub(lambda m: " " * len(m.group(0)), line)
        lines.append(line)
    return "\n".join(lines)


def _source_values(source: str) -> set[str]:
    values: set[str] = set()
    for match in _NUMBER.finditer(_prepare(source)):
        parsed = _parse(match.group(0))
        if parsed is None:
            continue
        value, percent = parsed
        values.add(_canon(value))
        exponent = value.normalize().as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        for places in range(1, decimals):  # 71.92 also supports 71.9
            values.add(_canon(value.quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP")))
        if 0 < value <= 1 and decimals:
            hundred = value * 100  # 0.9395 as 93.95%
            values.add(_canon(hundred))
            hundred_decimals = max(decimals - 2, 0)
            for places in range(1, hundred_decimals):
                values.add(_canon(hundred.quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP")))
        if percent:
            values.add(_canon(value / 100))
    for match in _WORD.finditer(source):
        values.add(str(_WORDS[match.group(1).lower()]))
    return values


def numbers_in(text: str) -> list[str]:
    """The numbers of an LLM text that need support, as written, structure markers left out."""
    found = []
    for match in _NUMBER.finditer(_prepare(_strip_structure(text))):
        if _parse(match.group(0)) is not None:
            found.append(match.group(0).replace(" ", ""))
    return found


def unsupported_numbers(texts: Iterable[str], source: str) -> list[str]:
    """Numbers in `texts` whose value occurs nowhere in `source`, each once, in order of appearance."""
    supported = _source_values(source)
    missing: list[str] = []
    for text in texts:
        for token in numbers_in(text):
            parsed = _parse(token)
            if parsed is None or _canon(parsed[0]) in supported:
                continue
            if token not in missing:
                missing.append(token)
    return missing
