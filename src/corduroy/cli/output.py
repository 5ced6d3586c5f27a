"""What the ``corduroy`` command prints: JSON when piped, tables and progress bars on a terminal.

Piped (stdout is not a terminal, or ``--json``): one object is one line of JSON, a collection
is JSON lines (one item per line), nothing else goes to stdout. On a terminal: tables and
readable messages through rich. Progress bars go to stderr, and only when stderr is a
terminal, so ``corduroy dump db > file`` still shows one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Output", "dumps_line"]


def dumps_line(value: Any) -> bytes:
    """``value`` as one line of JSON, newline included (keys keep their order)."""
    return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)


_MISSING: Any = object()


def _cell(value: Any) -> str:
    """A table cell: a string as it is, any other JSON value as JSON (so ``None`` is
    ``null``); an absent field is an empty cell."""
    if value is _MISSING:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def count_cell(completed: float, total: float | None, unit: str = "docs") -> str:
    """The "done/total" cell of a progress bar (just "done" when the total is unknown)."""
    if total is None:
        return f"{completed:.0f} {unit}"
    return f"{completed:.0f}/{total:.0f} {unit}"


def rate_cell(per_second: float | None) -> str:
    """The "rate" cell of a progress bar."""
    return "-" if per_second is None else f"{per_second:.0f}/s"


class Output:
    """The printing side of one command run."""

    def __init__(self, force_json: bool = False) -> None:
        self.pretty = not force_json and sys.stdout.isatty()
        self.progress_enabled = sys.stderr.isatty()
        self._console: Console | None = None
        self._err_console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False)
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(stderr=True, highlight=False)
        return self._err_console

    # -- data --------------------------------------------------------------------------------

    def line(self, value: Any) -> None:
        """One JSON line to stdout, flushed (for streams such as ``changes --follow``)."""
        out = sys.stdout.buffer
        out.write(dumps_line(value))
        out.flush()

    def object(self, value: Mapping[str, Any], title: str | None = None) -> None:
        """One object: a JSON line, or pretty JSON with a title on a terminal."""
        if not self.pretty:
            self.line(value)
            return
        if title:
            self.console.print(f"[bold]{title}[/bold]")
        self.console.print_json(orjson.dumps(value).decode())

    def records(
        self,
        items: Iterable[Mapping[str, Any]],
        columns: Sequence[str],
        title: str | None = None,
    ) -> int:
        """JSON lines, or on a terminal a table of ``columns``; returns how many items."""
        if not self.pretty:
            return self._raw_lines(items)
        from rich.table import Table

        table = Table(*columns, title=title, title_justify="left")
        count = 0
        for item in items:
            table.add_row(*(_cell(item.get(name, _MISSING)) for name in columns))
            count += 1
        self.console.print(table)
        self.note(f"{count} row{'s' if count != 1 else ''}")
        return count

    def values(self, items: Iterable[Any], column: str) -> int:
        """A list of plain values: JSON lines, or a one-column table on a terminal."""
        if self.pretty:
            return self.records(({column: item} for item in items), [column])
        return self._raw_lines(items)

    def _raw_lines(self, items: Iterable[Any]) -> int:
        count = 0
        out = sys.stdout.buffer
        for item in items:
            out.write(dumps_line(item))
            count += 1
        out.flush()
        return count

    # -- messages ----------------------------------------------------------------------------

    def done(self, message: str, result: Mapping[str, Any]) -> None:
        """A command's outcome: ``message`` on a terminal, ``result`` as JSON when piped."""
        if self.pretty:
            self.console.print(message)
        else:
            self.line(result)

    def note(self, message: str) -> None:
        """A side remark for people: stderr, only when stderr is a terminal."""
        if self.progress_enabled:
            self.err_console.print(f"[dim]{message}[/dim]")

    # -- progress ----------------------------------------------------------------------------

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr (a terminal only); yields ``advance(n)``."""
        if not self.progress_enabled:
            yield lambda n: None
            return
        from rich.progress import (
            BarColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.table import Column
        from rich.text import Text

        class Counts(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(count_cell(task.completed, task.total))

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(rate_cell(task.speed))

        class LabelledProgress(Progress):
            """A progress bar under a header row naming its figures."""

            def make_tasks_table(self, tasks: Any) -> Any:
                table = super().make_tasks_table(tasks)
                table.show_header = True
                table.header_style = "dim"
                return table

        def heading(label: str) -> Column:
            return Column(header=label, justify="right", no_wrap=True)

        columns = (
            TextColumn("{task.description}", table_column=Column(no_wrap=True)),
            BarColumn(),
            Counts(table_column=heading("done/total")),
            Rate(table_column=heading("rate")),
            TimeElapsedColumn(table_column=heading("elapsed")),
            TimeRemainingColumn(table_column=heading("remaining")),
        )
        with LabelledProgress(*columns, console=self.err_console, refresh_per_second=8) as bar:
            task = bar.add_task(description, total=total)

            def advance(n: int) -> None:
                bar.advance(task, n)

            yield advance
