"""The ``corduroy`` command group: server options, credentials, and errors in one line.

Exit codes: 0 success, 1 an error (one line on stderr, no traceback), 2 a usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import unquote, urlsplit

import click

from ..errors import CouchError
from .output import Output

if TYPE_CHECKING:
    from ..couch import Couch
    from ..database import Database

__all__ = ["CliError", "Settings", "cli", "command_group", "fail", "main", "pass_settings"]

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CliError(click.ClickException):
    """An error reported as one line on stderr, exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def fail(message: str) -> NoReturn:
    """Stop the command with a one-line error (exit code 1)."""
    raise CliError(message)


class Settings:
    """Where to connect (from the group's options) and how to print."""

    def __init__(
        self,
        url: str | None,
        user: str | None,
        password: str | None,
        prompt: bool,
        force_json: bool,
    ) -> None:
        self.url = url
        self.user = user
        self.password = password
        self.prompt = prompt
        self.out = Output(force_json)
        self._couch: Couch | None = None

    @property
    def secrets(self) -> list[str]:
        """Passwords given in any way, to scrub from error messages."""
        found = [self.password] if self.password else []
        if self.url:
            password = urlsplit(self.url if "://" in self.url else "//" + self.url).password
            if password:
                found += [password, unquote(password)]
        return found

    def couch(self) -> Couch:
        """The ``Couch`` for ``--url``/``COUCHDB_URL`` and the credentials (made once)."""
        if self._couch is None:
            from ..couch import Couch

            url_user = None
            if self.url:
                parts = urlsplit(self.url if "://" in self.url else "//" + self.url)
                url_user = unquote(parts.username) if parts.username else None
            auth: tuple[str, str] | None = None
            if self.prompt:
                user = self.user or url_user or click.prompt("Username", err=True)
                self.password = click.prompt(
                    f"Password for {user}", hide_input=True, err=True, default="",
                    show_default=False,
                )  # fmt: skip
                auth = (user, self.password)
            elif self.user:
                auth = (self.user, self.password or "")
            self._couch = Couch(self.url, auth=auth)
        return self._couch

    def db(self, name: str) -> Database:
        return self.couch()[name]


pass_settings = click.make_pass_decorator(Settings)


def _one_line(exc: BaseException, secrets: list[str]) -> str:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.strerror}: {exc.filename}"
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return " ".join(message.split())


# The group's options, which may also be given after the command (`corduroy view db x --json`).
GLOBAL_FLAGS = frozenset({"-p", "--password-prompt", "--json", "-v", "--verbose"})
GLOBAL_WITH_VALUE = frozenset({"--url", "-u", "--user"})


def _global_option(args: list[str], i: int) -> int:
    """How many tokens from ``args[i]`` on are one of the group's options (0: none)."""
    arg = args[i]
    if arg in GLOBAL_FLAGS:
        return 1
    if arg in GLOBAL_WITH_VALUE:
        return 2 if i + 1 < len(args) else 1
    if arg.startswith(("--url=", "--user=")) or (arg.startswith("-u") and len(arg) > 2):
        return 1
    return 0


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with the group's options that follow the command moved in front of it.

    Everything else keeps its order; nothing after a ``--`` is moved.
    """
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += _global_option(args, i) or 1  # the options before the command stay where they are
    front, rest = args[:i], []
    while i < len(args):
        if args[i] == "--":
            rest += args[i:]
            break
        size = _global_option(args, i)
        if size:
            front += args[i : i + size]
            i += size
        else:
            rest.append(args[i])
            i += 1
    return front + rest


class CorduroyGroup(click.Group):
    """Turns library and I/O errors into one-line messages (exit 1); takes the group's options
    after the command too."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (CouchError, OSError, ValueError, RuntimeError) as exc:
            settings = ctx.find_object(Settings)
            secrets = settings.secrets if settings is not None else []
            raise CliError(_one_line(exc, secrets)) from None


@click.group(cls=CorduroyGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--url",
    envvar="COUCHDB_URL",
    metavar="URL",
    help="Server url, credentials may be inline (env COUCHDB_URL; default http://127.0.0.1:5984/).",
)
@click.option("-u", "--user", envvar="COUCHDB_USER", help="User name (env COUCHDB_USER).")
@click.option(
    "-p",
    "--password-prompt",
    "prompt",
    is_flag=True,
    help="Ask for the password (hidden). Otherwise env COUCHDB_PASSWORD or the url's.",
)
@click.option("--json", "force_json", is_flag=True, help="JSON output even on a terminal.")
@click.option("-v", "--verbose", is_flag=True, help="Log retries and reconnects to stderr.")
@click.version_option(package_name="corduroy-couch", prog_name="corduroy")
@click.pass_context
def cli(
    ctx: click.Context,
    url: str | None,
    user: str | None,
    prompt: bool,
    force_json: bool,
    verbose: bool,
) -> None:
    """corduroy: work with a CouchDB server from the shell.

    Output is JSON (one object, or one item per line) when piped, tables on a terminal.
    Exit codes: 0 success, 1 error, 2 usage. The options above may also follow the command
    (corduroy view DB _all_docs --json).
    """
    import logging
    import os

    # The library logs retries as warnings; a command reports its outcome in one line instead.
    if verbose:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    else:
        logging.getLogger("corduroy").setLevel(logging.ERROR)
    password = os.environ.get("COUCHDB_PASSWORD") if user else None
    ctx.obj = Settings(url or None, user, password, prompt, force_json)


def command_group() -> click.Group:
    """The ``corduroy`` group with every command registered."""
    import importlib

    for module in ("commands", "queries", "replicate", "transfer"):  # each registers commands
        importlib.import_module(f"{__package__}.{module}")
    return cli


def main(argv: list[str] | None = None) -> None:
    """The console script ``corduroy``."""
    try:
        command_group().main(args=argv, prog_name="corduroy")
    except BrokenPipeError:  # `corduroy dump db | head`
        sys.stderr.close()
        raise SystemExit(0) from None
