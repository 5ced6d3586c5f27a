"""corduroy: a CouchDB client for Python, blocking, by callback, or awaited.

::

    from corduroy import Database, NotFound

    db = Database("people")
    doc = db.get("ollie")              # blocks, or raises NotFound
    db.get("ollie", callback=fn)       # returns at once; fn(doc, status) runs on the loop
    doc = await db.get("ollie")        # inside a running event loop
"""

from .changes import ChangesFeed
from .config import defaults
from .conflicts import ConflictResolution, Pending
from .couch import Couch
from .database import Database
from .document import AttrDict, Document
from .drivers import RequestReplica
from .errors import (
    BadRequest,
    Conflict,
    ConnectError,
    ConnectionDropped,
    CouchError,
    ExpectationFailed,
    Forbidden,
    HTTPError,
    InvalidInput,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
    RequestEntityTooLarge,
    ServerError,
    Timeout,
    TooManyRequests,
    TransportError,
    Unauthorized,
    UnsupportedMediaType,
)
from .relax import relax
from .status import Status
from .views import Row, View

__version__ = "0.1.0"

__all__ = [
    "AttrDict",
    "BadRequest",
    "ChangesFeed",
    "Conflict",
    "ConflictResolution",
    "ConnectError",
    "ConnectionDropped",
    "Couch",
    "CouchError",
    "Database",
    "Document",
    "ExpectationFailed",
    "Forbidden",
    "HTTPError",
    "InvalidInput",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "Pending",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "RequestEntityTooLarge",
    "RequestReplica",
    "Row",
    "ServerError",
    "Status",
    "Timeout",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnsupportedMediaType",
    "View",
    "defaults",
    "relax",
]
