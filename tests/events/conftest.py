"""Fixtures for the events tests: throwaway job kinds that never outlive their test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count

import pytest

from mercato.events import jobs
from mercato.kit.clock import clock

_serial = count(1)


@pytest.fixture
def register() -> Iterator[Callable[[jobs.Handler], str]]:
    """Register a handler under a fresh "test.N" kind; every kind is removed afterwards."""
    kinds: list[str] = []

    def add(fn: jobs.Handler) -> str:
        kind = f"test.{next(_serial)}"
        jobs.handler(kind)(fn)
        kinds.append(kind)
        return kind

    try:
        yield add
    finally:
        for kind in kinds:
            jobs.unregister(kind)


@pytest.fixture
def moving_clock() -> Iterator[None]:
    """Tests that advance the clock get it back where it was."""
    try:
        yield
    finally:
        clock.reset()
