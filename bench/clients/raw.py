"""The baseline: one keep-alive ``http.client`` connection and the stdlib ``json``."""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import unquote, urlsplit

import common


class Raw:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port)
        self.headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if parts.username:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()

    def request(self, method: str, path: str, body: object = None) -> Any:
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


raw: Raw


def setup(job: common.Job) -> None:
    global raw
    raw = Raw(job["url"])


def get(job: common.Job) -> int:
    db = job["db"]
    ids = common.get_ids(job)
    for docid in ids:
        raw.request("GET", f"/{db}/{docid}")
    return len(ids)


def create(job: common.Job) -> int:
    db = job["db"]
    for i in range(job["n"]):
        raw.request("PUT", f"/{db}/new{i:05d}", common.new_doc(i))
    return job["n"]


def batch(job: common.Job) -> int:
    raw.request("POST", f"/{job['db']}/_bulk_docs", {"docs": job["big"]})
    return 1


def read(job: common.Job) -> int:
    result = raw.request("GET", f"/{job['read_db']}/_all_docs?include_docs=true")
    total = sum(row["doc"]["n"] for row in result["rows"])
    assert total >= 0
    return 1


def stream(job: common.Job) -> int:
    """The 100,000-row read: the same code on the bigger database."""
    return read({**job, "read_db": job["stream_db"]})


if __name__ == "__main__":
    common.main(
        "raw",
        {
            "setup": setup,
            "get": get,
            "create": create,
            "batch": batch,
            "read": read,
            "stream": stream,
        },
    )
