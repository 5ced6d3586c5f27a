"""Client CPU per operation: corduroy against a raw ``http.client`` + ``json`` loop.

Both make the same requests to the same server in the same run: 2,000 gets,
2,000 creates (PUT with a client-chosen id) and one 20,000-doc ``_bulk_docs``
save. The figure is client CPU (``time.process_time``), which is what a client
library controls; the server's time is excluded.

    .venv/bin/python bench/bench_core.py            # starts the embedded server
    COUCHDB_URL=http://admin:pw@host:5984 .venv/bin/python bench/bench_core.py
"""

from __future__ import annotations

import argparse
import base64
import gc
import http.client
import json
import time
import uuid
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from corduroy import Couch, Database
from corduroy.testing.server import EmbeddedServer, server_url_from_env


class RawClient:
    """The baseline: one keep-alive ``http.client`` connection and ``json``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port)
        self.headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if parts.username:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()

    def request(self, method: str, path: str, body: object = None) -> object:
        data = json.dumps(body) if body is not None else None
        try:
            self.conn.request(method, path, data, self.headers)
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.conn.close()  # the server closed an idle keep-alive connection
            self.conn.request(method, path, data, self.headers)
            response = self.conn.getresponse()
        payload = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return json.loads(payload)


def cpu(fn: Callable[[], None]) -> float:
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def run(url: str, n: int, batch: int) -> list[tuple[str, float, float]]:
    couch = Couch(url)
    raw = RawClient(url)
    names = [f"bench-core-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    raw_db, cd_db = names
    for name in names:
        couch.create(name)
    db: Database = couch[cd_db]
    try:
        # the documents to read
        seed = [{"_id": f"doc{i:05d}", "n": i, "name": "x" * 40} for i in range(n)]
        raw.request("POST", f"/{raw_db}/_bulk_docs", {"docs": seed})
        db.save([dict(d) for d in seed])
        ids = [d["_id"] for d in seed]

        def raw_gets() -> None:
            for docid in ids:
                raw.request("GET", f"/{raw_db}/{docid}")

        def cd_gets() -> None:
            for docid in ids:
                db.get(docid)

        def raw_creates() -> None:
            for i in range(n):
                raw.request("PUT", f"/{raw_db}/new{i:05d}", {"n": i, "name": "y" * 40})

        def cd_creates() -> None:
            for i in range(n):
                db.save({"_id": f"new{i:05d}", "n": i, "name": "y" * 40})

        big = [{"_id": f"big{i:06d}", "n": i, "name": "z" * 40} for i in range(batch)]

        def raw_batch() -> None:
            raw.request("POST", f"/{raw_db}/_bulk_docs", {"docs": big})

        def cd_batch() -> None:
            db.save([dict(d) for d in big])

        rows = []
        for label, raw_fn, cd_fn, count in [
            (f"get x{n}", raw_gets, cd_gets, n),
            (f"create x{n}", raw_creates, cd_creates, n),
            (f"batch save {batch}", raw_batch, cd_batch, 1),
        ]:
            raw_s = cpu(raw_fn)
            cd_s = cpu(cd_fn)
            rows.append((label, raw_s / count, cd_s / count))
        return rows
    finally:
        for name in names:
            couch.delete(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="gets and creates")
    parser.add_argument("--batch", type=int, default=20000, help="docs in the batch save")
    args = parser.parse_args()
    url = server_url_from_env()
    server = None
    if url is None:
        server = EmbeddedServer()
        url = server.start()
    try:
        rows = run(url, args.n, args.batch)
    finally:
        if server is not None:
            server.stop()
    print(f"{'operation':<20} {'raw http.client':>16} {'corduroy':>12} {'ratio':>7}")
    for label, raw_s, cd_s in rows:
        unit, scale = ("ms", 1e3) if "batch" in label else ("µs", 1e6)
        print(
            f"{label:<20} {raw_s * scale:>13.0f} {unit} {cd_s * scale:>9.0f} {unit} "
            f"{cd_s / raw_s:>6.2f}x"
        )
    print("client CPU per operation (time.process_time); lower is better")


if __name__ == "__main__":
    main()
