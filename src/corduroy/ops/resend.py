"""Writes sent again after a dropped connection, and how to tell that the first one landed.

A write that names its documents' ids (``PUT /db/docid``, ``_bulk_docs`` rows
with ``_id``: corduroy gives every document an id before sending it) cannot make
a second copy when it is sent twice. When the connection drops after the request
left (a node dies mid-request), it is therefore sent again, at most
:data:`RESENDS` times: on a cluster, to the next node. The resend either writes
(the first attempt never landed) or answers 409, because the first attempt did
land or because someone else wrote the document meanwhile. To tell which, the
operation reads the stored document: if it equals what was sent (``_rev`` and
attachment bodies aside, and one generation after the ``_rev`` sent, if any),
the first attempt landed and the write succeeds with the stored ``_rev``;
otherwise the 409 stands.

A POST that lets the server choose the id would create a second document if
sent twice, so it is never resent (corduroy sends no such write). Neither is
anything when the ``Couch`` was made with ``retry=False``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import Conflict, ConnectionDropped, NotFound
from ..http.jsonexact import loads
from ..http.messages import Request, Response
from .base import Op, dumps, json_request

__all__ = ["RESENDS", "landed_rev", "landed_revs", "same_write", "send_write"]

log = logging.getLogger("corduroy.ops")

#: how often a write with client-chosen ids is sent again after a dropped connection
RESENDS = 2


def send_write(request: Request) -> Op[tuple[Response | Conflict, bool]]:
    """Send an id-bearing write, again after a dropped connection.

    Returns the answer and whether the request was resent; a 409 to a resend is
    returned (not raised) as the :class:`Conflict`, for the caller to check
    whether the first attempt landed.
    """
    resent = False
    for attempt in range(RESENDS + 1):
        try:
            response = yield request
        except ConnectionDropped as exc:
            if attempt == RESENDS or not exc.may_resend:
                raise
            log.debug(
                "%s %s: the connection dropped after the write left; sending it again "
                "(its document ids make a second copy impossible)",
                request.method,
                exc.url or request.path,
            )
            resent = True
            continue
        except Conflict as exc:
            if not resent:
                raise
            return exc, True
        return response, resent
    raise AssertionError("unreachable")


def _generation(rev: Any) -> int | None:
    if not isinstance(rev, str):
        return None
    number, dash, _ = rev.partition("-")
    return int(number) if dash and number.isdigit() else None


def same_write(sent: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """Is ``stored`` the revision that writing ``sent`` makes?

    The fields must be equal (``_rev`` and ``_revisions`` aside; attachments by
    name, since the stored ones are stubs), and when ``sent`` carried a
    ``_rev``, ``stored`` must be the next generation.
    """
    ignored = ("_rev", "_revisions", "_attachments")
    mine = {k: v for k, v in sent.items() if k not in ignored}
    theirs = {k: v for k, v in stored.items() if k not in ignored}
    if mine != theirs:
        return False
    if set(sent.get("_attachments") or ()) != set(stored.get("_attachments") or ()):
        return False
    before, after = _generation(sent.get("_rev")), _generation(stored.get("_rev"))
    if after is None:
        return False
    return before is None or after == before + 1


def landed_rev(path: str, body: bytes) -> Op[str | None]:
    """The ``_rev`` of the document at ``path`` if it holds what ``body`` wrote, else None."""
    try:
        response = yield Request("GET", path)
    except NotFound:
        return None
    stored = response.json()
    if isinstance(stored, Mapping) and same_write(loads(body), stored):
        rev: str = stored["_rev"]
        log.debug("%s: the first attempt had landed (rev %s)", path, rev)
        return rev
    return None


def landed_revs(db_path: str, sent: Sequence[Mapping[str, Any]]) -> Op[dict[str, str]]:
    """``{id: _rev}`` of the documents in ``sent`` whose stored revision is what was sent."""
    keys = [doc["_id"] for doc in sent]
    response = yield json_request(
        "POST", db_path + "/_all_docs", {"keys": keys}, query="include_docs=true", idempotent=True
    )
    stored = {
        row.get("id"): row.get("doc")
        for row in response.json().get("rows", ())
        if isinstance(row.get("doc"), Mapping)
    }
    found: dict[str, str] = {}
    for doc in sent:
        current = stored.get(doc["_id"])
        if current is not None and same_write(loads(dumps(doc)), current):
            found[doc["_id"]] = current["_rev"]
    if found:
        log.debug("%d document(s) of a resent _bulk_docs had landed the first time", len(found))
    return found
