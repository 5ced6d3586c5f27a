"""``@relax``: write asynchronous code as if it blocked, with ``yield``.

::

    class RelaxedHello(tornado.web.RequestHandler):
        @relax
        def get(self, user_id):
            try:
                doc = yield people_db.get(user_id)
                self.write(f"hello {doc['first']} {doc['last']}")
            except NotFound:
                self.write("hello whoever you are")

The decorated generator function becomes a coroutine function: a Tornado 6
handler method, an asyncio task or anything that is awaited. Whatever the
generator yields is resolved and sent back as the value of the ``yield``:

* an awaitable (what corduroy calls return inside a running loop) is awaited;
* a list, tuple or dict of them is awaited concurrently and comes back in the
  same shape;
* any other value (a result that is already there) comes back as it is.

A failure is raised inside the generator at its ``yield``, so ``try``/``except``
works as in blocking code. ``async def`` functions pass through unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, ParamSpec, TypeVar, overload

__all__ = ["relax", "resolve"]

P = ParamSpec("P")
R = TypeVar("R")


def _is_awaitable(value: Any) -> bool:
    return inspect.isawaitable(value) or isinstance(value, concurrent.futures.Future)


async def _await_one(value: Any) -> Any:
    if isinstance(value, concurrent.futures.Future):
        return await asyncio.wrap_future(value)
    if _is_awaitable(value):
        return await value
    return value


async def resolve(value: Any) -> Any:
    """Resolve a yielded value: awaitables, or lists/tuples/dicts of them, concurrently."""
    if isinstance(value, dict):
        keys = list(value)
        results = await asyncio.gather(*(_await_one(value[k]) for k in keys))
        return dict(zip(keys, results, strict=True))
    if isinstance(value, list | tuple):
        results = await asyncio.gather(*(_await_one(v) for v in value))
        return type(value)(results) if isinstance(value, tuple) else list(results)
    return await _await_one(value)


async def _drive(gen: Generator[Any, Any, R]) -> R:
    send: Any = None
    throw: BaseException | None = None
    while True:
        try:
            yielded = gen.throw(throw) if throw is not None else gen.send(send)
        except StopIteration as stop:
            result: R = stop.value
            return result
        throw = None
        try:
            send = await resolve(yielded)
        except Exception as exc:
            send, throw = None, exc
        except asyncio.CancelledError as exc:
            gen.close()
            raise exc


@overload
def relax(
    fn: Callable[P, Generator[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]: ...


@overload
def relax(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]: ...


@overload
def relax(fn: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]: ...


def relax(fn: Callable[P, Any]) -> Callable[P, Coroutine[Any, Any, Any]]:
    """Turn a generator function that ``yield``\\ s corduroy calls into a coroutine function."""
    if inspect.iscoroutinefunction(fn):
        return fn

    @functools.wraps(fn)
    async def relaxed(*args: P.args, **kwargs: P.kwargs) -> Any:
        result = fn(*args, **kwargs)
        if inspect.isgenerator(result):
            return await _drive(result)
        if isinstance(result, Awaitable):
            return await result
        return result

    return relaxed
