"""``replicate SRC TGT``: one-shot or continuous, optionally watched until done."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import click

from ..errors import CouchError
from ..replication import ReplicationFailed
from .app import Settings, cli, fail, pass_settings

if TYPE_CHECKING:
    from ..couch import Couch
    from ..replication import ReplicationStatus

POLL = 0.5


def _status_record(status: ReplicationStatus) -> dict[str, Any]:
    record: dict[str, Any] = {"id": status.id, "state": status.state}
    for name in ("docs_read", "docs_written", "doc_write_failures", "pending"):
        value = getattr(status, name)
        if value is not None:
            record[name] = value
    if status.error:
        record["error"] = status.error
    return record


def _source_size(couch: Couch, source: str) -> int | None:
    """The source's doc_count, for the progress bar; None when it can't be read."""
    from ..database import Database

    try:
        database = Database(source) if "://" in source else couch[source]
        return int(database.info().get("doc_count", 0))
    except (CouchError, ValueError):
        return None


@cli.command()
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="TGT")
@click.option("--continuous", is_flag=True, help="Keep replicating new changes.")
@click.option("--create-target", is_flag=True, help="Create TGT if it does not exist.")
@click.option("-w", "--watch", is_flag=True,
              help="Run it as a _replicator document; show its progress until done.")  # fmt: skip
@click.option("--id", "docid", help="The _replicator document's id (with --watch).")
@click.option("--timeout", type=float, help="With --watch: give up after this many seconds.")
@pass_settings
def replicate(
    settings: Settings,
    source: str,
    target: str,
    continuous: bool,
    create_target: bool,
    watch: bool,
    docid: str | None,
    timeout: float | None,
) -> None:
    """Replicate SRC into TGT (database names on this server, or urls).

    Without --watch the server's answer is printed (a one-shot replication answers
    when it is done). With --watch it is written to _replicator and its state is
    printed as it changes (one JSON line per change when piped) until it completes;
    a one-shot document with a generated id is then removed. A continuous one is
    watched until Ctrl-C and keeps running on the server.
    """
    couch = settings.couch()
    options: dict[str, Any] = {}
    if continuous:
        options["continuous"] = True
    if create_target:
        options["create_target"] = True
    if not watch:
        if docid is not None:
            options["_id"] = docid
        result = couch.replicate(source, target, **options)
        settings.out.done(f"replicated {source} -> {target}: {dict(result)}", dict(result))
        return
    generated = docid is None
    docid = docid or f"corduroy-cli-{uuid.uuid4().hex[:12]}"
    couch.replicate(source, target, _id=docid, **options)
    total = None if continuous else _source_size(couch, source)
    try:
        final = _watch(settings, couch, docid, total, timeout)
    except KeyboardInterrupt:
        settings.out.note(
            f"stopped watching; replication {docid!r} goes on"
            if continuous
            else f"stopped watching {docid!r}"
        )
        return
    if generated and final is not None and final.done:
        _forget(couch, docid)
    if final is not None and settings.out.pretty:  # piped, the last line printed says it
        settings.out.console.print(
            f"replication {docid}: {final.state}, {final.docs_written or 0} docs written"
        )


def _watch(
    settings: Settings, couch: Couch, docid: str, total: int | None, timeout: float | None
) -> ReplicationStatus | None:
    """Poll until completed (or forever, for a continuous one); print each change."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last: dict[str, Any] | None = None
    with settings.out.progress(f"replicate {docid}", total) as advance:
        written = 0
        while True:
            status = couch.replication(docid)
            record = _status_record(status)
            if record != last:
                if not settings.out.pretty:
                    settings.out.line(record)
                elif not settings.out.progress_enabled:
                    settings.out.console.print(f"{status.state} {status.docs_written or 0} docs")
                last = record
            if status.docs_written is not None and status.docs_written > written:
                advance(status.docs_written - written)
                written = status.docs_written
            if status.failed:
                raise ReplicationFailed(status.id, status.state, status.error)
            if status.done:
                return status
            if deadline is not None and time.monotonic() > deadline:
                fail(f"replication {docid!r} not done after {timeout} s")
            time.sleep(POLL)


def _forget(couch: Couch, docid: str) -> None:
    """Remove a completed one-shot _replicator document that the command made."""
    replicator = couch.replicator
    try:
        rev = replicator.rev(docid)
        if rev is not None:
            replicator.delete(docid, rev)
    except CouchError:
        pass
