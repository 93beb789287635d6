"""Paper embeddings from an OpenAI-compatible `/embeddings` endpoint, for ranking by a chat's ratings.

Each paper version is embedded once, from its title and abstract, and the vector is cached in the
database (float32, normalised to unit length so that a dot product is the cosine). Missing vectors are
fetched in batches (one request per BATCH papers), one batch at a time: a 400-paper day is 4 requests,
and fifty chats ranking the same day share them. When the endpoint fails for good, ranking goes on with
whatever vectors are cached (keywords alone at worst): a digest never waits on an optional signal. A
refusal (a wrong key, no access, no such model) is final for the process: the key is not sent again for
every chat a push ranks. A refused key (401) is also kept as `key_refusal`: the build takes it for the
whole server's answer and stops there (digest/service.py), and a new build asks afresh.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime

import openai
from openai import AsyncOpenAI

from digest.models import Paper
from digest.store import Store

log = logging.getLogger(__name__)

BATCH = 100  # inputs per request; OpenAI allows 2048 and 300k tokens, so 100 abstracts fit with room
MAX_INPUT_CHARS = 6000  # ~1500 tokens: a title and a long abstract, far under the model's 8191

Vector = tuple[float, ...]
# Answers that every later request would get too: a wrong key, a key without access, no such model.
REFUSALS = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)


def paper_text(paper: Paper) -> str:
    text = f"{' '.join(paper.title.split())}\n\n{' '.join(paper.abstract.split())}"
    return text[:MAX_INPUT_CHARS]


def normalise(values: Sequence[float]) -> Vector:
    norm = math.sqrt(sum(v * v for v in values))
    if not norm or not math.isfinite(norm):
        return ()
    return tuple(v / norm for v in values)


def dot(a: Vector, b: Vector) -> float:
    if len(a) != len(b):
        return 0.0  # vectors of another model or size: no evidence either way
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


class EmbeddingCache:
    """The stored vectors (table `embeddings`)."""

    def __init__(self, store: Store):
        self.db = store.db

    def get(self, paper_ids: Sequence[str], model: str) -> dict[str, Vector]:
        found: dict[str, Vector] = {}
        for row in self.db.query(
            "select paper_id, vector from embeddings where model = ? "
            "and paper_id in (select value from json_each(?))",
            [model, _json_list(paper_ids)],
        ):
            vector = array("f")
            vector.frombytes(row["vector"])
            found[row["paper_id"]] = tuple(vector)
        return found

    def put(self, vectors: dict[str, Vector], model: str) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.db.conn:
            self.db.table("embeddings").upsert_all(
                (
                    {
                        "paper_id": paper_id,
                        "model": model,
                        "dims": len(vector),
                        "vector": array("f", vector).tobytes(),
                        "created_at": now,
                    }
                    for paper_id, vector in vectors.items()
                ),
                pk=("paper_id", "model"),
            )


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values))


class Embedder:
    def __init__(self, client: AsyncOpenAI, model: str, store: Store, batch: int = BATCH):
        self.client, self.model, self.batch = client, model, batch
        self.cache = EmbeddingCache(store)
        self.requests = 0  # made by this process, for the benchmark and the log
        self.tokens = 0
        self._lock = asyncio.Lock()  # two pushes ranking the same day do not embed it twice
        self.refused: str | None = None  # why the endpoint refused for good (401/403/404), once it did
        self.key_refusal: openai.AuthenticationError | None = None  # this endpoint's own 401, if it was
        self._refused_for_key = False  # `refused` stands for a refused key (here or at another endpoint)

    def refuse_key(self, reason: str) -> None:
        """Another endpoint of the same server refused the key: do not send it here either."""
        self.refused, self._refused_for_key = reason, True

    def forget_key_refusal(self) -> None:
        """A new build asks afresh (in `run`, the key may have been fixed on the server's side). A model
        the endpoint does not have (404) or may not use (403) stays refused until restarted."""
        if self._refused_for_key:
            self.refused = None
        self.key_refusal, self._refused_for_key = None, False

    async def vectors(self, papers: Sequence[Paper], quiet_key_refusal: bool = False) -> dict[str, Vector]:
        """Vectors by versioned id: cached ones, plus the missing ones fetched now (those that fail are
        left out). quiet_key_refusal: the caller reports a refused key itself (a build stops on it)."""
        ids = list(dict.fromkeys(p.versioned_id for p in papers))
        found = self.cache.get(ids, self.model)
        if len(found) == len(ids) or self.refused is not None:
            return found
        async with self._lock:
            found = self.cache.get(ids, self.model)  # another task may have fetched them meanwhile
            if self.refused is not None:  # or been refused
                return found
            missing = list({p.versioned_id: p for p in papers if p.versioned_id not in found}.values())
            for start in range(0, len(missing), self.batch):
                chunk = missing[start : start + self.batch]
                fetched = await self._fetch(chunk, quiet_key_refusal)
                if fetched is None:
                    break  # the endpoint is down: rank with what there is
                self.cache.put(fetched, self.model)
                found.update(fetched)
        return found

    async def _fetch(self, papers: list[Paper], quiet_key_refusal: bool = False) -> dict[str, Vector] | None:
        try:
            self.requests += 1
            response = await self.client.embeddings.create(
                model=self.model, input=[paper_text(p) for p in papers], encoding_format="float"
            )
        except REFUSALS as err:
            self.refused = _short(err)
            if isinstance(err, openai.AuthenticationError):
                self.key_refusal, self._refused_for_key = err, True
                if quiet_key_refusal:
                    return None
            log.warning(
                "embeddings (%s) refused, ranking without them until restarted: %s; check OPENAI_API_KEY "
                "and [llm] embedding_model (empty turns embeddings off)",
                self.model,
                self.refused,
            )
            return None
        except openai.OpenAIError as err:
            log.warning("embeddings (%s) failed, ranking without them: %s", self.model, _short(err))
            return None
        if response.usage is not None:
            self.tokens += response.usage.prompt_tokens
        vectors: dict[str, Vector] = {}
        for item in response.data:
            # The reply is outside input too: an index out of range or a non-numeric vector is dropped.
            if not (0 <= item.index < len(papers)) or not isinstance(item.embedding, list):
                continue
            try:
                vector = normalise([float(v) for v in item.embedding])
            except (TypeError, ValueError):
                continue
            if vector:
                # float32, as stored: a vector reads the same fresh from the endpoint or from the cache
                vectors[papers[item.index].versioned_id] = tuple(array("f", vector))
        return vectors


def _short(err: Exception) -> str:
    return " ".join(str(err).split())[:200]
