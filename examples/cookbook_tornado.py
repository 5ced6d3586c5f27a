"""Cookbook: a Tornado 6 application.

    python examples/cookbook_tornado.py [server-url]            a demo: serve, fetch, stop
    python examples/cookbook_tornado.py --serve 8888 [url]      serve until Ctrl-C

Handlers are ``async def`` and ``await`` corduroy calls (Tornado runs on asyncio);
``corduroy.aio`` types them as coroutines. ``@relax`` generators and explicit
callbacks work too; the guide's Hello Tornado shows both.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import uuid
from typing import Any

import orjson
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from corduroy import Conflict, NotFound, relax
from corduroy.aio import Couch, Database


class PersonHandler(tornado.web.RequestHandler):
    def initialize(self, db: Database) -> None:
        self.db = db

    async def get(self, person_id: str) -> None:
        try:
            doc = await self.db.get(person_id)
        except NotFound:
            raise tornado.web.HTTPError(404) from None
        self.write({"name": f"{doc.first} {doc.last}", "rev": doc._rev})

    async def put(self, person_id: str) -> None:
        doc = orjson.loads(self.request.body)
        doc["_id"] = person_id
        try:
            await self.db.save(doc)
        except Conflict:
            raise tornado.web.HTTPError(409) from None
        self.set_status(201)
        self.write({"id": person_id, "rev": doc["_rev"]})


class CountHandler(tornado.web.RequestHandler):
    """The same kind of handler as a ``@relax`` generator: ``yield`` instead of ``await``."""

    def initialize(self, db: Database) -> None:
        self.db = db

    @relax
    def get(self) -> Any:
        info = yield self.db.info()
        self.write({"people": info.doc_count})


def make_app(db: Database) -> tornado.web.Application:
    return tornado.web.Application(
        [
            (r"/people/([^/]+)", PersonHandler, {"db": db}),
            (r"/count", CountHandler, {"db": db}),
        ]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def demo(url: str | None) -> None:
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # no 4xx log lines in the demo
    async with Couch(url) as couch:
        await run_demo(couch)


async def run_demo(couch: Couch) -> None:
    db = await couch.create(f"cookbook-tornado-{uuid.uuid4().hex[:8]}")
    port = free_port()
    server = make_app(db).listen(port, address="127.0.0.1")
    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{port}"
    try:
        body = orjson.dumps({"first": "Malcolm", "last": "Tucker"})
        for method, path, data in [
            ("PUT", "/people/malcolm", body),
            ("PUT", "/people/malcolm", body),  # no _rev: a conflict
            ("GET", "/people/malcolm", None),
            ("GET", "/people/nobody", None),
            ("GET", "/count", None),
        ]:
            response = await client.fetch(base + path, method=method, body=data, raise_error=False)
            text = response.body.decode() if response.code < 300 else response.reason
            print(method, path, response.code, text)
    finally:
        server.stop()
        await couch.delete(db.name)


async def serve(port: int, url: str | None) -> None:
    async with Couch(url) as couch:
        db = await couch.db("people", create_if_missing=True)
        make_app(db).listen(port, address="127.0.0.1")
        print(f"serving http://127.0.0.1:{port}/people/<id> (Ctrl-C stops)")
        await asyncio.Event().wait()


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--serve"]:
        asyncio.run(serve(int(args[1]), args[2] if len(args) > 2 else None))
    else:
        asyncio.run(demo(args[0] if args else None))
