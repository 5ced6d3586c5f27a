"""corduroy: a CouchDB client for Python, blocking, by callback, or awaited.

::

    from corduroy import Database, NotFound

    db = Database("people")
    doc = db.get("ollie")              # blocks, or raises NotFound
    db.get("ollie", callback=fn)       # returns at once; fn(doc, status) runs on the loop
    doc = await db.get("ollie")        # inside a running event loop
"""

from .auth import ProxyAuth
from .changes import ChangesFeed, ChangesResult, Follower
from .config import defaults
from .conflicts import ConflictResolution, Pending
from .couch import Couch
from .database import Database
from .document import AttrDict, Document, InlineData
from .drivers import RequestReplica
from .errors import (
    AccountLocked,
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
    NotJSON,
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
from .ops.admin import BulkGetRow
from .ops.formatters import FormatterResponse
from .partition import Partition
from .relax import relax
from .replication import ReplicationFailed, ReplicationStatus
from .rowstream import RowStream
from .status import Status
from .views import FindResult, Row, View

__version__ = "0.1.0"

__all__ = [
    "AccountLocked",
    "AttrDict",
    "BadRequest",
    "BulkGetRow",
    "ChangesFeed",
    "ChangesResult",
    "Conflict",
    "ConflictResolution",
    "ConnectError",
    "ConnectionDropped",
    "Couch",
    "CouchError",
    "Database",
    "Document",
    "ExpectationFailed",
    "FindResult",
    "Follower",
    "Forbidden",
    "FormatterResponse",
    "HTTPError",
    "InlineData",
    "InvalidInput",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "NotJSON",
    "Partition",
    "Pending",
    "PreconditionFailed",
    "ProxyAuth",
    "RangeNotSatisfiable",
    "ReplicationFailed",
    "ReplicationStatus",
    "RequestEntityTooLarge",
    "RequestReplica",
    "Row",
    "RowStream",
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
