"""Query commands: view, find, changes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click
import orjson

from .app import Settings, cli, pass_settings

if TYPE_CHECKING:
    from ..views import Row


def json_or_string(value: str | None) -> Any:
    """A key given on the command line: JSON if it parses (``2007``, ``["a",1]``,
    ``"quoted"``), else the plain string."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def _json_param(what: str) -> Any:
    def convert(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise click.BadParameter(f"{what} must be JSON: {exc}") from None

    return convert


def _row_record(row: Row, include_docs: bool) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if row.id is not None:
        record["id"] = row.id
    record["key"] = row.key
    record["value"] = row.value
    if include_docs:
        record["doc"] = row.doc
    if row.error is not None:
        record["error"] = row.error
    return record


@cli.command()
@click.argument("db")
@click.argument("name", metavar="DDOC/VIEW")
@click.option("--key", help="Only rows with this key (JSON, or a plain string).")
@click.option("--keys", callback=_json_param("--keys"), help="Only these keys (a JSON list).")
@click.option("--startkey", help="First key (JSON, or a plain string).")
@click.option("--endkey", help="Last key (JSON, or a plain string).")
@click.option("--limit", type=click.IntRange(min=0), help="At most this many rows.")
@click.option("--skip", type=click.IntRange(min=0), help="Skip this many rows first.")
@click.option("--descending", is_flag=True, help="Highest keys first.")
@click.option("--reduce/--no-reduce", default=None, help="Run the view's reduce (default: yes).")
@click.option("--group", is_flag=True, help="Reduce per distinct key.")
@click.option("--group-level", type=click.IntRange(min=0), help="Reduce per key prefix.")
@click.option("--include-docs", is_flag=True, help="Add each row's document.")
@click.option("--exclusive-end", is_flag=True, help="Leave out rows with the end key.")
@pass_settings
def view(
    settings: Settings,
    db: str,
    name: str,
    key: str | None,
    keys: Any,
    startkey: str | None,
    endkey: str | None,
    limit: int | None,
    skip: int | None,
    descending: bool,
    reduce: bool | None,
    group: bool,
    group_level: int | None,
    include_docs: bool,
    exclusive_end: bool,
) -> None:
    """Query view DDOC/VIEW of DB (or _all_docs); one row per line when piped.

    Keys are JSON when they parse as JSON (2007, ["2007","11"], "quoted") and plain
    strings otherwise (abbott).
    """
    options: dict[str, Any] = {}
    for option, value in (("key", key), ("startkey", startkey), ("endkey", endkey)):
        if value is not None:
            options[option] = json_or_string(value)
    if keys is not None:
        if not isinstance(keys, list):
            raise click.BadParameter("--keys must be a JSON list", param_hint="--keys")
        options["keys"] = keys
    extra: dict[str, Any] = {
        "limit": limit,
        "skip": skip,
        "reduce": reduce,
        "group_level": group_level,
    }
    options.update({k: v for k, v in extra.items() if v is not None})
    flags = {"descending": descending, "group": group, "include_docs": include_docs}
    options.update({name: True for name, given in flags.items() if given})
    if exclusive_end:
        options["inclusive_end"] = False
    rows = settings.db(db).view(name, stream=True, **options)
    with rows:
        records = (_row_record(row, include_docs) for row in rows)
        columns = ["id", "key", "value", *(["doc"] if include_docs else [])]
        settings.out.records(records, columns, title=f"{db}/{name}")


@cli.command()
@click.argument("db")
@click.argument("selector", callback=_json_param("SELECTOR"))
@click.option("--fields", help="Comma-separated fields to return.")
@click.option("--sort", "sort", callback=_json_param("--sort"), help='JSON, e.g. [{"age":"desc"}].')
@click.option("--limit", type=click.IntRange(min=0), help="At most this many documents.")
@click.option("--skip", type=click.IntRange(min=0), help="Skip this many first.")
@click.option("--batch", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Documents per request.")  # fmt: skip
@pass_settings
def find(
    settings: Settings,
    db: str,
    selector: Any,
    fields: str | None,
    sort: Any,
    limit: int | None,
    skip: int | None,
    batch: int,
) -> None:
    """Mango query: the documents of DB matching SELECTOR (JSON), one per line when piped.

    Example: corduroy find people '{"age": {"$gt": 30}}' --fields _id,name
    """
    if not isinstance(selector, dict):
        raise click.BadParameter("must be a JSON object", param_hint="SELECTOR")
    field_list = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    docs = settings.db(db).iterfind(
        selector, fields=field_list, sort=sort, limit=limit, skip=skip, batch=batch
    )
    columns = field_list or ["_id", "_rev"]
    settings.out.records(docs, columns, title=f"{db} {orjson.dumps(selector).decode()}")


def _change_record(change: Any) -> dict[str, Any]:
    return dict(change)


@cli.command()
@click.argument("db")
@click.option("--since", default="0", show_default=True,
              help='Start after this seq ("now": only new changes).')  # fmt: skip
@click.option("-f", "--follow", is_flag=True, help="Keep listening (Ctrl-C stops).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many changes.")
@click.option("--include-docs", is_flag=True, help="Add each changed document.")
@click.option("--filter", "filter_", metavar="DDOC/NAME", help="A filter function.")
@pass_settings
def changes(
    settings: Settings,
    db: str,
    since: str,
    follow: bool,
    limit: int | None,
    include_docs: bool,
    filter_: str | None,
) -> None:
    """The changes of DB since --since, one per line when piped.

    With --follow the feed stays open and prints changes as they happen, one line
    each, until Ctrl-C (exit code 0); it reconnects by itself after a dropped
    connection, missing nothing.
    """
    options: dict[str, Any] = {"since": json_or_string(since)}
    if limit is not None:
        options["limit"] = limit
    if include_docs:
        options["include_docs"] = True
    if filter_:
        options["filter"] = filter_
    database = settings.db(db)
    if not follow:
        result = database.changes(**options)
        columns = ["seq", "id", "changes", "deleted"]
        settings.out.records((_change_record(c) for c in result.results), columns)
        settings.out.note(f"last_seq {orjson.dumps(result.last_seq).decode()}")
        return
    feed = database.changes(feed="continuous", **options)
    try:
        for change in _follow(feed):
            if settings.out.pretty:
                settings.out.console.print(_change_line(change))
            else:
                settings.out.line(_change_record(change))
    except KeyboardInterrupt:
        settings.out.note(f"stopped at seq {orjson.dumps(feed.last_seq).decode()}")
    finally:
        feed.close()


def _follow(feed: Any) -> Iterator[Any]:
    yield from feed


def _change_line(change: Any) -> str:
    revs = ",".join(c.get("rev", "") for c in change.get("changes", []))
    deleted = " (deleted)" if change.get("deleted") else ""
    return f"{change.get('seq')}  {change.get('id')}  {revs}{deleted}"
