"""Run one corduroy call in each calling convention, for parametrized tests.

Usage in a test module::

    from conventions import CONVENTIONS, call

    @pytest.mark.parametrize("convention", CONVENTIONS)
    def test_get(tmp_db, convention):
        tmp_db.save({"_id": "a", "n": 1})
        doc = call(convention, lambda **kw: tmp_db.get("a", **kw))
        assert doc["n"] == 1

``call`` runs ``make(**kw)`` the way the convention says and returns the data or
raises the exception the call produced, so one assertion serves all four:

* ``blocking``: ``make()`` with no event loop running;
* ``callback``: ``make(callback=fn)`` inside a running asyncio loop; the call must
  return a ``RequestReplica`` at once, then ``fn(data, status)`` delivers;
  a failed status re-raises ``status.exception`` (after checking it matches
  ``status.error``);
* ``await``: ``await make()`` inside ``asyncio.run``;
* ``relax``: a ``@relax`` generator does ``result = yield make()``.

``callback_tornado`` (in ``ALL_CONVENTIONS``) makes the call before a Tornado
IOLoop runs, as a Tornado app's set-up code would, then starts the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from corduroy import RequestReplica, Status, relax

CONVENTIONS = ["blocking", "callback", "await", "relax"]
ALL_CONVENTIONS = [*CONVENTIONS, "callback_tornado"]

TIMEOUT = 60.0


def _check_status(data: Any, status: Status) -> Any:
    assert isinstance(status, Status)
    if status.ok:
        assert status.exception is None and status.error is None
        return data
    assert status.exception is not None
    assert status.error is type(status.exception)
    raise status.exception


async def _with_callback(make: Callable[..., Any]) -> Any:
    loop = asyncio.get_running_loop()
    delivered: asyncio.Future[tuple[Any, Status]] = loop.create_future()
    thread_ids: list[int] = []

    def callback(data: Any, status: Status) -> None:
        import threading

        thread_ids.append(threading.get_ident())
        delivered.set_result((data, status))

    replica = make(callback=callback)
    assert isinstance(replica, RequestReplica), f"callback call returned {replica!r}"
    assert "secret" not in repr(replica.url)
    data, status = await asyncio.wait_for(delivered, TIMEOUT)
    import threading

    assert thread_ids == [threading.get_ident()], "callback ran on another thread"
    return _check_status(data, status)


def _tornado_callback(make: Callable[..., Any]) -> Any:
    from tornado.ioloop import IOLoop

    asyncio_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(asyncio_loop)
    ioloop = IOLoop.current()
    outcome: dict[str, Any] = {}

    def callback(data: Any, status: Status) -> None:
        outcome["result"] = (data, status)
        ioloop.stop()

    try:
        replica = make(callback=callback)  # the loop is not running yet
        assert isinstance(replica, RequestReplica)
        ioloop.call_later(TIMEOUT, ioloop.stop)
        ioloop.start()
    finally:
        ioloop.close(all_fds=True)
        asyncio.set_event_loop(None)
    assert "result" in outcome, "callback never ran"
    return _check_status(*outcome["result"])


def call(convention: str, make: Callable[..., Any]) -> Any:
    """Run ``make`` in ``convention``; return its data or raise its exception."""
    if convention == "blocking":
        return make()
    if convention == "callback":
        return asyncio.run(_with_callback(make))
    if convention == "await":

        async def awaited() -> Any:
            return await asyncio.wait_for(make(), TIMEOUT)

        return asyncio.run(awaited())
    if convention == "relax":

        @relax
        def relaxed() -> Any:
            result = yield make()
            return result

        return asyncio.run(relaxed())
    if convention == "callback_tornado":
        return _tornado_callback(make)
    raise ValueError(convention)
