"""A small asyncio HTTP/1.1 load generator for local benchmarks.

N workers each keep one keep-alive connection and issue GET requests back to back, for a
fixed duration (after an unrecorded warm-up) or for a fixed number of requests. Every run is
bounded both in time (requests still running at the end are cancelled) and in count, and
only loopback targets are accepted.

The default client is a minimal raw HTTP/1.1 client on asyncio streams: the load generator
shares the machine's cores with the server, so the cheaper the client, the less it steals
from what is measured. ``client="httpx"`` is kept for comparison (see docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_REQUESTS = 10_000_000  # a hard cap even for duration runs
MAX_COUNT_SECONDS = 600.0  # a hard cap on count runs
IDLE_REUSE_S = 2.0  # reconnect rather than reuse a connection idle this long (uvicorn: 5 s)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (0 < p <= 100) of already sorted values; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Result:
    """What one measured phase produced. Latencies are in seconds, one per request."""

    requests: int = 0
    errors: int = 0
    unfinished: int = 0  # cancelled when the time was up
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    outcomes: frozenset[str] = frozenset()  # statuses that are not errors besides 2xx

    def add(self, latency: float, status: str, ok: bool | None = None) -> None:
        """One sample; an error unless ``ok`` (by default: a 2xx status or one of
        :attr:`outcomes`)."""
        if ok is None:
            ok = status.startswith("2") or status in self.outcomes
        self.requests += 1
        self.latencies.append(latency)
        self.statuses[status] += 1
        if not ok:
            self.errors += 1

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        """Requests/s and latency percentiles in milliseconds."""
        lat = sorted(self.latencies)
        ms = {f"p{p}_ms": round(percentile(lat, p) * 1000, 3) for p in (50, 90, 99)}
        return {
            "requests": self.requests,
            "errors": self.errors,
            "unfinished": self.unfinished,
            "elapsed_s": round(self.elapsed, 3),
            "rps": round(self.requests / self.elapsed, 1) if self.elapsed > 0 else 0.0,
            **ms,
            "max_ms": round(lat[-1] * 1000, 3) if lat else 0.0,
            "statuses": dict(sorted(self.statuses.items())),
        }


@dataclass
class Reply:
    """One response: header names lowercased (the last of a repeated one wins), the cookies
    it set, and the body."""

    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads a whole response."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def get(self, path: str) -> int:
        return (await self.request("GET", path)).status

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if self.writer is not None and time.monotonic() - self.used > IDLE_REUSE_S:
            await self.close()  # the server may be closing it this very moment
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.used = time.monotonic()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if body or method != "GET":
            head += f"Content-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        got: dict[str, str] = {}
        cookies: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            got[name] = value
            if name == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                cookies[cookie_name] = rest.split(";", 1)[0]
        data = await self._body(got)
        if got.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, got, cookies, data)

    async def _body(self, headers: dict[str, str]) -> bytes:
        assert self.reader is not None
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")  # no trailers expected
            return b"".join(chunks)
        data = await self.reader.read()  # body delimited by close
        await self.close()
        return data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


class HttpxConnection:
    """The same interface over a shared ``httpx.AsyncClient`` (for comparison)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, path: str) -> int:
        response = await self.client.get(path)
        return response.status_code

    async def close(self) -> None:
        pass


Connection = RawConnection | HttpxConnection


async def run(
    base_url: str,
    paths: Sequence[str] | Callable[[int], str],
    *,
    concurrency: int = 16,
    duration: float | None = 10.0,
    requests: int | None = None,
    warmup: float = 2.0,
    request_timeout: float = 10.0,
    client: str = "raw",
) -> Result:
    """Load ``base_url`` with GETs and return the measured phase's :class:`Result`.

    ``paths`` is a list used round-robin, or a function from the request's sequence number
    to a path. Give ``duration`` (seconds; requests still running then are cancelled and
    counted as unfinished) or ``requests`` (a fixed count, with ``duration=None``). A
    request that raises or takes over ``request_timeout`` seconds counts as an error with
    status ``"exc:<Type>"``.
    """
    url = urlsplit(base_url)
    if url.hostname not in LOOPBACK or url.port is None:
        raise ValueError(f"only loopback targets with an explicit port: {base_url}")
    if (duration is None) == (requests is None):
        raise ValueError("give exactly one of duration or requests")
    path_for = paths if callable(paths) else (lambda i: paths[i % len(paths)])
    async with contextlib.AsyncExitStack() as stack:
        if client == "httpx":
            limits = httpx.Limits(max_connections=concurrency)
            shared = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=request_timeout)
            await stack.enter_async_context(shared)
            conns: list[Connection] = [HttpxConnection(shared) for _ in range(concurrency)]
        else:
            conns = [RawConnection(url.hostname, url.port) for _ in range(concurrency)]
        for conn in conns:
            stack.push_async_callback(conn.close)

        async def action(conn: Connection, i: int) -> str:
            return str(await conn.get(path_for(i)))

        if warmup > 0:
            await drive(conns, action, warmup, MAX_REQUESTS, request_timeout, Result())
        result = Result()
        if duration is not None:
            await drive(conns, action, duration, MAX_REQUESTS, request_timeout, result)
            result.elapsed = duration
        else:
            assert requests is not None
            started = time.perf_counter()
            await drive(conns, action, MAX_COUNT_SECONDS, requests, request_timeout, result)
            result.elapsed = time.perf_counter() - started
        return result


Action = Callable[[Any, int], Awaitable[str]]


async def drive(
    conns: Sequence[Any],
    action: Action,
    seconds: float,
    limit: int,
    request_timeout: float,
    result: Result,
    stop: asyncio.Event | None = None,
) -> None:
    """Run one worker per connection, each calling ``action(conn, i)`` back to back (``i``
    counts actions across workers), until ``seconds`` pass or ``limit`` actions were
    started; record each finished action's latency and the status it returned into
    ``result``. An action may be several requests; ``request_timeout`` bounds each action.
    Actions still running when the time is up are cancelled (their connections closed) and
    counted as ``unfinished``; setting ``stop`` lets running actions finish and starts no
    more."""
    issued = 0
    stopped = stop or asyncio.Event()

    async def worker(conn: Any) -> None:
        nonlocal issued
        while issued < limit and not stopped.is_set():
            i = issued
            issued += 1
            start = time.perf_counter()
            try:
                async with asyncio.timeout(request_timeout):
                    status = await action(conn, i)
            except asyncio.CancelledError:
                await conn.close()  # a response may be half read
                raise
            except Exception as exc:  # any failure is an error sample, never a crash
                status = f"exc:{type(exc).__name__}"
                await conn.close()
            result.add(time.perf_counter() - start, status)

    tasks = [asyncio.create_task(worker(conn)) for conn in conns]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    result.unfinished += len(pending)
    for task in done:
        task.result()  # a bug in the worker itself should not pass silently
