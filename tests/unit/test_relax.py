"""``@relax``: generator functions that ``yield`` awaitables, run as coroutines."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Generator
from typing import Any

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.web

from corduroy import NotFound, relax

pytestmark = pytest.mark.timeout(30)


async def value_later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


async def fail_later(exc: BaseException) -> Any:
    await asyncio.sleep(0)
    raise exc


def test_the_value_of_a_yield_is_the_awaited_result() -> None:
    @relax
    def fetch(a: int, b: int) -> Generator[Any, Any, int]:
        x = yield value_later(a)
        y = yield value_later(b)
        return x + y

    assert inspect.iscoroutinefunction(fetch)
    assert asyncio.run(fetch(2, b=3)) == 5


def test_a_failure_is_raised_at_the_yield_and_can_be_caught() -> None:
    log: list[str] = []

    @relax
    def greet(user_id: str) -> Generator[Any, Any, str]:
        try:
            doc = yield fail_later(NotFound(404, "not_found", "missing"))
            return f"hello {doc['first']}"
        except NotFound:
            log.append("caught")
        after = yield value_later("still running")
        return f"hello whoever you are ({after})"

    assert asyncio.run(greet("x")) == "hello whoever you are (still running)"
    assert log == ["caught"]


def test_an_uncaught_failure_reaches_the_awaiter() -> None:
    @relax
    def fetch() -> Generator[Any, Any, None]:
        yield fail_later(NotFound(404, "not_found", "missing"))

    with pytest.raises(NotFound, match="missing"):
        asyncio.run(fetch())


def test_an_error_raised_by_the_generator_itself() -> None:
    @relax
    def broken() -> Generator[Any, Any, None]:
        yield value_later(1)
        raise ZeroDivisionError("mine")

    with pytest.raises(ZeroDivisionError, match="mine"):
        asyncio.run(broken())


def _pair() -> tuple[Any, Any, list[str]]:
    """Two awaitables that each wait for the other's event: only concurrency finishes them."""
    a_ready = asyncio.Event()
    b_ready = asyncio.Event()
    order: list[str] = []

    async def a() -> str:
        a_ready.set()
        await asyncio.wait_for(b_ready.wait(), 5)
        order.append("a")
        return "A"

    async def b() -> str:
        b_ready.set()
        await asyncio.wait_for(a_ready.wait(), 5)
        order.append("b")
        return "B"

    return a(), b(), order


def test_a_list_of_awaitables_runs_concurrently() -> None:
    @relax
    def both() -> Generator[Any, Any, Any]:
        first, second, order = _pair()
        results = yield [first, second]
        return results, order

    results, order = asyncio.run(both())
    assert results == ["A", "B"] and sorted(order) == ["a", "b"]


def test_a_tuple_keeps_its_shape() -> None:
    @relax
    def both() -> Generator[Any, Any, Any]:
        first, second, _ = _pair()
        results = yield (first, second, "plain")
        return results

    assert asyncio.run(both()) == ("A", "B", "plain")


def test_a_dict_of_awaitables_runs_concurrently() -> None:
    @relax
    def both() -> Generator[Any, Any, Any]:
        first, second, _ = _pair()
        results = yield {"one": first, "two": second, "three": 3}
        return results

    assert asyncio.run(both()) == {"one": "A", "two": "B", "three": 3}


def test_a_failure_in_a_group_is_raised_at_the_yield() -> None:
    @relax
    def group() -> Generator[Any, Any, str]:
        try:
            yield [value_later(1), fail_later(NotFound(404, "not_found", "gone"))]
        except NotFound as exc:
            return f"caught {exc.reason}"
        return "not reached"

    assert asyncio.run(group()) == "caught gone"


def test_plain_values_pass_through() -> None:
    @relax
    def plain() -> Generator[Any, Any, Any]:
        a = yield 5
        b = yield None
        c = yield [1, "x"]
        d = yield {"k": "v"}
        return a, b, c, d

    assert asyncio.run(plain()) == (5, None, [1, "x"], {"k": "v"})


def test_futures_are_awaited() -> None:
    @relax
    def futures() -> Generator[Any, Any, Any]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        loop.call_soon(fut.set_result, 7)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            threaded = pool.submit(lambda: 8)
            a = yield fut
            b = yield threaded
        task = yield asyncio.ensure_future(value_later(9))
        return a, b, task

    assert asyncio.run(futures()) == (7, 8, 9)


def test_async_def_passes_unchanged() -> None:
    async def already() -> int:
        return 1

    assert relax(already) is already


def test_a_function_that_does_not_yield() -> None:
    @relax
    def eager(x: int) -> int:
        return x * 2

    assert asyncio.run(eager(4)) == 8  # type: ignore[arg-type]


def test_the_name_and_docstring_are_kept() -> None:
    @relax
    def get(self: Any, user_id: str) -> Generator[Any, Any, None]:
        """Say hello."""
        yield None

    assert get.__name__ == "get" and get.__doc__ == "Say hello."


def test_cancelling_closes_the_generator() -> None:
    closed: list[bool] = []

    @relax
    def slow() -> Generator[Any, Any, None]:
        try:
            yield asyncio.sleep(30)
        finally:
            closed.append(True)

    async def main() -> None:
        task = asyncio.ensure_future(slow())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert closed == [True]


# -- as a Tornado 6 handler method ---------------------------------------------------

PEOPLE = {"ollie": {"first": "Oliver", "last": "Reeder"}}


async def people_get(user_id: str) -> dict[str, str]:
    await asyncio.sleep(0)
    if user_id not in PEOPLE:
        raise NotFound(404, "not_found", "missing")
    return PEOPLE[user_id]


class RelaxedHello(tornado.web.RequestHandler):
    @relax
    def get(self, user_id: str) -> Generator[Any, Any, None]:
        try:
            doc = yield people_get(user_id)
            self.write("hello %s %s" % (doc["first"], doc["last"]))
        except NotFound:
            self.write("hello whoever you are")


class Both(tornado.web.RequestHandler):
    @relax
    def get(self) -> Generator[Any, Any, None]:
        first, second, _ = _pair()
        got = yield {"x": first, "y": second}
        self.write(got)


def test_relax_as_a_tornado_request_handler_method() -> None:
    async def main() -> list[tuple[int, bytes]]:
        app = tornado.web.Application([(r"/hi/([^/]+)", RelaxedHello), (r"/both", Both)])
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        port = sockets[0].getsockname()[1]
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        client = tornado.httpclient.AsyncHTTPClient()
        try:
            answers = []
            for path in ("/hi/ollie", "/hi/nobody", "/both"):
                response = await client.fetch(f"http://127.0.0.1:{port}{path}")
                answers.append((response.code, response.body))
            return answers
        finally:
            client.close()
            server.stop()
            await server.close_all_connections()

    assert asyncio.run(main()) == [
        (200, b"hello Oliver Reeder"),
        (200, b"hello whoever you are"),
        (200, b'{"x": "A", "y": "B"}'),
    ]
