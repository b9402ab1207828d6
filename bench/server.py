"""Start a server under test as a subprocess on a free loopback port, and always stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mercato_serve(port: int, workers: int = 1) -> list[str]:
    """The command line that serves Mercato on ``127.0.0.1:port``."""
    cmd = [str(VENV_BIN / "mercato"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [*cmd, "--workers", str(workers)]


@contextlib.contextmanager
def running(
    cmd: Sequence[str],
    port: int,
    env: Mapping[str, str] | None = None,
    log: Path = Path(os.devnull),
    ready_path: str = "/_hello",
    ready_timeout: float = 60.0,
) -> Iterator[str]:
    """Run ``cmd`` until the block ends and yield its base URL once ``ready_path`` answers
    200; its output goes to ``log``. The process gets its own session, so that uvicorn's
    worker children are stopped with it: SIGTERM to the group, SIGKILL after 10 s."""
    base_url = f"http://127.0.0.1:{port}"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(proc, base_url + ready_path, ready_timeout, log)
            yield base_url
        finally:
            _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"server exited with {proc.returncode} before ready\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Children the leader left behind (uvicorn workers) share its process group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
