"""Helpers of the JT/T 808 listener tests (no tests here): a recording sink, a listener on
loopback, a signed-in simulated terminal, running a test on asyncio or uvloop."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from etl.feed.jt808_frame import V2013
from etl.feed.jt808_server import start_listener
from etl.feed.jt808_session import Jt808Settings
from etl.feed.jt808_sim import Terminal

VEHICLES = {f"139{i:08d}": f"V{i:04d}" for i in range(200)}


def run(coro, loop_factory=None):
    """Run the test's coroutine on a loop of its own, in a thread of its own: the main
    thread's loop may be running (the session browser's, when tests/console ran first)."""
    from concurrent.futures import ThreadPoolExecutor

    def go():  # noqa: ANN202
        return asyncio.run(asyncio.wait_for(coro, 60), loop_factory=loop_factory)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(go).result()


LOOPS = pytest.mark.parametrize("loop", ["asyncio", "uvloop"])  # onemap serve runs uvloop


def loop_factory(name):
    return pytest.importorskip("uvloop").new_event_loop if name == "uvloop" else None


class Recorder:
    """An async sink that keeps what it was given (and can be told to fail)."""

    def __init__(self):
        self.calls: list[list] = []
        self.fail = False

    async def __call__(self, fixes):
        if self.fail:
            raise RuntimeError("database down")
        self.calls.append(list(fixes))

    @property
    def fixes(self):
        return [f for call in self.calls for f in call]


def by_phone(phone, plate):
    return VEHICLES.get(phone)


@contextlib.asynccontextmanager
async def serve(sink=None, lookup=by_phone, **settings):
    server = await start_listener("127.0.0.1", 0, sink or Recorder(), lookup,
                                  Jt808Settings(**settings))  # fmt: skip
    try:
        yield server
    finally:
        await server.close()


async def connected(server, phone, version=V2013, sign_in=True):
    t = Terminal(phone, version)
    await t.connect("127.0.0.1", server.port)
    if sign_in:
        await t.sign_in()
    return t
