"""A fake OpenAI-compatible Chat Completions and Embeddings server.

It refuses what OpenAI refuses (no bearer key, no model, no messages, a strict json_schema that is not
strict-valid, json_object without the word JSON in the messages; for /embeddings an empty input, more
than 2048 inputs, an over-long input) and answers chat completions through a replaceable `responder`,
by default with the seed digest's own texts for the paper named in the request.

Embeddings are deterministic bags of words: each word of 3+ letters adds ±1 to one of DIMS dimensions
chosen by its hash, then the vector is normalised. Texts sharing vocabulary are close, as with a real
model, so ranking tests can use topics made of words.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIELDS = ("translation", "background", "method", "results")
DIMS = 64
MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_CHARS = 8191 * 4  # OpenAI counts 8191 tokens; about four characters a token
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "are",
        "our",
        "its",
        "into",
        "than",
        "then",
        "they",
        "their",
        "which",
    ]
)
_ID = re.compile(r"arXiv ID: (\S+)")

# A responder gets the request body and returns (status, content): status 200 means content is the
# assistant message; anything else is sent as an API error with that status.
Responder = Callable[[dict[str, Any]], tuple[int, str]]


def seed_texts(path: Path) -> dict[str, dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {paper["id"]: paper["zh"] for paper in data["papers"]}


def paper_id_of(body: dict[str, Any]) -> str | None:
    for message in body["messages"]:
        if message.get("role") == "user":
            match = _ID.search(str(message.get("content", "")))
            if match:
                return match.group(1)
    return None


def embed_text(text: str) -> list[float]:
    vector = [0.0] * DIMS
    for word in re.findall(r"[a-z]{3,}", text.lower()):
        if word in _STOP:
            continue
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % DIMS] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def generic_texts(paper_id: str) -> dict[str, str]:
    return {
        "translation": f"译文 {paper_id}。",
        "background": f"- **研究背景**：{paper_id} 的背景。",
        "method": f"- **方法**：{paper_id} 的方法。",
        "results": "- **结果**：提升 12.5%。",
    }


_STOP = {"what", "does", "which", "that", "this", "with", "from", "have", "were", "paper", "they", "their"}


def answer_reply(body: dict[str, Any]) -> str:
    """A grounded answer to a question about a paper (response format `paper_answer`): the sentence of
    the paper text sharing most words with the last question, citing its section's heading; no shared
    word: answered false."""
    users = [str(m.get("content", "")) for m in body["messages"] if m.get("role") == "user"]
    paper = users[0].partition("Paper text:")[2]
    question = users[-1].removeprefix("Question: ")

    def stems(text: str) -> set[str]:  # "reaches" meets "reach"
        return {w.lower()[:5] for w in re.findall(r"[A-Za-z0-9]{4,}", text) if w.lower() not in _STOP}

    words = stems(question)
    parts = re.split(r"^## (.+)$", paper, flags=re.MULTILINE)
    best: tuple[int, str, str] = (0, "", "")
    for heading, text in zip(parts[1::2], parts[2::2], strict=True):
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            score = len(words & stems(sentence))
            if score > best[0]:
                best = (score, heading.strip(), sentence.strip())
    score, heading, sentence = best
    if not score:
        return json.dumps({"answer": "The text does not cover this.", "sections": [], "answered": False})
    label = f"§{heading}" if heading[:1].isdigit() else heading
    return json.dumps({"answer": f"The paper states: {sentence}", "sections": [label], "answered": True})


def is_question(body: dict[str, Any]) -> bool:
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name") == "paper_answer"


@dataclass
class FakeLLM:
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # paper id -> fields
    latency: float = 0.0
    responder: Responder | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)
    embeddings_status: int = 200  # set to 500 or 429 to make /embeddings fail
    # The keys the server accepts (None: any bearer key) and the models it serves (None: any model),
    # refused the way OpenAI refuses them: 401 invalid_api_key, 404 model_not_found.
    api_keys: set[str] | None = None
    models: list[str] | None = None
    models_listed: int = 0  # GET /v1/models requests
    # 200: the model list is served; 404 as servers without one; 403 as OpenAI answers a key restricted
    # to completions ("Missing scopes: api.model.read").
    models_status: int = 200
    received: int = 0  # chat completion requests that reached the server, refused ones included
    embeddings_received: int = 0  # /embeddings requests that reached the server, refused ones included
    in_flight: int = 0
    echo_errors: bool = False  # error messages repeat the request's path and Authorization header
    max_in_flight: int = 0
    # True: the server accepts every request (completions, embeddings, the model list) and never answers,
    # as a wedged server does, until the client gives up and closes the connection (or hang is unset).
    hang: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def default_reply(self, body: dict[str, Any]) -> tuple[int, str]:
        if is_question(body):
            return 200, answer_reply(body)
        paper_id = paper_id_of(body) or "unknown"
        texts = self.texts.get(paper_id) or generic_texts(paper_id)
        return 200, json.dumps(texts, ensure_ascii=False)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        return app

    @property
    def embedded_inputs(self) -> int:
        return sum(len(body["input"]) for body in self.embedding_requests)

    async def _hang(self, request: web.Request) -> None:
        while self.hang and request.transport is not None and not request.transport.is_closing():
            await asyncio.sleep(0.02)

    async def _embeddings(self, request: web.Request) -> web.Response:
        with self._lock:
            self.embeddings_received += 1
        await self._hang(request)
        refused = self._refused_key(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        if not isinstance(body, dict) or not body.get("model"):
            return _error(400, "you must provide a model parameter", "invalid_request_error")
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) and i for i in inputs):
            return _error(
                400, "'input' must be a non-empty string or array of strings", "invalid_request_error"
            )
        if len(inputs) > MAX_EMBEDDING_INPUTS:
            return _error(
                400, f"'input' must have at most {MAX_EMBEDDING_INPUTS} items", "invalid_request_error"
            )
        if any(len(i) > MAX_EMBEDDING_CHARS for i in inputs):
            return _error(400, "This model's maximum context length is 8192 tokens", "invalid_request_error")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            return _error(400, f"Invalid value for 'encoding_format': {fmt!r}", "invalid_request_error")
        self.embedding_requests.append({**body, "input": inputs})
        if self.embeddings_status != 200:
            return _error(self.embeddings_status, "The server had an error.", "server_error")
        data = []
        for index, text in enumerate(inputs):
            vector: Any = embed_text(text)
            if fmt == "base64":
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(len(i) for i in inputs) // 4
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _refused_key(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "You didn't provide an API key.", "invalid_request_error")
        key = auth.removeprefix("Bearer ")
        if self.api_keys is not None and key not in self.api_keys:
            masked = f"{key[:3]}*****{key[-4:]}" if len(key) > 8 else "*****"
            if self.echo_errors:  # a careless server repeats the whole key
                masked = key
            return _error(
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                code="invalid_api_key",
            )
        return None

    async def _models(self, request: web.Request) -> web.Response:
        with self._lock:
            self.models_listed += 1
        await self._hang(request)
        if self.models_status == 404:  # no such route: answered before any key is looked at
            return _error(404, "Not Found", "invalid_request_error")
        refused = self._refused_key(request)
        if refused is not None:
            return refused
        if self.models_status == 403:
            return _error(
                403,
                "You have insufficient permissions for this operation. Missing scopes: api.model.read.",
                "invalid_request_error",
            )
        names = self.models if self.models is not None else ["gpt-4o-mini"]
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names],
            }
        )

    def calls_for(self, paper_id: str) -> int:
        return sum(1 for body in self.requests if paper_id_of(body) == paper_id)

    async def _completions(self, request: web.Request) -> web.Response:
        # Every request that reaches the server is counted, refused or not: that is what a provider sees.
        with self._lock:
            self.received += 1
        refused = self._refused_key(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        problem = _check(body)
        if problem:
            return _error(400, problem, "invalid_request_error")
        if self.models is not None and body["model"] not in self.models:
            return _error(
                404,
                f"The model `{body['model']}` does not exist or you do not have access to it.",
                "invalid_request_error",
                code="model_not_found",
            )
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._hang(request)
            if self.latency:
                await asyncio.sleep(self.latency)
            status, content = (self.responder or self.default_reply)(body)
        finally:
            with self._lock:
                self.in_flight -= 1
        if status != 200:
            message = content or "The server had an error."
            if self.echo_errors:  # like a gateway that prints the request it refused
                message += (
                    f" (request: POST {request.path}, Authorization: {request.headers.get('Authorization')})"
                )
            return _error(status, message, "server_error")
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(content) // 2,
                    "total_tokens": prompt_tokens + len(content) // 2,
                },
            }
        )


def _check(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not body.get("model"):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant", "developer", "tool"):
            return f"Invalid value for 'role': {message.get('role')!r}"
        if not isinstance(message.get("content"), str):
            return "message content must be a string"
    fmt = body.get("response_format")
    if fmt is None:
        return None
    if fmt.get("type") == "json_object":
        if not any("json" in m["content"].lower() for m in messages):
            return "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'."
        return None
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(spec.get("name", ""))):
            return "Invalid 'response_format.json_schema.name'"
        schema = spec.get("schema") or {}
        if spec.get("strict"):
            if schema.get("additionalProperties") is not False:
                return "Invalid schema: 'additionalProperties' is required to be supplied and to be false."
            if sorted(schema.get("required", [])) != sorted(schema.get("properties", {})):
                return "Invalid schema: 'required' is required to include every key in 'properties'."
        return None
    return f"Invalid value for 'response_format.type': {fmt.get('type')!r}"


def _error(status: int, message: str, kind: str, code: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "param": None, "code": code}}, status=status
    )
