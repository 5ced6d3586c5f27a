"""docs/testing.md: a user's project that only installs corduroy gets the fixtures through the
``pytest11`` entry point (no conftest, no import), and the page's example test file passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corduroy import Couch

ROOT = Path(__file__).resolve().parents[2]


def example_test_file() -> str:
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    found = re.search(r'^```python title="tests/test_people.py"\n(.*?)^```', text, re.M | re.S)
    assert found is not None
    return found.group(1)


def test_the_documented_example_passes_in_a_project_without_conftest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, couchdb_url: str, couch: Couch
) -> None:
    monkeypatch.setenv("COUCHDB_URL", couchdb_url)  # the session's server, not a second one
    pytester.makepyfile(test_people=example_test_file())
    pytester.makepyfile(
        test_leftovers="""
        def test_names(couch, tmp_db, couchdb_url, couchdb_server):
            assert couchdb_server is None  # COUCHDB_URL given: no embedded server
            assert tmp_db.name.startswith("corduroy-test-")
            print("TMP_DB", tmp_db.name)
        """
    )
    assert not list(pytester.path.glob("conftest.py"))
    before = set(couch.all_dbs())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=4)
    made = re.findall(r"TMP_DB (corduroy-test-[0-9a-f]{12})", result.stdout.str())
    assert len(made) == 1
    assert made[0] not in couch.all_dbs()
    assert set(couch.all_dbs()) - before == set()  # every tmp_db was deleted
    assert "secret" not in result.stdout.str()


def test_without_the_plugin_there_are_no_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs(tmp_db):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:corduroy")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'tmp_db' not found*"])
