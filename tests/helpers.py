"""Small helpers shared by tests."""

from __future__ import annotations


def run_async(coro):  # noqa: ANN001, ANN201 - any coroutine, its result
    """Run a coroutine to completion in a thread of its own.

    asyncio.run() refuses to start in a thread whose loop is running (as the
    main thread's is while the session browser is open).
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
