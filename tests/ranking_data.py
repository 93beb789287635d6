"""Papers of a few topics, made of words, for the ranking tests: the fake /embeddings endpoint puts
papers that share vocabulary close together, as a real model would put papers of one topic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from digest.models import DigestItem, Paper, Summary

TOPICS = {
    "codec": (
        "Neural speech codec {n}",
        "We compress speech with a neural codec using residual vector quantization at a low bitrate, "
        "improving codec perceptual quality and bitrate efficiency of speech tokens.",
    ),
    "music": (
        "Symbolic music generation {n}",
        "We generate symbolic music melodies with a diffusion model conditioned on chords, improving "
        "melody coherence and harmony of generated music compositions.",
    ),
    "vision": (
        "Image segmentation benchmark {n}",
        "We segment images of street scenes with a transformer backbone and report segmentation masks "
        "on cityscapes pixels, improving boundary accuracy of segmentation.",
    ),
    "robots": (
        "Robot navigation in crowds {n}",
        "A mobile robot plans navigation paths among pedestrians with reinforcement learning, avoiding "
        "collisions during navigation through crowded corridors.",
    ),
    "survey": (
        "A survey of audio tokenizers {n}",
        "This survey reviews audio tokenizers and lists open problems; the survey covers benchmarks of "
        "tokenizer families.",
    ),
}


def topic_paper(topic: str, n: int, base_id: str, authors: tuple[str, ...] = ("Ada Lovelace",)) -> Paper:
    title, abstract = TOPICS[topic]
    moment = datetime(2026, 2, 17, 12, tzinfo=UTC)
    return Paper(
        base_id=base_id,
        version=1,
        title=title.format(n=n),
        authors=authors,
        categories=("cs.SD",),
        published=moment,
        updated=moment,
        abstract=abstract,
    )


def topic_items(plan: list[tuple[str, int]], prefix: str) -> list[DigestItem]:
    """[("codec", 3), ("music", 2)] -> 5 items, ids newest first (prefix + a falling counter)."""
    items = []
    counter = sum(count for _topic, count in plan)
    for topic, count in plan:
        for n in range(1, count + 1):
            paper = topic_paper(topic, n, f"{prefix}{counter:04d}")
            summary = Summary(f"译文：{paper.title}", f"背景 {paper.title}", "方法", "结果")
            items.append(DigestItem(paper, summary))
            counter -= 1
    items.sort(key=lambda item: item.paper.base_id, reverse=True)
    return items


def with_authors(item: DigestItem, *authors: str) -> DigestItem:
    return replace(item, paper=replace(item.paper, authors=authors))
