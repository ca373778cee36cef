"""The event loop the engine runs its listings on (--ucloud.event-loop)."""

from __future__ import annotations

import asyncio
import importlib.util

# The event loops of --ucloud.event-loop, the default first. "auto" is uvloop when it is
# installed (a dependency except on Windows, which it does not support), else asyncio's own,
# as uvicorn's --loop auto: it takes 8-20 % off the CPU per API request (docs/benchmarks.md).
LOOPS = ("auto", "asyncio", "uvloop")


def loop_kind(name: str) -> str:
    """Return the event loop ``name`` (one of ``LOOPS``) stands for: ``auto`` is resolved."""
    if name == "auto":
        return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    return name


def new_loop(name: str) -> asyncio.AbstractEventLoop:
    """Return a new event loop of the kind ``name`` (one of ``LOOPS``); no policy is set."""
    name = loop_kind(name)
    if name == "uvloop":
        try:
            import uvloop
        except ImportError as exc:
            raise ValueError("event loop uvloop: the uvloop package is not installed") from exc
        return uvloop.new_event_loop()
    if name == "asyncio":
        return asyncio.new_event_loop()
    raise ValueError(f"unknown event loop {name!r}; choose from {', '.join(LOOPS)}")
