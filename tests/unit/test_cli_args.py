"""The command line's pure parts: the group's options after the command, table cells,
progress-bar figures."""

from __future__ import annotations

import pytest

pytest.importorskip("click")

from corduroy.cli.app import hoist_global_options
from corduroy.cli.output import _MISSING, _cell, count_cell, rate_cell


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["view", "db", "d/v", "--json"], ["--json", "view", "db", "d/v"]),
        (
            ["--url", "U", "view", "db", "--key", "k", "-u", "bob", "-v"],
            ["--url", "U", "-u", "bob", "-v", "view", "db", "--key", "k"],
        ),
        (["dbs", "--url=http://h/", "-p"], ["--url=http://h/", "-p", "dbs"]),
        (["ddoc", "push", "db", "dir", "--verbose"], ["--verbose", "ddoc", "push", "db", "dir"]),
        (["get", "db", "--", "--json"], ["get", "db", "--", "--json"]),  # after --: arguments
        (["--json", "dbs"], ["--json", "dbs"]),
        (["--help"], ["--help"]),
        (["dbs", "--url"], ["--url", "dbs"]),  # click then says --url needs a value
    ],
)
def test_hoist_global_options(args: list[str], expected: list[str]) -> None:
    assert hoist_global_options(args) == expected


def test_cells_null_is_null_and_absent_is_blank() -> None:
    assert _cell(None) == "null"
    assert _cell(_MISSING) == ""
    assert _cell("text") == "text"
    assert _cell(["2007", 1]) == '["2007",1]'
    assert _cell(False) == "false"


def test_progress_figures() -> None:
    assert count_cell(120, 3000) == "120/3000 docs"
    assert count_cell(120, None) == "120 docs"
    assert rate_cell(None) == "-"
    assert rate_cell(1520.4) == "1520/s"
