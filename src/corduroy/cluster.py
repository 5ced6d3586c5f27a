"""Several nodes of one CouchDB cluster: which to use, when to fail over, when to go back.

``Couch([url1, url2, url3])`` keeps one :class:`Node` per url, each with its own
transports. :class:`NodeSet` is the policy, free of I/O:

* requests go to the first node in the list that is healthy, so traffic returns
  to an earlier node as soon as it is seen healthy again;
* a node that failed (connection refused, dropped, timed out) is marked down
  and skipped; it is probed again after ``probe_interval`` seconds (doubling
  up to ``max_probe_interval`` while it stays down);
* a probe is ``GET /_up`` (``200 {"status":"ok"}``); a server without ``/_up``
  (CouchDB 1.x, pouchdb-server: 404 ``no_db_file``) is probed with ``GET /``;
* when every node is down, they are all tried anyway, in order.

Logging (logger ``corduroy.cluster``): a node going down is one WARNING and its
coming back one INFO (with how many requests failed on it meanwhile); each
failed request and each failed probe is a DEBUG line with the running counts.

Failing over is the connection's job: a request that could not connect (so
nothing was sent) moves to the next node whatever its method; one that failed
later moves only when it is safe to repeat (``Request.is_idempotent``). A write
with client-chosen ids whose connection dropped is raised here and sent again
by its operation (:mod:`corduroy.ops.resend`), which then reaches the next node.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from .errors import ConnectError, ConnectionDropped, CouchError, TransportError
from .http.messages import Request, Response
from .http.retry import Failure, RetryPolicy

if TYPE_CHECKING:
    from .connection import ServerUrl
    from .http.async_pool import AsyncTransport
    from .http.sync_pool import SyncTransport

__all__ = [
    "PROBE_ROOT",
    "PROBE_UP",
    "Node",
    "NodeSet",
    "can_fail_over",
    "failover_policy",
    "root_verdict",
    "up_verdict",
]

log = logging.getLogger("corduroy.cluster")

PROBE_UP = Request("GET", "/_up", idempotent=True)
PROBE_ROOT = Request("GET", "/", idempotent=True)


def _body(response: Response) -> Any:
    try:
        return response.json()
    except (orjson.JSONDecodeError, ValueError):
        return None


def up_verdict(response: Response) -> bool | None:
    """What an answer to ``GET /_up`` says: healthy, down, or ``None`` (no ``/_up`` here).

    ``200`` is healthy; CouchDB in maintenance answers 404 (or 503) with a
    ``status`` such as ``maintenance_mode``: down. A 404 without a ``status``
    means the server has no ``/_up``. A 401/403 came from a live server that
    protects ``/_up``: healthy. Any 5xx: down.
    """
    if response.status == 200:
        return True
    body = _body(response)
    status = body.get("status") if isinstance(body, dict) else None
    if response.status == 404:
        return None if status is None else False
    if response.status in (401, 403):
        return True
    return False


def root_verdict(response: Response) -> bool:
    """What an answer to ``GET /`` says: any answer but a 5xx is a live server."""
    return response.status < 500


def can_fail_over(request: Request, error: BaseException) -> bool:
    """May ``request`` be sent to another node after ``error``?

    Nothing reached the server when the connection could not be opened, so any
    request may move on; after a timeout or a dropped connection it may have
    been processed, so only requests that are safe to repeat (and whose body
    can be sent again) move on.
    """
    if not isinstance(error, TransportError):
        return False
    if isinstance(error, ConnectError):  # raised before any byte of the body was taken
        return True
    return request.resendable


class SyncSender(Protocol):
    def send(self, request: Request) -> Response: ...


class AsyncSender(Protocol):
    async def send(self, request: Request) -> Response: ...


@dataclass(frozen=True, slots=True)
class _FailoverPolicy(RetryPolicy):
    """Retries 429/502/503/504 answers like its base; leaves unreachable nodes to failover."""

    def after_failure(
        self, request: Request, failure: Failure, attempt: int, elapsed: float
    ) -> float | None:
        return None


def failover_policy(policy: RetryPolicy) -> RetryPolicy:
    """``policy`` for the nodes of a cluster: a request that gets no answer from a
    node is not tried on that node again, but moves to the next node at once."""
    return _FailoverPolicy(**{f.name: getattr(policy, f.name) for f in fields(policy)})


@dataclass(eq=False)
class Node:
    """One node: its url, transports (made on first use) and health."""

    url: ServerUrl
    sync: SyncTransport | None = None
    async_: AsyncTransport | None = None
    probe_sync: SyncTransport | None = None
    probe_async: AsyncTransport | None = None
    healthy: bool = True
    failures: int = 0
    next_probe: float = 0.0
    probing: bool = False
    last_error: str = field(default="", repr=False)
    #: requests that failed on this node since it was last healthy
    failed_requests: int = 0
    down_since: float = 0.0

    @property
    def base(self) -> str:
        return self.url.base


class NodeSet:
    """The nodes of a cluster and their health (thread-safe).

    The bookkeeping is free of I/O; ``send`` and ``send_async`` are the two
    small loops that walk :meth:`plan` with the connection's transports.
    """

    def __init__(
        self,
        urls: Sequence[ServerUrl],
        *,
        probe_interval: float = 2.0,
        max_probe_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("a cluster needs at least one node url")
        self.nodes = [Node(url) for url in urls]
        self.probe_interval = probe_interval
        self.max_probe_interval = max_probe_interval
        self.clock = clock
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.nodes)

    def plan(self) -> list[tuple[Node, bool]]:
        """The nodes to try for one request, in order, each with "probe it first".

        Healthy nodes come in list order; a down node whose probe is due is
        placed where it belongs with ``True`` (probe before use), claimed so
        that only one caller probes it. Down nodes not yet due come last, to
        be tried only if everything else fails.
        """
        now = self.clock()
        order: list[tuple[Node, bool]] = []
        waiting: list[tuple[Node, bool]] = []
        with self._lock:
            for node in self.nodes:
                if node.healthy:
                    order.append((node, False))
                elif not node.probing and now >= node.next_probe:
                    node.probing = True
                    order.append((node, True))
                else:
                    waiting.append((node, False))
        return order + waiting

    def current(self) -> Node:
        """The node requests go to now (the first healthy one)."""
        with self._lock:
            for node in self.nodes:
                if node.healthy:
                    return node
        return self.nodes[0]

    def mark_down(self, node: Node, error: BaseException | str) -> bool:
        """Note that ``node`` failed; True when it was healthy until now."""
        with self._lock:
            was_healthy = node.healthy
            if was_healthy:
                node.down_since = self.clock()
            node.failures += 1
            node.healthy = False
            node.probing = False
            wait = min(self.max_probe_interval, self.probe_interval * 2 ** (node.failures - 1))
            node.next_probe = self.clock() + wait
            node.last_error = str(error)
        return was_healthy

    def mark_up(self, node: Node) -> bool:
        """Note that ``node`` is healthy; True when it was down until now."""
        with self._lock:
            was_down = not node.healthy
            node.healthy = True
            node.probing = False
            node.failures = 0
            node.last_error = ""
        return was_down

    def release(self, node: Node) -> None:
        """Give back a probe claim that was not used."""
        with self._lock:
            node.probing = False

    def health(self) -> list[dict[str, Any]]:
        """A snapshot for humans: url, healthy, failures (no credentials)."""
        with self._lock:
            return [
                {"url": n.base, "healthy": n.healthy, "failures": n.failures} for n in self.nodes
            ]

    # -- the two loops ---------------------------------------------------------------------

    def send(self, request: Request, transport: Callable[[Node, bool], SyncSender]) -> Response:
        """Send ``request`` to the first node that answers (``transport(node, probe)``)."""
        failure: TransportError | None = None
        for node, probe in self.plan():
            if probe and not self._probe(node, transport(node, True)):
                continue
            try:
                return transport(node, False).send(request)
            except TransportError as exc:
                if not self._failed(node, request, exc):
                    raise
                failure = exc
        assert failure is not None
        raise failure

    async def send_async(
        self, request: Request, transport: Callable[[Node, bool], AsyncSender]
    ) -> Response:
        """``send`` on the running event loop."""
        failure: TransportError | None = None
        for node, probe in self.plan():
            if probe and not await self._probe_async(node, transport(node, True)):
                continue
            try:
                return await transport(node, False).send(request)
            except TransportError as exc:
                if not self._failed(node, request, exc):
                    raise
                failure = exc
        assert failure is not None
        raise failure

    def _probe(self, node: Node, transport: SyncSender) -> bool:
        try:
            verdict = up_verdict(transport.send(PROBE_UP))
            if verdict is None:
                verdict = root_verdict(transport.send(PROBE_ROOT))
        except CouchError as exc:
            self._probe_failed(node, exc)
            return False
        finally:
            self.release(node)
        return self._judge(node, verdict)

    async def _probe_async(self, node: Node, transport: AsyncSender) -> bool:
        try:
            verdict = up_verdict(await transport.send(PROBE_UP))
            if verdict is None:
                verdict = root_verdict(await transport.send(PROBE_ROOT))
        except CouchError as exc:
            self._probe_failed(node, exc)
            return False
        finally:
            self.release(node)
        return self._judge(node, verdict)

    def _judge(self, node: Node, healthy: bool) -> bool:
        if healthy:
            failed, since = node.failed_requests, node.down_since
            if self.mark_up(node):
                node.failed_requests = 0
                log.info(
                    "cluster node %s is back after %.1f s (%d request(s) failed on it meanwhile)",
                    node.base,
                    self.clock() - since,
                    failed,
                )
        else:
            self._probe_failed(node, "the health check said the node is down")
        return healthy

    def _probe_failed(self, node: Node, error: BaseException | str) -> None:
        self.mark_down(node, error)
        log.debug("cluster node %s: health check failed (%s)", node.base, error)

    def _failed(self, node: Node, request: Request, error: TransportError) -> bool:
        """Note a failed node; True when ``request`` may go on to the next one.

        Only the node's going down is a WARNING; the requests failing on it
        after that are DEBUG lines, so a dead node does not flood the log.
        """
        moves = can_fail_over(request, error)
        if moves or isinstance(error, ConnectError | ConnectionDropped):
            went_down = self.mark_down(node, error)
            with self._lock:
                node.failed_requests += 1
                count = node.failed_requests
            if went_down:
                log.warning(
                    "cluster node %s is down (%s); using the other nodes until it answers "
                    "its health check",
                    node.base,
                    type(error).__name__,
                )
            log.debug(
                "cluster node %s: %s %s failed (%s), %d request(s) failed on it so far%s",
                node.base,
                request.method,
                request.path,
                type(error).__name__,
                count,
                "; trying the next node" if moves else "",
            )
        return moves
