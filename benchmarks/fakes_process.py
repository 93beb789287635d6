"""The fakes of a benchmark in a child process of their own, so that the figures measure the product
alone: `serve(conn, papers, latency)` starts them, sends back (arxiv_url, llm_url), then answers
"stats" (and "reset", if it supports it) over the pipe until anything else arrives."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from typing import Any


class Fakes:
    def __init__(self, serve: Callable[[Any, int, float], None], papers: int, latency: float):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(child, papers, latency), daemon=True)
        self._proc.start()
        self.arxiv_url, self.llm_url = self._conn.recv()

    def stats(self) -> dict[str, int]:
        self._conn.send("stats")
        return self._conn.recv()

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self._proc.join(timeout=10)
