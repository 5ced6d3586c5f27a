"""corduroy, typed async code: ``corduroy.aio.Couch`` doing ``corduroy-await``'s work.

``corduroy.aio`` wraps the guide's ``Couch``; its methods are coroutines that await the
wrapped call. The timed functions are ``corduroy_await``'s own, run on an ``aio.Database``,
so the two rows differ only in the client class.
"""

from __future__ import annotations

import common
import corduroy_await as same

from corduroy import aio

couch: aio.Couch


async def setup(job: common.Job) -> None:
    global couch
    # one connection per concurrent request, as the async floor has (the default pool is 10)
    couch = aio.Couch(job["url"], max_connections=job["concurrency"])
    same.db = couch[job["db"]]  # type: ignore[assignment]


async def close(job: common.Job) -> None:
    await couch.aclose()


if __name__ == "__main__":
    common.main(
        "corduroy-aio",
        {
            "setup": setup,
            "get": same.get,
            "get32": same.get32,
            "create": same.create,
            "close": close,
        },
    )
