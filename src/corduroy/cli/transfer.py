"""``dump`` and ``load``: a database as JSON lines, one document per line, revisions kept.

``dump`` streams ``_all_docs?include_docs=true`` page by page (``Database.iterview``), so
memory stays flat whatever the size; each line is a document with its ``_id`` and ``_rev``
(attachments inline as base64 unless ``--no-attachments``). Only the current (winning)
revision of each live document is written: deleted documents, conflicting revisions and
``_local`` documents are not.

``load`` reads batches of lines and writes them with ``new_edits=false``: the server stores
each document under the revision it has in the file instead of making a new one. So loading
the same file twice changes nothing, and an interrupted load is resumed by running it again:
each batch first asks the server (``_revs_diff``) which revisions it lacks, and sends only
those. Lines without ``_rev`` are saved as new documents; on a re-run those that exist by
then are counted as already present.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
import orjson

from ..errors import NotFound
from .app import Settings, cli, fail, pass_settings
from .output import dumps_line

DEFAULT_BATCH = 500


@cli.command()
@click.argument("db")
@click.argument("file", required=False, metavar="[FILE]")
@click.option("--batch", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Documents per request.")  # fmt: skip
@click.option("--attachments/--no-attachments", default=True, show_default=True,
              help="Inline attachments (base64); without them they are left out.")  # fmt: skip
@pass_settings
def dump(settings: Settings, db: str, file: str | None, batch: int, attachments: bool) -> None:
    """Write every document of DB to FILE (default: stdout) as JSON lines.

    FILE is written under a temporary name and renamed when complete, so an
    interrupted dump never leaves a partial file behind.
    """
    database = settings.db(db)
    total = int(database.info().get("doc_count", 0))
    options: dict[str, Any] = {"include_docs": True}
    if attachments:
        options["attachments"] = True
    count = 0
    with _output_file(file) as out, settings.out.progress(f"dump {db}", total) as advance:
        for row in database.iterview("_all_docs", batch=batch, **options):
            doc = row.doc
            if doc is None:
                continue
            if not attachments:
                doc.pop("_attachments", None)
            out.write(dumps_line(doc))
            count += 1
            if count % 100 == 0:
                advance(100)
        advance(count % 100)
    if file is not None or sys.stdout.isatty():
        settings.out.note(f"dumped {count} documents of {db}")


@contextlib.contextmanager
def _output_file(file: str | None) -> Iterator[IO[bytes]]:
    if file is None or file == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(file)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _batches(stream: IO[bytes], size: int, where: str) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{where} line {number} is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ValueError(f"{where} line {number} is not a JSON object")
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Loader:
    """Writes batches to a database, counting what was new and what was there already."""

    def __init__(self, database: Any) -> None:
        self.db = database
        # An empty database has none of the revisions: skip asking until something was written
        # (a re-run after an interruption finds the database non-empty and asks).
        self.ask = int(database.info().get("doc_count", 0)) > 0
        self.loaded = 0
        self.present = 0

    def write(self, batch: list[dict[str, Any]]) -> None:
        with_rev = [d for d in batch if isinstance(d.get("_id"), str) and d.get("_rev")]
        without = [d for d in batch if not (isinstance(d.get("_id"), str) and d.get("_rev"))]
        if with_rev:
            todo = with_rev
            if self.ask:
                diff = self.db.revs_diff({d["_id"]: [d["_rev"]] for d in with_rev})
                lacking = {
                    (i, rev) for i, entry in diff.items() for rev in entry.get("missing", [])
                }
                todo = [d for d in with_rev if (d["_id"], d["_rev"]) in lacking]
            if todo:
                self.db.save(todo, new_edits=False)
            self.loaded += len(todo)
            self.present += len(with_rev) - len(todo)
        if without:
            outcome = self.db.save(without)
            refused = len(outcome.pending)
            self.loaded += len(without) - refused
            self.present += refused


@cli.command()
@click.argument("db")
@click.argument("file", required=False, default="-", metavar="[FILE]")
@click.option("--batch", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True,
              help="Documents per request.")  # fmt: skip
@click.option("--create/--no-create", default=True, show_default=True,
              help="Create DB if it does not exist.")  # fmt: skip
@pass_settings
def load(settings: Settings, db: str, file: str, batch: int, create: bool) -> None:
    """Write the JSON lines of FILE (default: stdin) into DB, keeping their revisions.

    Resumable: run it again after an interruption; revisions the database has
    already are skipped, so loading a file twice changes nothing.
    """
    couch = settings.couch()
    try:
        database = couch.db(db, create_if_missing=create)
    except NotFound:
        fail(f"database {db!r} does not exist (leave out --no-create to create it)")
    path = None if file == "-" else Path(file)
    total = _count_lines(path) if path is not None else None
    where = "stdin" if path is None else str(path)
    loader = _Loader(database)
    stream = sys.stdin.buffer if path is None else path.open("rb")
    try:
        with settings.out.progress(f"load {db}", total) as advance:
            for docs in _batches(stream, batch, where):
                loader.write(docs)
                advance(len(docs))
    except KeyboardInterrupt:
        fail(
            f"interrupted after {loader.loaded + loader.present} documents; "
            "run the same command again to resume"
        )
    finally:
        if path is not None:
            stream.close()
    summary = {"ok": True, "db": db, "loaded": loader.loaded, "present": loader.present}
    settings.out.done(
        f"loaded {loader.loaded} documents into {db} ({loader.present} were there already)",
        summary,
    )
