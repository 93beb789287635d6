"""Fit a paper's full text into a token budget, keeping what a breakdown is written from.

The breakdown needs the problem (abstract, introduction), the method, the experiments and results, and
the conclusion. Cutting a long paper after its first N characters would lose the results, so each kept
section is trimmed instead, and within a section each subsection keeps its opening paragraphs (an
"Experiments" section whose "Setup" fills the budget would otherwise lose "Main results").

Tokens are estimated offline: about 4 characters per token for Latin text and one token per CJK
character, close enough for tokenizers of the GPT, Qwen and Llama families to budget with.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from digest.latexml import section_title
from digest.models import FullText

_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
ELLIPSIS = "[…]"

# (role, weight, title patterns). Weight is a section's share of the budget when it must be trimmed.
_ROLES: list[tuple[str, float, re.Pattern[str]]] = [
    ("abstract", 1.0, re.compile(r"^abstract|^摘要", re.I)),
    ("introduction", 1.0, re.compile(r"introduction|^intro\b|motivation|overview|引言|绪论|介绍", re.I)),
    # Before "conclusion", so that "Results and Discussion" counts as results.
    (
        "results",
        2.0,
        re.compile(
            r"experiment|result|evaluat|ablation|benchmark|empirical|analys|performance|studies|实验|结果|评估",
            re.I,
        ),
    ),
    ("conclusion", 0.7, re.compile(r"conclu|summary|limitation|future work|discussion|结论|总结|讨论", re.I)),
    # Before "method", so that "Related work on audio models" is not taken for the method.
    (
        "other",
        0.0,
        re.compile(
            r"related|prior work|background|acknowledg|appendix|ethic|reproduc|相关工作|致谢|附录", re.I
        ),
    ),
    (
        "method",
        2.0,
        re.compile(
            r"method|approach|proposed|model|architecture|framework|system|algorithm|design|formulation|"
            r"training|pipeline|dataset|data|preliminar|problem|方法|模型|框架",
            re.I,
        ),
    ),
]
# Which roles are kept first when the budget is too small for all of them.
PRIORITY = ("abstract", "introduction", "method", "results", "conclusion")


def estimate_tokens(text: str) -> int:
    wide = len(_WIDE.findall(text))
    return wide + math.ceil((len(text) - wide) / 4)


def classify(title: str, position: int, count: int, seen: set[str]) -> str:
    """The role a section plays, from its title; untitled-looking sections by where they stand."""
    name = section_title(title)
    if re.match(r"^appendix", name, re.I) or (
        re.match(r"^[A-H](?:\.\d+)*\.?\s", title) and seen.intersection({"results", "conclusion"})
    ):
        return "other"  # appendices ("A Proofs") rank below every section of the paper body
    for role, _weight, pattern in _ROLES:
        if pattern.search(name):
            return role
    # A section named after the method itself ("3 TAC: Timestamped Captions") usually sits between
    # the introduction and the experiments; after the experiments it is more likely further results.
    if "results" in seen:
        return "results" if position < count - 1 else "conclusion"
    return "method" if "introduction" in seen or position > 0 else "introduction"


@dataclass
class _Part:
    title: str
    text: str
    role: str
    cost: int  # tokens of heading + text
    keep: int = 0  # tokens granted


def _weight(role: str) -> float:
    return next(weight for name, weight, _ in _ROLES if name == role)


def trim_to_budget(fulltext: FullText, max_tokens: int) -> str:
    """The paper as Markdown ('## ' per section, in the paper's order) within about max_tokens.

    When everything fits, everything is kept. Otherwise sections outside PRIORITY (related work,
    appendices) go first; the rest share the budget by weight, a section that needs less than its share
    giving the remainder to the others, and each is cut to its share rather than dropped.
    """
    has_abstract = any(section_title(title).lower() == "abstract" for title, _ in fulltext.sections)
    parts: list[_Part] = []
    seen: set[str] = set()
    for position, (title, text) in enumerate(fulltext.sections):
        if title == "Front matter":  # the PDF's title page: the abstract, unless it has its own heading
            role = "other" if has_abstract else "abstract"
        else:
            role = classify(title, position, len(fulltext.sections), seen)
        seen.add(role)
        parts.append(_Part(title, text, role, estimate_tokens(f"## {title}\n\n{text}\n\n")))

    if sum(p.cost for p in parts) <= max_tokens:
        return fulltext.as_markdown()

    # Cutting at paragraph and sentence ends leaves part of each grant unused; re-render with the
    # unused tokens added back until the text is close to the budget, never over it.
    best = _render(parts, max_tokens)
    target = max_tokens
    for _ in range(4):
        used = estimate_tokens(best)
        if used >= 0.95 * max_tokens:
            break
        target += max_tokens - used
        candidate = _render(parts, target)
        if estimate_tokens(candidate) > max_tokens:
            break
        best = candidate
    return best


def _render(parts: list[_Part], max_tokens: int) -> str:
    for part in parts:
        part.keep = 0
    core = [p for p in parts if p.role in PRIORITY]
    others = [p for p in parts if p.role not in PRIORITY]
    # Headings and an elision mark per section are paid up front, in priority order, so a tiny budget
    # still keeps the most important sections whole-but-short rather than all of them empty.
    remaining = max_tokens
    chosen: list[_Part] = []
    for role in PRIORITY:
        for part in (p for p in core if p.role == role):
            overhead = estimate_tokens(f"## {part.title}\n\n{ELLIPSIS}\n\n")
            if overhead < remaining:
                chosen.append(part)
                remaining -= overhead
    _share(chosen, remaining)
    remaining = max_tokens - sum(p.keep + estimate_tokens(f"## {p.title}\n\n{ELLIPSIS}\n\n") for p in chosen)
    # Leftovers (only when the core sections fit whole) go to related work and appendices, in order.
    for part in others:
        overhead = estimate_tokens(f"## {part.title}\n\n{ELLIPSIS}\n\n")
        if remaining - overhead > 50:
            part.keep = min(part.cost, remaining - overhead)
            remaining -= part.keep + overhead
            chosen.append(part)

    kept = {id(p) for p in chosen}
    blocks = []
    for part in parts:
        if id(part) in kept:
            blocks.append(f"## {part.title}\n\n{_cut_section(part.text, part.keep)}".rstrip())
    return "\n\n".join(blocks)


def _share(parts: list[_Part], budget: int) -> None:
    """Water-fill: grant each part min(its need, its weighted share), passing unused shares on."""
    needs = {id(p): estimate_tokens(p.text) for p in parts}
    open_parts = [p for p in parts if needs[id(p)] > 0]
    while open_parts and budget > 0:
        total_weight = sum(_weight(p.role) for p in open_parts)
        shares = {id(p): int(budget * _weight(p.role) / total_weight) for p in open_parts}
        satisfied = [p for p in open_parts if needs[id(p)] - p.keep <= shares[id(p)]]
        if not satisfied:
            for p in open_parts:
                p.keep += shares[id(p)]
            return
        for p in satisfied:
            grant = needs[id(p)] - p.keep
            p.keep += grant
            budget -= grant
            open_parts.remove(p)


def _cut_section(text: str, tokens: int) -> str:
    """Cut a section to `tokens`, sharing them across its subsections so each keeps its opening."""
    if estimate_tokens(text) <= tokens:
        return text
    chunks = re.split(r"(?m)^(?=### )", text)
    chunks = [c.strip() for c in chunks if c.strip()]
    if len(chunks) == 1:
        return _cut(chunks[0], tokens)
    parts = [_Part("", chunk, "method", estimate_tokens(chunk)) for chunk in chunks]
    # Each subsection's heading line and the separator are reserved before sharing the rest.
    reserve = sum(
        estimate_tokens(c.split("\n", 1)[0] + "\n\n" + ELLIPSIS + "\n\n")
        for c in chunks
        if c.startswith("### ")
    )
    if reserve >= tokens:
        return _cut(text, tokens)
    _share(parts, tokens - reserve)
    out = []
    for part in parts:
        head, _, body = part.text.partition("\n")
        if head.startswith("### "):
            cut = _cut(body.strip(), part.keep)
            out.append(f"{head}\n\n{cut}" if cut else head)
        else:
            out.append(_cut(part.text, part.keep))
    return "\n\n".join(block for block in out if block)


def _is_table(paragraph: str) -> bool:
    lines = paragraph.splitlines()
    return len(lines) > 1 and sum(" | " in line for line in lines) >= len(lines) // 2


def _cut(text: str, tokens: int) -> str:
    """Opening paragraphs of a text within `tokens`, the last cut at a sentence end; tables first.

    Tables (as the extractors flatten them: caption, then ' | ' rows) are where papers put their
    scores, so up to half the room goes to them wherever they stand; the rest to the opening.
    """
    if estimate_tokens(text) <= tokens:
        return text
    paragraphs = text.split("\n\n")
    costs = [estimate_tokens(p) + 1 for p in paragraphs]
    room = tokens - estimate_tokens(ELLIPSIS) - 1
    kept: dict[int, str] = {}
    table_room = room // 2
    for index, paragraph in enumerate(paragraphs):
        if _is_table(paragraph) and costs[index] <= table_room:
            kept[index] = paragraph
            table_room -= costs[index]
            room -= costs[index]
    for index, paragraph in enumerate(paragraphs):
        if index in kept:
            continue
        if costs[index] <= room:
            kept[index] = paragraph
            room -= costs[index]
            continue
        partial = _cut_sentences(paragraph, room)
        if partial:
            kept[index] = partial + " " + ELLIPSIS
        break
    if not kept:
        return ""
    out: list[str] = []
    for index in range(len(paragraphs)):
        if index in kept:
            out.append(kept[index])
        elif not out or not out[-1].endswith(ELLIPSIS):
            out.append(ELLIPSIS)
    return "\n\n".join(out)


def _cut_sentences(paragraph: str, tokens: int) -> str:
    """Whole sentences from the start of a paragraph within `tokens`; a word cut if the first is too long."""
    # A Latin full stop ends a sentence only before a space (not in "0.50"); a CJK one always does.
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)|[。！？]", paragraph)]
    out = ""
    for end in ends:
        if estimate_tokens(paragraph[:end]) > tokens:
            break
        out = paragraph[:end]
    if not out and tokens > 20:
        # One enormous "sentence" (a flattened table): keep its start by characters.
        low, high = 0, len(paragraph)
        while low < high:
            mid = (low + high + 1) // 2
            if estimate_tokens(paragraph[:mid]) <= tokens:
                low = mid
            else:
                high = mid - 1
        out = paragraph[:low]
        if " " in out[len(out) // 2 :]:
            out = out.rsplit(" ", 1)[0]  # end on a word, not inside one
    return out
