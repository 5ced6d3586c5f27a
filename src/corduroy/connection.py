"""``Connection``: how a ``Couch`` reaches its server (urls, credentials, transports).

The drivers hand every request of an operation to a ``Connection``: ``send``
(blocking) or ``send_async`` (asyncio). It owns the transports of each node,
adds the credentials, renews a session or token when the auth policy
(:mod:`corduroy.auth`) says so, and with several node urls fails over between
them (:mod:`corduroy.cluster`). Credentials never leave it: reprs, logs and
exception urls show the bare server url.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from .auth import SESSION_CHECK, Auth, AuthState, BasicAuth
from .cluster import Node, NodeSet, failover_policy
from .errors import InvalidInput, Unauthorized
from .http.config import HTTPConfig
from .http.messages import Request, Response, error_from
from .http.retry import NO_RETRY
from .lockout import Refusal, refuses_credentials
from .ops.io import Close, Read
from .ops.replication import ServerTraits

if TYPE_CHECKING:
    from .http.async_pool import AsyncTransport
    from .http.sync_pool import SyncTransport

__all__ = [
    "Connection",
    "ServerUrl",
    "make_ssl_context",
    "parse_server_url",
    "redact_url",
]

log = logging.getLogger("corduroy.connection")

#: probes of a down node give up quickly
PROBE_TIMEOUT = 2.0


class _Renew(NamedTuple):
    """Renew the session or token, unless done since generation ``seen``."""

    seen: int


class _Token(NamedTuple):
    """Call the token supplier (awaiting what it returns, in async code)."""

    supplier: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class ServerUrl:
    """A server url split into the part that is shown and the credentials."""

    base: str  # scheme://host:port/prefix/ with a trailing slash, no credentials
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        who = f", username={self.username!r}" if self.username is not None else ""
        return f"ServerUrl({self.base!r}{who})"


def parse_server_url(url: str) -> ServerUrl:
    """Split ``http://user:pass@host:port/prefix`` into base url and credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f"server url must start with http:// or https://, got {redact_url(url)!r}"
        )
    if not parts.hostname:
        raise InvalidInput(f"server url has no host: {redact_url(url)!r}")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    base = urlunsplit((parts.scheme, netloc, path, "", ""))
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return ServerUrl(base, username, password)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None and "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}:***@{hostport}" if user else f"***@{hostport}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def make_ssl_context(
    ca_file: str | None = None,
    cert: str | tuple[str, str] | None = None,
    verify: bool = True,
) -> ssl.SSLContext:
    """A TLS context: verification on (``ca_file`` adds a CA bundle), optional client cert.

    ``cert`` is a PEM file holding certificate and key, or a ``(cert, key)`` pair.
    ``verify=False`` turns certificate and host name checks off (tests only).
    """
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        if isinstance(cert, str):
            context.load_cert_chain(cert)
        else:
            certfile, keyfile = cert
            context.load_cert_chain(certfile, keyfile)
    return context


def _session_gone(state: AuthState, check: Request, answer: Response) -> bool:
    """Did ``GET /_session`` show that the server forgot the session cookie?"""
    gone = answer.status == 401 or state.should_retry(check, answer)
    if gone:
        log.debug("the session cookie is no longer valid: logging in again")
    return gone


class Connection:
    """One server (or the nodes of one cluster): urls, credentials, transports."""

    def __init__(
        self,
        url: ServerUrl | Sequence[ServerUrl],
        config: HTTPConfig | None = None,
        headers: Sequence[tuple[str, str]] = (),
        *,
        auth: Auth | None = None,
        probe_interval: float = 2.0,
    ) -> None:
        urls = [url] if isinstance(url, ServerUrl) else list(url)
        if not urls:
            raise InvalidInput("no server url")
        self.url = urls[0]
        self.config = config or HTTPConfig()
        if auth is None:
            with_credentials = next((u for u in urls if u.username is not None), None)
            if with_credentials is not None:
                auth = BasicAuth(with_credentials.username or "", with_credentials.password or "")
        self.auth = auth
        self._state: AuthState | None = auth.bind() if auth is not None else None
        # Basic auth: a password the server refused (each request would be one more
        # failed login towards CouchDB's lockout), held back for REFUSAL_HOLD seconds
        self._basic = isinstance(auth, BasicAuth)
        self._refused = Refusal()
        static = auth.headers() if auth is not None else ()
        self._headers = tuple(static) + tuple(headers)
        self._lock = threading.Lock()
        self._login_lock = threading.Lock()
        self._async_login_locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Lock
        ] = weakref.WeakKeyDictionary()
        self._cluster = NodeSet(urls, probe_interval=probe_interval) if len(urls) > 1 else None
        self._node = Node(urls[0])
        #: what corduroy learned about the server (detected once, by operations)
        self.traits = ServerTraits()
        if self._cluster is not None:  # an unreachable node is left at once for the next
            self.config = replace(self.config, retry=failover_policy(self.config.retry))

    # -- who and where --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server url without credentials (the first node's, for a cluster)."""
        return self.url.base

    @property
    def username(self) -> str | None:
        return self.auth.username if self.auth is not None else None

    @property
    def nodes(self) -> NodeSet | None:
        """The cluster's nodes and their health, or ``None`` for a single url."""
        return self._cluster

    def url_for(self, request: Request) -> str:
        """The full url of ``request`` (never with credentials)."""
        base = self._cluster.current().base if self._cluster is not None else self.url.base
        return base + request.target.lstrip("/")

    def credentialed_url(self, path: str = "") -> str:
        """The url with credentials, for the server itself (replication bodies)."""
        auth = self.auth
        if auth is None or auth.username is None or auth.password is None:
            return self.url.base + path
        parts = urlsplit(self.url.base)
        user = quote(auth.username, safe="")
        pw = quote(auth.password, safe="")
        netloc = f"{user}:{pw}@{parts.netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", "")) + path

    def auth_headers(self) -> tuple[tuple[str, str], ...]:
        """The credential headers requests carry right now (for replication endpoints)."""
        dynamic = self._state.headers() if self._state is not None else ()
        static = self.auth.headers() if self.auth is not None else ()
        return tuple(static) + tuple(dynamic)

    # -- transports -----------------------------------------------------------------------

    def _probe_config(self) -> HTTPConfig:
        config = self.config
        limit = PROBE_TIMEOUT
        if config.connect_timeout is not None:
            limit = min(limit, config.connect_timeout)
        return HTTPConfig(
            connect_timeout=limit,
            read_timeout=limit,
            ssl_context=config.ssl_context,
            max_connections=2,
            keepalive_expiry=config.keepalive_expiry,
            retry=NO_RETRY,  # a probe answers "down" at once
        )

    def _transport(self, node: Node, attr: str, factory: Any, probe: bool) -> Any:
        """The node's transport in ``attr``, made by ``factory`` on first use (thread-safe)."""
        transport = getattr(node, attr)
        if transport is None:
            with self._lock:
                transport = getattr(node, attr)
                if transport is None:
                    config = self._probe_config() if probe else self.config
                    transport = factory(node.base, config, self._headers)
                    setattr(node, attr, transport)
        return transport

    def _sync_for(self, node: Node, probe: bool = False) -> SyncTransport:
        if not probe and node.sync is not None:  # every request: no import, no lock
            return node.sync
        from .http.sync_pool import SyncTransport

        transport: SyncTransport = self._transport(
            node, "probe_sync" if probe else "sync", SyncTransport, probe
        )
        return transport

    def _async_for(self, node: Node, probe: bool = False) -> AsyncTransport:
        if not probe and node.async_ is not None:
            return node.async_
        from .http.async_pool import AsyncTransport

        transport: AsyncTransport = self._transport(
            node, "probe_async" if probe else "async_", AsyncTransport, probe
        )
        return transport

    # -- sending: one code path (_exchange, _renewal), run blocking or on the loop ------------

    def send(self, request: Request) -> Response:
        """Send ``request`` and wait for the answer (blocking)."""
        if self._state is not None:  # a session or token to look after
            response: Response = self._run(self._exchange(request))
            return response
        if self._basic:
            self._hold_back()
        response = self._route(request)
        if self._basic and response.status in (401, 403):
            response = self._run(self._basic_refusal(request, response))
        return response

    def send_async(self, request: Request) -> Awaitable[Response]:
        """Send ``request`` on the running event loop (an awaitable of the response)."""
        if self._state is not None:
            return self._run_async(self._exchange(request))
        if self._basic:
            return self._send_basic_async(request)
        return self._route_async(request)

    async def _send_basic_async(self, request: Request) -> Response:
        self._hold_back()
        response = await self._route_async(request)
        if response.status in (401, 403):
            response = await self._run_async(self._basic_refusal(request, response))
        return response

    def _basic_refusal(self, request: Request, response: Response) -> Generator[Any, Any, Response]:
        """A 401/403 answer to Basic credentials: remember it if it refused the credentials
        themselves (its body read whole: it is the answer)."""
        if response.stream is not None:
            body = yield Read(response.stream, -1)
            response = Response(response.status, response.headers, body)
        self._note_refusal(request, response)
        return response

    def _exchange(self, request: Request) -> Generator[Any, Any, Response]:
        """Send ``request`` with the session or token, renewing it as needed.

        Yields what is to be done: a ``Request`` to route, a ``Read`` of a whole
        body, a ``Close``, a :class:`_Renew` (run :meth:`_renewal` under the
        login lock). ``_run`` and ``_run_async`` do it.
        """
        state = self._state
        assert state is not None
        response: Response
        if state.needs_renewal():
            yield _Renew(state.generation)
        prepared, generation = state.prepare(request)
        response = yield prepared
        state.observe(response)
        retry = state.should_retry(prepared, response)
        if not retry and state.check_session(prepared, response):
            if response.stream is not None:  # keep the 401 whole: it may be the answer
                body = yield Read(response.stream, -1)
                response = Response(response.status, response.headers, body)
            check, _ = state.prepare(SESSION_CHECK)
            answer = yield check
            state.observe(answer)
            retry = _session_gone(state, check, answer)
        if retry:
            if response.stream is not None:
                yield Close(response.stream)
            state.invalidate(generation)
            yield _Renew(generation)
            prepared, _ = state.prepare(request)
            response = yield prepared
            state.observe(response)
        return response

    def _renewal(self, seen: int) -> Generator[Any, Any, None]:
        """Log in again, or ask the token supplier (yields a login ``Request`` or a
        :class:`_Token`); runs under the login lock."""
        state = self._state
        assert state is not None
        if state.generation != seen and not state.needs_renewal():
            return  # another thread or task renewed meanwhile
        refused = state.refusal()
        if refused is not None:
            if state.still_valid():
                return  # keep using the session the server still honours
            raise refused
        login = state.login_request()
        if login is not None:
            log.debug("logging in as %r", self.username)
            response = yield login
            self._accept_login(login, response)
        else:
            supplier = getattr(state.auth, "supplier", None)
            assert supplier is not None
            token = yield _Token(supplier)
            state.accept_token(token)

    def _run(self, steps: Generator[Any, Any, Any]) -> Any:
        """Carry out ``steps`` (``_exchange``, ``_renewal``) with blocking I/O."""
        value: Any = None
        try:
            while True:
                instr = steps.send(value)
                kind = type(instr)
                if kind is Request:
                    value = self._route(instr)
                elif kind is Read:
                    value = instr.body.read(instr.size)
                elif kind is Close:
                    value = instr.body.close()
                elif kind is _Renew:
                    with self._login_lock:
                        value = self._run(self._renewal(instr.seen))
                else:
                    value = instr.supplier()
                    if inspect.isawaitable(value):
                        if inspect.iscoroutine(value):
                            value.close()
                        raise InvalidInput(
                            "the token supplier returned an awaitable in blocking code; "
                            "give a plain function, or call from async code"
                        )
        except StopIteration as end:
            return end.value
        finally:
            steps.close()

    async def _run_async(self, steps: Generator[Any, Any, Any]) -> Any:
        """Carry out ``steps`` (``_exchange``, ``_renewal``) on the running loop."""
        value: Any = None
        try:
            while True:
                instr = steps.send(value)
                kind = type(instr)
                if kind is Request:
                    value = await self._route_async(instr)
                elif kind is Read:
                    value = await instr.body.read(instr.size)
                elif kind is Close:
                    value = await instr.body.aclose()
                elif kind is _Renew:
                    async with self._login_lock_async():
                        value = await self._run_async(self._renewal(instr.seen))
                else:
                    value = instr.supplier()
                    if inspect.isawaitable(value):
                        value = await value
        except StopIteration as end:
            return end.value
        finally:
            steps.close()

    def _login_lock_async(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._lock:  # never held across an await
            lock = self._async_login_locks.get(loop)
            if lock is None:
                lock = self._async_login_locks[loop] = asyncio.Lock()
        return lock

    def _hold_back(self) -> None:
        """Raise the refusal of these Basic credentials again while it holds."""
        again = self._refused.again()
        if again is not None:
            raise again

    def _note_refusal(self, request: Request, response: Response) -> None:
        """Remember a 401/403 that refused the Basic credentials themselves."""
        if not refuses_credentials(response):
            return  # a permission answer: the credentials are fine
        from .driver_core import error_for  # the drivers import this module

        error = error_for(request, response, self, response.body)
        log.warning("the server refused the credentials of %r: %s", self.username, error)
        self._refused.hold(error)

    def _accept_login(self, login: Request, response: Response) -> None:
        state = self._state
        assert state is not None
        if response.status >= 400:
            error = error_from(login, response, self.url_for(login), response.body)
            if response.status not in (401, 403):
                state.forget()
                raise error
            log.warning("the server refused the login as %r: %s", self.username, error)
            state.refuse(error)  # not sent again by itself for a while
            if state.still_valid():
                log.warning("keeping the session cookie, valid until it expires")
                return
            raise error
        if not state.accept_login(response):
            raise Unauthorized(
                401,
                "unauthorized",
                "the server answered the login without a session cookie",
                method=login.method,
                url=self.url_for(login),
            )

    def _route(self, request: Request) -> Response:
        cluster = self._cluster
        if cluster is None:
            return self._sync_for(self._node).send(request)
        return cluster.send(request, self._sync_for)

    def _route_async(self, request: Request) -> Awaitable[Response]:
        cluster = self._cluster
        if cluster is None:
            return self._async_for(self._node).send(request)
        return cluster.send_async(request, self._async_for)

    def close(self) -> None:
        """Close every pooled connection: blocking ones, and asyncio ones on every loop.

        Connections reopen when the client is used again.
        """
        nodes = self._cluster.nodes if self._cluster is not None else [self._node]
        for node in nodes:
            for transport in (node.sync, node.probe_sync, node.async_, node.probe_async):
                if transport is not None:
                    transport.close()

    async def aclose(self) -> None:
        """``close()``, then let the running loop finish closing its sockets."""
        self.close()
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        who = f" as {self.username!r}" if self.username else ""
        if self._cluster is not None:
            return f"<Connection {len(self._cluster)} nodes, first {self.url.base!r}{who}>"
        return f"<Connection {self.url.base!r}{who}>"

    def __reduce__(self) -> Any:
        raise TypeError("a Connection holds sockets and credentials and cannot be pickled")
