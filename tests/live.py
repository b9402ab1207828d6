"""A live server for tests that need a real one (browser journeys, real TOP clients): the
real ``mercato demo`` command serving a seeded marketplace on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mercato demo exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/_hello", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"mercato demo did not answer within {seconds} s")


def clean_env() -> dict[str, str]:
    """This process's environment without MERCATO_ settings: the server takes its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}


@dataclass(frozen=True)
class LiveDemo:
    """A running demo: its base URL, and its data directory for ``mercato`` commands."""

    url: str
    data_dir: Path

    def cli(self, *args: str) -> str:
        return mercato_cli(self.data_dir, *args)


@contextlib.contextmanager
def demo_server(data_dir: Path) -> Iterator[LiveDemo]:
    """Run ``mercato demo`` on ``data_dir`` until the block ends."""
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    cmd = [sys.executable, "-m", "mercato.cli", "demo", "--port", str(port)]
    process = subprocess.Popen(
        [*cmd, "--data-dir", str(data_dir)],
        env=clean_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, STARTUP_SECONDS)
        yield LiveDemo(url, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def mercato_cli(data_dir: Path, *args: str) -> str:
    """Run a ``mercato`` command against ``data_dir`` and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "mercato.cli", *args, "--data-dir", str(data_dir)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mercato {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout
