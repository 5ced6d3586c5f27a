"""``make demo``: run the guide's examples against a live server and print what they print.

Starts the embedded pouchdb-server unless ``COUCHDB_URL`` names another server
(the guide's databases are deleted and recreated there, so point it at a
scratch server). Each section prints a heading, then the example's output.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corduroy
from corduroy import Couch, NotFound, aio
from corduroy.testing.server import EmbeddedServer, server_url_from_env

GUIDE_DBS = [
    "people", "mine", "some_db_name", "underlings", "backbench", "dosac", "mannion", "tucker",
    "watched", "olddb", "newdb", "localdb", "remotedb", "eventual",
]  # fmt: skip


def heading(title: str) -> None:
    print(f"\n== {title} ==")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def hello_tornado(couch: Couch) -> None:
    import hello_tornado as app_module
    from tornado.httpclient import AsyncHTTPClient

    people = await aio.Couch.wrap(couch).db("people", create_if_missing=True)
    await people.save({"_id": "ollie", "first": "Oliver", "last": "Reeder"})
    port = free_port()
    server = app_module.make_app().listen(port, address="127.0.0.1")
    client = AsyncHTTPClient()
    try:
        for path in ("/hello/ollie", "/hello/nobody", "/hi/ollie", "/hi/nobody"):
            response = await client.fetch(f"http://127.0.0.1:{port}{path}", raise_error=False)
            print(f"GET {path} -> {response.code} {response.body.decode()}")
    finally:
        server.stop()


def run_guide_module(name: str, couch: Couch, dbname: str) -> None:
    """Run examples/<name>.py: its ``run(couch)``, or ``setup(db)`` then ``main(db)``."""
    try:
        module: Any = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        print(f"({name}.py is not written yet)")
        return
    if hasattr(module, "run"):
        module.run(couch)
        return
    db = couch.db(dbname, create_if_missing=True)
    if hasattr(module, "setup"):
        module.setup(db)
    module.main(db)


def main() -> int:
    url = server_url_from_env()
    server: EmbeddedServer | None = None
    if url is None:
        server = EmbeddedServer()
        url = server.start()
    parts = urlsplit(url)
    username = unquote(parts.username or "")
    password = unquote(parts.password or "")
    corduroy.defaults.url = url
    try:
        couch = Couch(url)
        print(f"server: {couch!r} ({couch.version()})")
        for name in GUIDE_DBS:
            try:
                couch.delete(name)
            except NotFound:
                pass

        heading("Hello Tornado")
        asyncio.run(hello_tornado(couch))

        heading("Couches & Databases, Documents")
        import guide_basics

        guide_basics.setup(couch)
        guide_basics.main(username, password)

        for title, module, dbname in [
            ("Eventual Consistency", "guide_conflicts", "eventual"),
            ("Views", "guide_views", "dosac"),
            ("Data Formatters", "guide_formatters", "mannion"),
            ("Change Notifications", "guide_changes", "watched"),
        ]:
            heading(title)
            run_guide_module(module, couch, dbname)

        heading("Replication")
        import guide_replication

        guide_replication.main(couch, server_url=url)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
