"""Closing clients: with/close, async with/aclose, on every loop; no pools of dead loops."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import corduroy
from corduroy import aio


def async_pool_of(couch: corduroy.Couch) -> Any:
    transport = couch._conn._node.async_
    assert transport is not None
    return transport


def idle_connections(couch: corduroy.Couch) -> int:
    pools = list(async_pool_of(couch)._pools.values())
    return sum(len(pool.idle) for pool in pools)


def test_a_loop_that_ends_takes_its_pool_with_it(couchdb_url: str) -> None:
    couch = corduroy.Couch(couchdb_url)

    async def ask() -> None:
        await asyncio.gather(*(couch.info() for _ in range(3)))
        assert idle_connections(couch) >= 1

    for _ in range(3):
        asyncio.run(ask())
        assert idle_connections(couch) == 0  # closed while the loop shut down
    gc.collect()
    assert len(async_pool_of(couch)._pools) == 0  # and forgotten with the loop


def test_close_releases_the_connections_of_every_loop(couchdb_url: str) -> None:
    couch = corduroy.Couch(couchdb_url)
    couch.info()  # a blocking connection
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:

        async def ask() -> Any:
            return await couch.info()  # type: ignore[misc]

        asyncio.run_coroutine_threadsafe(ask(), loop).result(30)  # another thread's loop
        assert idle_connections(couch) == 1
        assert len(couch._conn._node.sync._idle) == 1  # type: ignore[union-attr]

        couch.close()
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(30)
        assert idle_connections(couch) == 0
        assert len(couch._conn._node.sync._idle) == 0  # type: ignore[union-attr]
        assert couch.info()  # still usable: connections reopen
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
        couch.close()


def test_with_and_async_with(couchdb_url: str) -> None:
    with corduroy.Couch(couchdb_url) as couch:
        couch.info()
    assert len(couch._conn._node.sync._idle) == 0  # type: ignore[union-attr]

    async def main() -> None:
        async with corduroy.Couch(couchdb_url) as plain:
            await plain.info()
        assert idle_connections(plain) == 0
        async with aio.Couch(couchdb_url) as typed:
            await typed.info()
        assert idle_connections(typed.blocking) == 0
        other = aio.Couch(couchdb_url)
        await other.version()
        await other.aclose()
        assert idle_connections(other.blocking) == 0

    asyncio.run(main())
