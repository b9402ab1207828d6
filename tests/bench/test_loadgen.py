"""The load generator's maths and error counting, against an in-process uvicorn server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import uvicorn

from bench import loadgen, server

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """/ok 200, /fail 500, /chunked streams its body, /close asks to close the connection,
    /slow never answers (it returns when the client disconnects)."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/slow":
        while (await receive())["type"] != "http.disconnect":
            pass
        return
    if path == "/echo":  # the request body back, and a cookie
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        cookie = [(b"set-cookie", b"c=1; HttpOnly; Path=/"), (b"location", b"/Next?a=B")]
        length = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 303, "headers": cookie + length})
        await send({"type": "http.response.body", "body": body})
        return
    status = 500 if path == "/fail" else 200
    headers = [(b"connection", b"close")] if path == "/close" else []
    if path != "/chunked":
        headers.append((b"content-length", b"2"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if path == "/chunked":
        await send({"type": "http.response.body", "body": b"a" * 5000, "more_body": True})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    # A socket already listening: connections queue until the server accepts them.
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    uvicorn_server = uvicorn.Server(config)
    task = asyncio.create_task(uvicorn_server.serve(sockets=[sock]))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    uvicorn_server.should_exit = True
    await task


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [loadgen.percentile(values, p) for p in (1, 50, 90, 99, 100)] == [1, 50, 90, 99, 100]
    assert loadgen.percentile([0.5], 99) == 0.5
    assert loadgen.percentile([], 50) == 0.0
    assert loadgen.percentile([1.0, 2.0, 3.0], 50) == 2.0


def test_summary_maths() -> None:
    # given ten samples of 1..10 ms over 2 s, two of them failures
    result = loadgen.Result(elapsed=2.0)
    for ms in range(1, 11):
        result.add(ms / 1000, "500" if ms in (3, 7) else "200")
    result.add(0.02, "exc:TimeoutError")
    # when
    summary = result.summary()
    # then
    assert summary["requests"] == 11
    assert summary["errors"] == 3
    assert summary["rps"] == 5.5
    assert (summary["p50_ms"], summary["p90_ms"], summary["max_ms"]) == (6.0, 10.0, 20.0)
    assert summary["statuses"] == {"200": 8, "500": 2, "exc:TimeoutError": 1}


@pytest.mark.parametrize("client", ["raw", "httpx"])
async def test_counts_requests_and_errors(base_url: str, client: str) -> None:
    paths = ["/ok", "/fail", "/chunked", "/close"]
    result = await loadgen.run(
        base_url, paths, concurrency=3, duration=None, requests=40, warmup=0, client=client
    )
    assert result.requests == 40
    assert result.errors == 10
    assert result.statuses == {"200": 30, "500": 10}
    assert len(result.latencies) == 40


async def test_duration_run_stops_by_itself(base_url: str) -> None:
    result = await loadgen.run(base_url, ["/ok"], concurrency=2, duration=0.5, warmup=0.1)
    assert result.requests > 0
    assert result.errors == 0
    assert result.elapsed == 0.5


async def test_requests_running_at_the_end_are_unfinished(base_url: str) -> None:
    result = await loadgen.run(base_url, ["/slow"], concurrency=2, duration=0.2, warmup=0)
    assert (result.requests, result.errors, result.unfinished) == (0, 0, 2)


async def test_exceptions_count_as_errors() -> None:
    url = f"http://127.0.0.1:{server.free_port()}"  # nothing listens there
    result = await loadgen.run(url, ["/"], concurrency=2, duration=None, requests=4, warmup=0)
    assert result.requests == result.errors == 4
    assert result.statuses == {"exc:ConnectionRefusedError": 4}


def test_refuses_non_loopback_targets() -> None:
    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(loadgen.run("http://example.com:80", ["/"], duration=1))


async def test_a_post_sends_its_body_and_reads_cookies_and_headers(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    conn = loadgen.RawConnection(host, int(port))
    try:
        reply = await conn.request("POST", "/echo", b"a=1&b=2", {"Cookie": "x=y"})
        again = await conn.request("POST", "/echo", b"second")  # same connection, kept alive
    finally:
        await conn.close()
    assert reply.status == 303 and reply.body == b"a=1&b=2"
    assert reply.cookies == {"c": "1"}
    assert reply.headers["location"] == "/Next?a=B"  # values keep their case
    assert again.body == b"second"


async def test_drive_runs_actions_until_stopped_and_counts_outcomes(base_url: str) -> None:
    # given actions that each make two requests, and "done" declared a good outcome
    host, port = base_url.removeprefix("http://").split(":")
    conns = [loadgen.RawConnection(host, int(port)) for _ in range(2)]
    result = loadgen.Result(outcomes=frozenset({"done"}))
    stop = asyncio.Event()

    async def action(conn: loadgen.RawConnection, i: int) -> str:
        await conn.get("/ok")
        if i == 5:
            stop.set()  # the actions under way finish; no new one starts
        return "done" if (await conn.get("/ok")) == 200 and i % 3 else "missed"

    # when
    await loadgen.drive(conns, action, 10.0, 1000, 5.0, result, stop=stop)
    for conn in conns:
        await conn.close()
    # then
    assert 6 <= result.requests <= 7 and result.unfinished == 0
    assert (
        result.errors
        == result.statuses["missed"]
        == sum(1 for i in range(result.requests) if i % 3 == 0)
    )
