"""``_changes``: request building, one-shot feeds, and the continuous-feed state machine.

Everything here is pure. :func:`changes` is an ordinary operation (normal and
longpoll feeds). :class:`FeedState` is the sans-I/O core of a continuous feed,
shared by the callback feed, the blocking iterator and the ``async for``
iterator: it builds the next request, turns bytes into changes, remembers the
last seq received and delivered, drops every (id, rev) it handed out already
(CouchDB replays changes after a reconnect or a node failure),
and decides whether a failure is worth a retry and how long to wait first.

Seqs are opaque (CouchDB 2+ seqs are strings): they are stored and sent back
exactly as received, never parsed, compared or incremented.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..changes_result import ChangesResult
from ..document import AttrDict, Document
from ..errors import Conflict, HTTPError, InvalidInput, NotFound, TransportError
from ..http.jsonexact import loads
from ..http.messages import Request
from .base import JSON_HEADERS, Op, doc_path, dumps, json_request, query_string
from .documents import DbRef
from .replication import ServerTraits, detect_server

__all__ = [
    "DEFAULT_HEARTBEAT_MS",
    "FeedState",
    "LineSplitter",
    "build_request",
    "changes",
    "load_checkpoint",
    "save_checkpoint",
    "wrap_change",
]

#: heartbeat asked of the server for continuous feeds unless given (milliseconds)
DEFAULT_HEARTBEAT_MS = 10_000
#: longpoll wait asked of the server unless given (milliseconds)
LONGPOLL_TIMEOUT_MS = 60_000
#: extra seconds on top of the heartbeat (or timeout) before the watchdog fires
WATCHDOG_MARGIN = 5.0

_BUILTIN_FILTERS = ("_doc_ids", "_selector", "_view", "_design")
_FEEDS = ("normal", "longpoll", "continuous")


def _check_filter(options: dict[str, Any]) -> None:
    """Fill in and check ``filter``; refuse what would fail (or kill pouchdb-server)."""
    flt = options.get("filter")
    if flt is None:
        if options.get("doc_ids") is not None:
            flt = options["filter"] = "_doc_ids"
        elif options.get("selector") is not None:
            flt = options["filter"] = "_selector"
        elif options.get("view") is not None:
            flt = options["filter"] = "_view"
        else:
            return
    if not isinstance(flt, str) or not flt:
        raise InvalidInput(f"filter must be 'ddoc/name' or a built-in filter, not {flt!r}")
    needs = {"_doc_ids": "doc_ids", "_selector": "selector", "_view": "view"}
    if flt in needs and options.get(needs[flt]) is None:
        raise InvalidInput(f"filter={flt!r} needs the {needs[flt]!r} option")
    if flt == "_doc_ids":
        ids = options["doc_ids"]
        if isinstance(ids, str) or not all(isinstance(i, str) for i in ids):
            raise InvalidInput("doc_ids must be a list of document ids")
        options["doc_ids"] = list(ids)
    if flt == "_view" and (not isinstance(options["view"], str) or "/" not in options["view"]):
        raise InvalidInput(f"view must be 'ddoc/view', not {options['view']!r}")
    if not flt.startswith("_") and "/" not in flt.strip("/"):
        raise InvalidInput(f"filter must be 'ddoc/name', not {flt!r}")
    if flt.startswith("_") and flt not in _BUILTIN_FILTERS:
        known = ", ".join(_BUILTIN_FILTERS)
        raise InvalidInput(f"unknown built-in filter {flt!r} (one of {known})")


def build_request(
    db: DbRef, options: Mapping[str, Any], *, couchdb: bool, stream: bool = False
) -> Request:
    """The ``_changes`` request for ``options`` (already checked by :func:`prepare`).

    ``doc_ids`` goes in a POST body (both servers accept it there, and it keeps
    urls short). ``selector`` goes in a POST body on CouchDB; pouchdb-server
    reads it only from the query string (and dies on the POST form).
    """
    opts = dict(options)
    body: dict[str, Any] = {}
    doc_ids = opts.pop("doc_ids", None)
    if doc_ids is not None:
        body["doc_ids"] = doc_ids
    selector = opts.pop("selector", None)
    json_keys: tuple[str, ...] = ()
    if selector is not None:
        if couchdb:
            body["selector"] = selector
        else:
            opts["selector"] = selector
            json_keys = ("selector",)
    timeout = opts.pop("_read_timeout", None)
    query = query_string(opts, json_keys)
    path = db.path + "/_changes"
    if body:
        return Request(
            "POST",
            path,
            query,
            JSON_HEADERS,
            dumps(body),
            stream=stream,
            idempotent=True,
            timeout=timeout,
        )
    return Request("GET", path, query, stream=stream, timeout=timeout)


def prepare(options: Mapping[str, Any]) -> dict[str, Any]:
    """Check the options of a ``_changes`` call; returns a copy ready for the request."""
    opts = {k: v for k, v in options.items() if v is not None}
    feed = opts.get("feed", "normal")
    if feed not in _FEEDS:
        raise InvalidInput(f"feed must be one of {', '.join(_FEEDS)}, not {feed!r}")
    if feed == "normal":
        opts.pop("feed", None)
    _check_filter(opts)
    return opts


def wrap_change(row: dict[str, Any], doc_class: type[Document] = Document) -> AttrDict:
    """One result row as an ``AttrDict``; an included ``doc`` becomes a ``Document``."""
    change = AttrDict(row)
    doc = row.get("doc")
    if type(doc) is dict:
        dict.__setitem__(change, "doc", doc_class(doc))
    return change


def changes(db: DbRef, traits: ServerTraits, **options: Any) -> Op[Any]:
    """``GET /db/_changes`` (normal or longpoll): a :class:`~corduroy.changes.ChangesResult`."""

    opts = prepare(options)
    if opts.get("feed") == "continuous":
        raise InvalidInput("a continuous feed is not a one-shot call")
    couchdb = True
    if "selector" in opts:
        couchdb = (yield from detect_server(traits)).couchdb is True
    if opts.get("feed") == "longpoll":
        beat = opts.get("heartbeat")
        if isinstance(beat, int) and not isinstance(beat, bool):
            opts["_read_timeout"] = beat / 1000 + WATCHDOG_MARGIN
        elif beat is None:
            # CouchDB's own default, made explicit so the read timeout can exceed it
            wait = opts.setdefault("timeout", LONGPOLL_TIMEOUT_MS)
            opts["_read_timeout"] = float(wait) / 1000 + WATCHDOG_MARGIN
    response = yield build_request(db, opts, couchdb=couchdb)
    body = response.json()
    results = [wrap_change(row, db.doc_class) for row in body.get("results", ())]
    return ChangesResult(results, body.get("last_seq"), body.get("pending"))


class LineSplitter:
    """Turns the bytes of a continuous feed into JSON objects, one per line.

    Blank lines (heartbeats, and the extra newlines CouchDB writes) are skipped;
    ``\\r\\n`` and a trailing ``,`` are tolerated. A partial line waits for the
    rest of its bytes.
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        buffer = self._pending + data if self._pending else data
        lines = buffer.split(b"\n")
        self._pending = lines.pop()
        records: list[dict[str, Any]] = []
        for line in lines:
            line = line.strip().rstrip(b",")
            if line:
                record = loads(line)
                if isinstance(record, dict):
                    records.append(record)
        return records

    def reset(self) -> None:
        """Forget a partial line (the connection it came on is gone)."""
        self._pending = b""


def _change_keys(row: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """The ``(id, rev)`` pairs a change row announces."""
    docid = row.get("id")
    return [
        (docid, c.get("rev"))
        for c in row.get("changes") or ()
        if isinstance(c, Mapping) and c.get("rev") is not None
    ]


class FeedState:
    """The sans-I/O core of a continuous feed (see the module docstring).

    Use: ``request()`` -> send it; on a 200, ``connected()``; feed each chunk of
    the body to ``receive()`` (which queues the new changes); ``take()`` the
    queue to deliver it; on a failure ``failed(exc)`` returns the seconds to wait
    before the next ``request()`` or raises a terminal error; when the body ends
    ``disconnected()``. ``finished`` is true once the feed has nothing more to
    give (the caller's ``limit`` was reached, or the server ended a feed that
    was asked to end).
    """

    #: recently accepted ``(id, rev)`` pairs remembered to drop repeats (bounded memory)
    RECENT = 20_000
    BACKOFF_BASE = 0.05
    BACKOFF_MAX = 10.0

    def __init__(
        self,
        db: DbRef,
        options: Mapping[str, Any],
        *,
        couchdb: bool | None = None,
        rng: random.Random | None = None,
    ) -> None:
        opts = prepare({**options, "feed": "continuous"})
        self.db = db
        # Only a selector is sent differently to CouchDB and to pouchdb-server.
        self.couchdb: bool | None = couchdb if "selector" in opts else True
        self.limit: int | None = opts.pop("limit", None)
        self.since: Any = opts.pop("since", None)  # last seq received (resume point)
        self.delivered_seq: Any = self.since  # last seq handed to the consumer
        self.last_seq: Any = None  # the seq passed to the listener with the last batch
        # The server ends the feed on its own only when asked to (timeout without heartbeat).
        self.ends = "timeout" in opts and "heartbeat" not in opts
        if "heartbeat" not in opts and not self.ends:
            opts["heartbeat"] = DEFAULT_HEARTBEAT_MS
        self._options = opts
        self.queue: list[AttrDict] = []
        self.delivered = 0
        self.server_ended = False
        self.attempts = 0
        self.reconnects = 0
        self._splitter = LineSplitter()
        self._recent: OrderedDict[tuple[Any, Any], None] = OrderedDict()
        self._queued_keys: list[list[tuple[Any, Any]]] = []
        self._rng = rng or random.Random()

    # -- requests --------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float:
        """The watchdog: seconds of silence after which the connection counts as dead."""
        beat = self._options.get("heartbeat")
        if isinstance(beat, bool) or beat is None:
            wait = self._options.get("timeout", 60_000) if self.ends else 60_000
        else:
            wait = beat
        return float(wait) / 1000 + WATCHDOG_MARGIN

    def request(self) -> Request:
        """The request that (re)opens the feed, from the last seq received."""
        opts: dict[str, Any] = dict(self._options)
        if self.since is not None:
            opts["since"] = self.since
        if self.limit is not None:
            opts["limit"] = max(self.limit - self.delivered - len(self.queue), 1)
        opts["_read_timeout"] = self.read_timeout
        return build_request(self.db, opts, couchdb=self.couchdb is not False, stream=True)

    # -- the body ----------------------------------------------------------------------------

    @property
    def remaining(self) -> int | None:
        if self.limit is None:
            return None
        return self.limit - self.delivered - len(self.queue)

    def receive(self, data: bytes) -> int:
        """Parse a chunk of the body; queue the new changes and return how many."""
        added = 0
        for record in self._splitter.feed(data):
            if "changes" not in record and "id" not in record:
                if "last_seq" in record:  # the server ended the feed
                    self.server_ended = True
                continue
            remaining = self.remaining
            if remaining is not None and remaining <= 0:
                continue
            seq = record.get("seq")
            revs = record.get("changes")
            if type(revs) is list and len(revs) == 1 and type(revs[0]) is dict:  # the usual row
                rev = revs[0].get("rev")
                keys = [] if rev is None else [(record.get("id"), rev)]
            else:
                keys = _change_keys(record)
            recent = self._recent
            fresh = [key for key in keys if key not in recent]
            if keys and not fresh:
                # sent again (after a reconnect, or by a shard copy that took over from
                # a dead node): every (id, rev) of it was handed out (or queued) already
                if seq is not None:
                    self.since = seq
                continue
            if len(fresh) < len(keys):  # some revs are repeats: announce only the new ones
                record = dict(record)
                record["changes"] = [
                    c for c in record["changes"]
                    if isinstance(c, Mapping) and (record.get("id"), c.get("rev")) in fresh
                ]  # fmt: skip
            for key in fresh:
                self._remember(key)
            self._queued_keys.append(fresh)
            self.queue.append(wrap_change(record, self.db.doc_class))
            if seq is not None:
                self.since = seq
            added += 1
        return added

    def _remember(self, key: tuple[Any, Any]) -> None:
        recent = self._recent
        recent[key] = None
        if len(recent) > self.RECENT:
            recent.popitem(last=False)

    def take(self, n: int | None = None) -> list[AttrDict]:
        """Remove and return up to ``n`` queued changes (all by default), as delivered."""
        if n is None or n >= len(self.queue):
            batch, self.queue = self.queue, []
            self._queued_keys = []
        else:
            batch, self.queue = self.queue[:n], self.queue[n:]
            self._queued_keys = self._queued_keys[n:]
        for change in batch:
            seq = change.get("seq")
            if seq is not None:
                self.delivered_seq = seq
        if batch:
            self.delivered += len(batch)
            self.last_seq = self.delivered_seq
        return batch

    def discard(self) -> None:
        """Drop the undelivered queue: the next request resumes after the last delivered seq."""
        for keys in self._queued_keys:
            for key in keys:
                self._recent.pop(key, None)
        self.queue = []
        self._queued_keys = []
        self.since = self.delivered_seq

    @property
    def finished(self) -> bool:
        """Nothing more will come: the limit is reached, or an asked-for end arrived."""
        if self.limit is not None and self.delivered >= self.limit:
            return True
        remaining = self.remaining
        if remaining is not None and remaining <= 0:
            return True
        return self.server_ended and self.ends

    # -- connection events -------------------------------------------------------------------

    def connected(self) -> None:
        """The server answered 200: the feed is up again."""
        self.attempts = 0

    def disconnected(self) -> None:
        """The body ended or broke: forget any partial line; a reconnect may replay changes."""
        self._splitter.reset()
        self.server_ended = self.server_ended and self.ends
        self.reconnects += 1

    def failed(self, exc: BaseException) -> float:
        """Seconds to wait before reconnecting after ``exc``; raises it if it is terminal.

        Terminal: any 4xx answer except 408 and 429 (401, 403, a deleted
        database's 404, a malformed option's 400). Retried: 5xx, 408, 429 and
        transport failures (refused, dropped, the watchdog's timeout).
        """
        if isinstance(exc, HTTPError):
            if 400 <= exc.status < 500 and exc.status not in (408, 429):
                raise exc
        elif not isinstance(exc, TransportError):
            raise exc
        self._splitter.reset()
        delay = min(self.BACKOFF_MAX, self.BACKOFF_BASE * float(1 << self.attempts))
        self.attempts = min(self.attempts + 1, 30)
        return delay * (0.5 + self._rng.random() / 2)


def _checkpoint_id(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidInput("a checkpoint name must be a non-empty str")
    return name if name.startswith("_local/") else "_local/" + name


def load_checkpoint(db: DbRef, name: str) -> Op[tuple[Any, str] | None]:
    """The ``(seq, _rev)`` stored in ``_local/<name>``, or ``None`` if there is none."""
    try:
        response = yield Request("GET", doc_path(db.name, _checkpoint_id(name)))
    except NotFound:
        return None
    doc = response.json()
    return doc.get("seq"), doc.get("_rev")


def save_checkpoint(db: DbRef, name: str, seq: Any, rev: str | None) -> Op[str]:
    """Store ``seq`` in ``_local/<name>``; returns the new ``_rev``.

    On a conflict (another process saved meanwhile), the newer rev is read and
    the save retried once: the last writer wins, as for any checkpoint.
    """
    docid = _checkpoint_id(name)
    for attempt in range(2):
        body: dict[str, Any] = {"_id": docid, "seq": seq}
        if rev is not None:
            body["_rev"] = rev
        try:
            response = yield json_request("PUT", doc_path(db.name, docid), body)
        except Conflict:
            if attempt:
                raise
            found = yield from load_checkpoint(db, name)
            rev = found[1] if found is not None else None
            continue
        new_rev: str = response.json()["rev"]
        return new_rev
    raise AssertionError("unreachable")
