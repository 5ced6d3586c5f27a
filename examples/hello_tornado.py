"""Hello Tornado: the guide's first example, on Tornado 6.

Two handlers read the same database: ``JumpyHello`` with an explicit callback,
``RelaxedHello`` with ``@relax`` and ``yield``. Run it against a server with a
``people`` database (``COUCHDB_URL`` or ``corduroy.defaults``)::

    python examples/hello_tornado.py 8888
    curl localhost:8888/hello/ollie
"""

from __future__ import annotations

import sys
from typing import Any

import tornado.ioloop
import tornado.web

from corduroy import Database, NotFound, Status, relax

people_db = Database("people")


class JumpyHello(tornado.web.RequestHandler):
    def get(self, user_id: str) -> Any:
        # Request the user's doc. This returns at once with a replica of the
        # request; got_user_doc runs later with the response and a status.
        # Returning the replica keeps Tornado's request open until the
        # callback has run (awaiting a replica waits for its callback).
        return people_db.get(user_id, callback=self.got_user_doc)

    def got_user_doc(self, doc: Any, status: Status) -> None:
        if status.ok:
            self.write("hello %s %s" % (doc["first"], doc["last"]))
        elif status.error is NotFound:
            self.write("hello whoever you are")
        else:
            self.send_error(502)


class RelaxedHello(tornado.web.RequestHandler):
    @relax
    def get(self, user_id: str) -> Any:
        try:
            doc = yield people_db.get(user_id)
            self.write("hello %s %s" % (doc["first"], doc["last"]))
        except NotFound:
            self.write("hello whoever you are")


def make_app() -> tornado.web.Application:
    return tornado.web.Application(
        [
            (r"/hello/([^/]+)", JumpyHello),
            (r"/hi/([^/]+)", RelaxedHello),
        ]
    )


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8888
    make_app().listen(port, address="127.0.0.1")
    print(f"listening on http://127.0.0.1:{port}/hello/<id> and /hi/<id>")
    tornado.ioloop.IOLoop.current().start()
