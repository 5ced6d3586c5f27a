"""Server, database and document commands: info, dbs, create, delete, get, put, delete-doc,
ddoc push, serve."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from .app import Settings, cli, fail, pass_settings


@cli.command()
@click.argument("db", required=False)
@pass_settings
def info(settings: Settings, db: str | None) -> None:
    """The server's welcome object, or with DB that database's info."""
    if db is None:
        couch = settings.couch()
        settings.out.object(dict(couch.info()), title=f"server {couch.url}")
    else:
        settings.out.object(dict(settings.db(db).info()), title=f"database {db}")


@cli.command()
@pass_settings
def dbs(settings: Settings) -> None:
    """The names of all databases (one JSON string per line when piped)."""
    settings.out.values(settings.couch().all_dbs(), "database")


@cli.command()
@click.argument("db")
@pass_settings
def create(settings: Settings, db: str) -> None:
    """Create database DB (an error if it exists)."""
    settings.couch().create(db)
    settings.out.done(f"created database {db!r}", {"ok": True, "db": db})


@cli.command()
@click.argument("db")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation on a terminal.")
@pass_settings
def delete(settings: Settings, db: str, yes: bool) -> None:
    """Delete database DB and every document in it.

    On a terminal it asks first, unless --yes.
    """
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete database {db!r} and all its documents?", abort=True, err=True)
    settings.couch().delete(db)
    settings.out.done(f"deleted database {db!r}", {"ok": True, "db": db})


@cli.command()
@click.argument("db")
@click.argument("docid", metavar="ID")
@click.option("--rev", help="A particular revision.")
@click.option("--conflicts", is_flag=True, help="Add the _conflicts list.")
@pass_settings
def get(settings: Settings, db: str, docid: str, rev: str | None, conflicts: bool) -> None:
    """Print document ID of DB."""
    options: dict[str, Any] = {}
    if rev:
        options["rev"] = rev
    if conflicts:
        options["conflicts"] = True
    doc = settings.db(db).get(docid, **options)
    settings.out.object(doc)


def read_json_input(file: str) -> Any:
    """A JSON value from FILE or stdin (``-``); JSON lines are read as a list."""
    data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        lines = [line for line in data.splitlines() if line.strip()]
        try:
            return [orjson.loads(line) for line in lines]
        except orjson.JSONDecodeError as exc:
            where = "stdin" if file == "-" else file
            raise ValueError(f"{where} is neither JSON nor JSON lines: {exc}") from None


@cli.command()
@click.argument("db")
@click.argument("file", default="-", metavar="[FILE|-]")
@pass_settings
def put(settings: Settings, db: str, file: str) -> None:
    """Write the document in FILE (default: stdin) to DB.

    FILE holds one JSON object, a JSON array of them, or JSON lines. A document
    without "_id" gets one from the server; with "_rev" it updates that revision.
    Prints {"ok", "id", "rev"} per document; refused ones make the exit code 1.
    """
    value = read_json_input(file)
    docs = value if isinstance(value, list) else [value]
    if not docs or not all(isinstance(doc, dict) for doc in docs):
        fail("put takes a JSON object, or a list of JSON objects")
    database = settings.db(db)
    if isinstance(value, dict):
        database.save(value)
        settings.out.done(
            f"saved {value['_id']} rev {value['_rev']}",
            {"ok": True, "id": value["_id"], "rev": value["_rev"]},
        )
        return
    outcome = database.save(docs)
    results = []
    for doc in docs:
        docid = doc.get("_id")
        if docid in outcome.pending:
            results.append({"id": docid, "error": "conflict"})
        else:
            results.append({"ok": True, "id": docid, "rev": doc.get("_rev")})
    settings.out.records(results, ["id", "rev", "error"])
    if outcome.pending:
        fail(f"{len(outcome.pending)} of {len(docs)} documents refused: {outcome!r}")


@cli.command("delete-doc")
@click.argument("db")
@click.argument("docid", metavar="ID")
@click.option("--rev", help="The revision to delete (default: the current one).")
@pass_settings
def delete_doc(settings: Settings, db: str, docid: str, rev: str | None) -> None:
    """Delete document ID from DB."""
    database = settings.db(db)
    if rev is None:
        rev = database.rev(docid)
        if rev is None:
            fail(f"no document {docid!r} in database {db!r}")
    result = database.delete(docid, rev)
    settings.out.done(
        f"deleted {docid} (rev {result.get('rev')})",
        {"ok": True, "id": docid, "rev": result.get("rev")},
    )


@cli.group()
def ddoc() -> None:
    """Design documents."""


@ddoc.command("push")
@click.argument("db")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--name", help="Design document name (default: the folder's name or _id file).")
@pass_settings
def ddoc_push(settings: Settings, db: str, folder: str, name: str | None) -> None:
    """Write the design document in FOLDER (views/NAME/map.js, shows/NAME.js, ...) to DB.

    Writes only when it differs from the stored one.
    """
    from ..design import design_doc

    docid = design_doc(folder, name)["_id"]
    written = settings.db(db).sync_design(folder, name)
    what = "written" if written else "unchanged"
    settings.out.done(f"{docid}: {what}", {"ok": True, "id": docid, "written": written})


@cli.command()
@click.option("--port", type=int, help="Port (default: a free one).")
@click.option("--on-disk", is_flag=True, help="Keep data in LevelDB instead of memory.")
@click.option(
    "--data-dir", type=click.Path(file_okay=False), help="LevelDB dir, kept (implies --on-disk)."
)
@click.option(
    "--install",
    is_flag=True,
    help="Install the pinned pouchdb-server with npm into the user cache (once), then exit.",
)
@click.option(
    "--couchdb-url",
    metavar="URL",
    help="Use this CouchDB instead: check that it answers, print it, exit.",
)
def serve(
    port: int | None,
    on_disk: bool,
    data_dir: str | None,
    install: bool,
    couchdb_url: str | None,
) -> None:
    """Start the embedded CouchDB stand-in (pouchdb-server) for local development.

    Prints its url, with the development admin's credentials (admin:secret), on the
    first line, e.g. for `export COUCHDB_URL=...`, then serves until Ctrl-C. It needs
    Node.js 20: `corduroy serve --install` installs pouchdb-server with npm into
    ~/.cache/corduroy once (a corduroy checkout's `make server-deps` does too).
    """
    from ..testing.server import main as serve_main

    if install:
        _install()
        return
    if couchdb_url:
        _check_url(couchdb_url)
        return
    argv = []
    if port is not None:
        argv += ["--port", str(port)]
    if on_disk:
        argv.append("--on-disk")
    if data_dir is not None:
        argv += ["--data-dir", data_dir]
    code = serve_main(argv)
    if code:
        raise SystemExit(code)


def _install() -> None:
    from ..testing.install import ServerInstallError, install_pouchdb_server, pinned_version
    from ..testing.server import ServerNotInstalledError, find_pouchdb_server

    try:
        binary = find_pouchdb_server()
    except ServerNotInstalledError:
        try:
            binary = install_pouchdb_server()
        except ServerInstallError as exc:
            fail(str(exc))
    click.echo(
        f"pouchdb-server {pinned_version()} is installed: {binary}; `corduroy serve` starts it",
        err=True,
    )


def _check_url(url: str) -> None:
    import http.client

    from ..testing.server import fetch_root, redact_url

    try:
        info = fetch_root(url, timeout=10.0)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        fail(f"{redact_url(url)} does not answer as a CouchDB server: {exc}")
    what = f"CouchDB {info.get('version', '?')}" if "couchdb" in info else "not a real CouchDB"
    click.echo(url)
    click.echo(f"using {redact_url(url)} ({what}); not starting pouchdb-server", err=True)
