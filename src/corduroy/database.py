"""``Database``: one CouchDB database."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from .api.admin import DatabaseAdminMethods
from .api.attachments import AttachmentMethods
from .api.changes import ChangesMethods
from .api.conflicts import ConflictMethods
from .api.documents import DocumentMethods
from .api.formatters import FormatterMethods
from .api.replication import DatabaseReplicationMethods
from .api.views import ViewMethods
from .couch import Couch, shared_couch
from .document import Document
from .drivers import Callback, blocking_only, dispatch
from .errors import InvalidInput, NotFound
from .ops.base import Op, db_path, query_string
from .ops.documents import DbRef

if TYPE_CHECKING:
    from ._calls import DatabaseCalls  # the callback= overloads (tools/gen_surface.py)
else:

    class DatabaseCalls:
        pass


__all__ = ["Database"]

T = TypeVar("T")


def _split_db_url(url: str) -> tuple[str | None, str]:
    """``http://host:5984/prefix/db%2Fname`` -> (``http://host:5984/prefix/``, ``db/name``)."""
    if "://" not in url:
        return None, url
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    prefix, _, last = path.rpartition("/")
    if not last:
        raise InvalidInput(f"database url has no database name: {url!r}")
    server = urlunsplit((parts.scheme, parts.netloc, prefix + "/", "", ""))
    return server, unquote(last)


# The mixins are typed for the blocking convention; DatabaseCalls, first, adds to each
# request method an overload for callback= (returning the RequestReplica).
class Database(  # type: ignore[misc]
    DatabaseCalls,
    DocumentMethods,
    ConflictMethods,
    ViewMethods,
    FormatterMethods,
    AttachmentMethods,
    ChangesMethods,
    DatabaseReplicationMethods,
    DatabaseAdminMethods,
):
    """A CouchDB database.

    ``Database("people")`` is database ``people`` on the default server
    (``corduroy.defaults`` / ``COUCHDB_URL``); ``Database("http://host:5984/people")``
    names the server too. Creating one makes no request: use ``exists()`` or
    ``Couch.db(name)`` to check.

    Every method takes ``callback=`` and follows the three calling conventions.
    In blocking code a ``Database`` is also a mapping of ids to documents:
    ``db[id]``, ``id in db``, ``len(db)``, ``del db[id]``, ``db[id] = doc``
    and iteration over ids.
    """

    def __init__(self, name: str, couch: Couch | None = None) -> None:
        server, dbname = _split_db_url(name) if couch is None else (None, name)
        db_path(dbname)  # refuses an empty name or one with CR/LF/NUL
        self.couch = couch if couch is not None else shared_couch(server)
        self._ref = DbRef(
            dbname, self.couch._uuids, self.couch.document_class, self.couch.json_default
        )

    def _run(self, op: Op[T], callback: Callback | None, call: str) -> T:
        result: T = dispatch(op, self.couch._conn, callback, call)
        return result

    @property
    def url(self) -> str:
        """The database's url, without credentials."""
        return self.couch.db_url(self.name)

    def __repr__(self) -> str:
        return f"<Database {self.name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Database) and (other.couch, other.name) == (self.couch, self.name)

    def __hash__(self) -> int:
        return hash((self.couch, self.name))

    # -- mapping protocol (blocking only) --------------------------------------

    def __getitem__(self, docid: str) -> Document:
        blocking_only("db[id]")
        return self.get(docid)

    def __setitem__(self, docid: str, doc: MutableMapping[str, Any]) -> None:
        blocking_only("db[id] = doc")
        doc["_id"] = docid
        self.save(doc)

    def __delitem__(self, docid: str) -> None:
        blocking_only("del db[id]")
        rev = self.rev(docid)
        if rev is None:
            raise NotFound(404, "not_found", f"no document {docid!r}")
        self.delete(docid, rev)

    def __contains__(self, docid: object) -> bool:
        blocking_only("id in db")
        if not isinstance(docid, str):
            return False
        return self.rev(docid) is not None

    def __len__(self) -> int:
        blocking_only("len(db)")
        return int(self.info().get("doc_count", 0))

    def __iter__(self) -> Iterator[str]:
        blocking_only("iterating over a database")
        return self._iter_ids()

    def _iter_ids(self, page: int = 1000) -> Iterator[str]:
        from .http.messages import Request

        def fetch(startkey: str | None) -> Op[list[str]]:
            options: dict[str, Any] = {"limit": page + 1}
            if startkey is not None:
                options["startkey"] = startkey
            response = yield Request(
                "GET", self._ref.path + "/_all_docs", query_string(options, ("startkey",))
            )
            return [row["id"] for row in response.json()["rows"]]

        startkey: str | None = None
        while True:
            blocking_only("iterating over a database")  # also when resumed inside a loop
            ids = self._run(fetch(startkey), None, "Database._iter_ids")
            yield from ids[:page]
            if len(ids) <= page:
                return
            startkey = ids[page]

    def __bool__(self) -> bool:
        return True


Couch.database_class = Database
