"""How a ``Couch`` proves who it is: Basic, cookie sessions, JWT and proxy auth.

Each scheme is a small object given to ``Couch(auth=...)`` (or made for you by
``Couch(url, auth=(user, password), session=True)`` and ``Couch(url, token=...)``).
A ``Connection`` binds it to an :class:`AuthState`, the one policy shared by the
blocking and the asyncio paths. The state is pure: it says which headers a
request gets, whether a login (or a fresh token) is due before sending, how to
read a login answer and ``Set-Cookie`` headers, and whether an answer means
"renew and retry once". The connection does the I/O around those decisions and
makes sure only one login runs at a time.

Logins are rationed, because CouchDB 3.4 locks an account after a few failed
ones from one address (``[chttpd_auth_lockout]``) and then refuses even the
right password: a 401 on a request sent with a still-valid session cookie is a
permission answer and is returned as it is (the cookie is kept, nobody logs in
again); only a session the server no longer knows is renewed, once. A refused
login (401 or 403) is never sent again by itself for ``REFUSAL_HOLD``
seconds (:mod:`corduroy.lockout`): requests meanwhile raise the same error
without contacting the server.

Secrets never show: every ``repr`` here hides passwords, cookies and tokens.
"""

from __future__ import annotations

import base64
import hmac
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from .errors import HTTPError, InvalidInput
from .http.messages import Request, Response, basic_header
from .lockout import Refusal

__all__ = [
    "Auth",
    "AuthState",
    "BasicAuth",
    "JWTAuth",
    "ProxyAuth",
    "SessionAuth",
    "TokenSupplier",
    "basic_header",
]

#: returns a JWT; may return an awaitable in asyncio code
TokenSupplier = Callable[[], Any]

SESSION_PATH = "/_session"
#: log in again this long before a session cookie expires (at most 10% of its life)
RENEW_MARGIN = 60.0
_JSON = (("Content-Type", "application/json"),)
#: asks whether the session cookie a 401 came with is still a valid session
SESSION_CHECK = Request("GET", SESSION_PATH, idempotent=True)


class Auth:
    """Base of the auth schemes. ``username``/``password`` are ``None`` where unknown."""

    username: str | None = None
    password: str | None = None

    def headers(self) -> tuple[tuple[str, str], ...]:
        """Headers sent with every request, whatever the state."""
        return ()

    def bind(self) -> AuthState | None:
        """The per-connection state, or ``None`` when the headers never change."""
        return None

    def __reduce__(self) -> Any:
        raise TypeError("auth objects hold secrets and cannot be pickled")


class BasicAuth(Auth):
    """``Authorization: Basic`` on every request (also what ``auth=(user, pw)`` means)."""

    def __init__(self, username: str, password: str) -> None:
        self.username = str(username)
        self.password = str(password)

    def headers(self) -> tuple[tuple[str, str], ...]:
        return (basic_header(self.username or "", self.password or ""),)

    def __repr__(self) -> str:
        return f"<BasicAuth {self.username!r}>"


class SessionAuth(Auth):
    """A cookie session: ``POST /_session`` once, then ``Cookie: AuthSession=...``.

    The session is renewed before it expires (when the server said when).
    After a 401 the connection asks ``GET /_session`` whether the cookie still
    holds: if it does, the 401 is the answer (no new login); if the server
    forgot the session, it logs in once more and sends the request again.
    """

    def __init__(self, username: str, password: str) -> None:
        self.username = str(username)
        self.password = str(password)

    def bind(self) -> AuthState:
        return AuthState(self)

    def login_request(self) -> Request:
        body = orjson.dumps({"name": self.username, "password": self.password})
        return Request("POST", SESSION_PATH, "", _JSON, body, idempotent=True)

    def __repr__(self) -> str:
        return f"<SessionAuth {self.username!r}>"


class JWTAuth(Auth):
    """``Authorization: Bearer <jwt>``: a fixed token, or a callable that supplies one.

    A callable is asked for a token before the first request, shortly before
    the token's ``exp`` claim (when it has one) and after a 401. In asyncio
    code it may return an awaitable; in blocking code it must return the token.
    """

    def __init__(self, token: str | TokenSupplier) -> None:
        if isinstance(token, str):
            if not token:
                raise InvalidInput("token must not be empty")
            self.token: str | None = token
            self.supplier: TokenSupplier | None = None
        elif callable(token):
            self.token = None
            self.supplier = token
        else:
            raise InvalidInput("token must be a str or a callable returning one")
        self.username = _jwt_claims(self.token).get("sub") if self.token else None

    def headers(self) -> tuple[tuple[str, str], ...]:
        return (("Authorization", "Bearer " + self.token),) if self.token else ()

    def bind(self) -> AuthState | None:
        return AuthState(self) if self.supplier is not None else None

    def __repr__(self) -> str:
        kind = "supplied" if self.supplier is not None else "fixed"
        return f"<JWTAuth {kind} token>"


class ProxyAuth(Auth):
    """CouchDB proxy authentication: a trusted proxy names the user and roles.

    Sends ``X-Auth-CouchDB-UserName`` and ``X-Auth-CouchDB-Roles``, and
    ``X-Auth-CouchDB-Token`` when a ``token`` or the server's proxy ``secret``
    is given (the token is the HMAC of the user name under that secret;
    ``digest`` is ``"sha256"``, CouchDB 3.3+, or ``"sha1"`` for older servers).
    """

    def __init__(
        self,
        username: str,
        roles: Sequence[str] = (),
        *,
        secret: str | None = None,
        token: str | None = None,
        digest: str = "sha256",
    ) -> None:
        if isinstance(roles, str):
            roles = [roles]
        self.username = str(username)
        self.roles = tuple(str(role) for role in roles)
        if token is None and secret is not None:
            if digest not in ("sha256", "sha1", "sha512", "sha384", "sha224"):
                raise InvalidInput(f"unsupported proxy token digest {digest!r}")
            token = hmac.new(secret.encode(), self.username.encode(), digest).hexdigest()
        self._token = token

    def headers(self) -> tuple[tuple[str, str], ...]:
        found = [
            ("X-Auth-CouchDB-UserName", self.username or ""),
            ("X-Auth-CouchDB-Roles", ",".join(self.roles)),
        ]
        if self._token:
            found.append(("X-Auth-CouchDB-Token", self._token))
        return tuple(found)

    def __repr__(self) -> str:
        return f"<ProxyAuth {self.username!r} roles={list(self.roles)!r}>"


def _jwt_claims(token: str | None) -> dict[str, Any]:
    """The (unverified) payload of a JWT, or ``{}`` when it cannot be read."""
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _cookie_lifetime(set_cookie: str) -> float | None:
    """Seconds a ``Set-Cookie`` value stays valid (``Max-Age``), ``None`` when unsaid."""
    for attribute in set_cookie.split(";")[1:]:
        name, _, value = attribute.strip().partition("=")
        if name.lower() == "max-age":
            try:
                return float(value)
            except ValueError:
                return None
    return None


class AuthState:
    """The mutable half of a session or token scheme, for one connection.

    Pure: it never sends anything. ``generation`` counts renewals; a request
    remembers the generation it was sent under, so that of several requests
    failing together only the first renews (the others see a newer generation
    and just retry). Reads and writes are guarded by a lock that is never held
    while waiting for the network.
    """

    def __init__(self, auth: SessionAuth | JWTAuth, clock: Callable[[], float] = time.monotonic):
        self.auth = auth
        self.clock = clock
        self.generation = 0
        self._lock = threading.Lock()
        self._credential: str | None = None  # the cookie value or the token
        self._expires: float | None = None  # clock() time after which to renew first
        self._valid_until: float | None = None  # when the server said the cookie expires
        self._refusal = Refusal(lambda: self.clock())  # the last refused login, held back

    # -- what to send ---------------------------------------------------------------------

    @property
    def is_session(self) -> bool:
        return isinstance(self.auth, SessionAuth)

    def needs_renewal(self) -> bool:
        """Must log in (or fetch a token) before the next request?"""
        with self._lock:
            if self._credential is None:
                return True
            return self._expires is not None and self.clock() >= self._expires

    def prepare(self, request: Request) -> tuple[Request, int]:
        """``request`` with the credential header added, and the generation it uses."""
        with self._lock:
            credential, generation = self._credential, self.generation
        if credential is None or (request.path == SESSION_PATH and request.method == "POST"):
            return request, generation
        if self.is_session:
            header = ("Cookie", "AuthSession=" + credential)
        else:
            header = ("Authorization", "Bearer " + credential)
        return request._replace(headers=(*request.headers, header)), generation

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The current credential header (for e.g. replication endpoints), if any."""
        with self._lock:
            credential = self._credential
        if credential is None:
            return ()
        if self.is_session:
            return (("Cookie", "AuthSession=" + credential),)
        return (("Authorization", "Bearer " + credential),)

    # -- renewing -------------------------------------------------------------------------

    def login_request(self) -> Request | None:
        """The ``POST /_session`` to send for a session (``None`` for tokens)."""
        if isinstance(self.auth, SessionAuth):
            return self.auth.login_request()
        return None

    def accept_login(self, response: Response) -> bool:
        """Take the cookie from a successful login answer; False if it had none."""
        if not self._take_cookie(response):
            return False
        with self._lock:
            self.generation += 1
        return True

    def accept_token(self, token: Any) -> None:
        """Take a token from the supplier."""
        if not isinstance(token, str) or not token:
            raise InvalidInput("the token supplier must return a non-empty str")
        exp = _jwt_claims(token).get("exp")
        expires: float | None = None
        if isinstance(exp, int | float):
            left = exp - time.time()
            expires = self.clock() + left - min(RENEW_MARGIN, max(left, 0) / 10)
        with self._lock:
            self._credential, self._expires, self._valid_until = token, expires, None
            self.generation += 1

    def observe(self, response: Response) -> None:
        """Follow cookies the server refreshes or clears on any answer."""
        if self.is_session and "set-cookie" in response.headers:
            self._take_cookie(response)

    def _take_cookie(self, response: Response) -> bool:
        found = False
        for line in response.headers.get_all("set-cookie"):
            # a folded header may hold several cookies: split at ", Name="
            for piece in _split_cookies(line):
                name, _, rest = piece.partition("=")
                if name.strip() != "AuthSession":
                    continue
                value = rest.split(";", 1)[0].strip()
                lifetime = _cookie_lifetime(piece)
                with self._lock:
                    if value:
                        now = self.clock()
                        self._credential = value
                        self._valid_until = None if lifetime is None else now + lifetime
                        self._expires = (
                            None
                            if lifetime is None
                            else now + lifetime - min(RENEW_MARGIN, lifetime / 10)
                        )
                        found = True
                    else:  # logged out (or a failed login): log in again when next needed
                        self._credential = self._expires = self._valid_until = None
                        found = False
        return found

    def forget(self) -> None:
        """Drop the credential (the next request renews it)."""
        with self._lock:
            self._credential = self._expires = self._valid_until = None

    def invalidate(self, generation: int) -> None:
        """The server rejected the credential of ``generation``: drop it, unless a newer
        one replaced it meanwhile (another thread renewed)."""
        with self._lock:
            if generation == self.generation:
                self._credential = self._expires = self._valid_until = None

    def still_valid(self) -> bool:
        """Is there a credential the server has not rejected and that has not expired?"""
        with self._lock:
            if self._credential is None:
                return False
            return self._valid_until is None or self.clock() < self._valid_until

    def refuse(self, error: HTTPError) -> None:
        """The server refused the login with ``error``: hold further logins back.

        A session cookie that is still valid is kept (CouchDB goes on honouring
        it during a lockout): it is used until it expires, and only then is a
        login tried again (once the refusal lapsed).
        """
        self._refusal.hold(error)
        with self._lock:
            valid = self._credential is not None and (
                self._valid_until is None or self.clock() < self._valid_until
            )
            if valid:
                self._expires = self._valid_until
            else:
                self._credential = self._expires = self._valid_until = None

    def refusal(self) -> HTTPError | None:
        """A copy of the last refusal while logins are held back, else ``None``.

        Logging in again with the same wrong password only counts towards
        CouchDB's lockout, and a locked account stays locked whatever is sent,
        so for :data:`~corduroy.lockout.REFUSAL_HOLD` seconds the refusal is
        raised again instead.
        """
        return self._refusal.again()

    def check_session(self, request: Request, response: Response) -> bool:
        """Is ``response`` a 401 to a request that carried the session cookie?

        Then the connection asks ``GET /_session`` (with the cookie) whether the
        session still holds before deciding anything: a 401 under a valid
        session is a permission answer (server-admin endpoints give it to every
        other user), not a reason to log in again.
        """
        return (
            self.is_session
            and response.status == 401
            and request.replayable
            and not (request.path == SESSION_PATH and request.method == "POST")
            and request.header("Cookie") is not None
        )

    def should_retry(self, request: Request, response: Response) -> bool:
        """Does ``response`` mean "renew the credential and send ``request`` again"?

        A 401 to a token does (the supplier is asked for a fresh one), except
        for a body that cannot be sent twice; a 401 to a session cookie is
        first checked (:meth:`check_session`). A ``GET /_session`` that answers
        "anonymous" although a session cookie went with it does (the server
        forgot the session). A 403 never does.
        """
        if not request.replayable or (request.path == SESSION_PATH and request.method == "POST"):
            return False
        if response.status == 401:
            return not self.is_session
        if (
            self.is_session
            and response.status == 200
            and request.path == SESSION_PATH
            and request.method == "GET"
            and request.header("Cookie") is not None
        ):
            try:
                body = response.json()
            except orjson.JSONDecodeError:
                return False
            ctx = body.get("userCtx") if isinstance(body, dict) else None
            return isinstance(ctx, dict) and ctx.get("name") is None
        return False

    def __repr__(self) -> str:
        held = "with credential" if self._credential is not None else "no credential"
        return f"<AuthState {self.auth!r} {held} generation={self.generation}>"


def _split_cookies(line: str) -> list[str]:
    """Split a ``Set-Cookie`` value that several headers were joined into.

    ``Expires=Thu, 01 Jan 1970`` holds a comma too, so split only where a comma
    is followed by ``name=`` without spaces before the ``=``.
    """
    pieces: list[str] = []
    start = 0
    for index, char in enumerate(line):
        if char != ",":
            continue
        rest = line[index + 1 :].lstrip()
        name, eq, _ = rest.partition("=")
        if eq and name and " " not in name and ";" not in name:
            pieces.append(line[start:index])
            start = index + 1
    pieces.append(line[start:])
    return [piece.strip() for piece in pieces if piece.strip()]
