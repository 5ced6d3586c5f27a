"""Eventual consistency against the live server, in every calling convention."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conventions import CONVENTIONS, call
from corduroy import Conflict, ConflictResolution, Database, Document, NotFound

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# What the guide prints in "Eventual Consistency" (Python 2's print puts two
# spaces after 'pre-merge: ', as Python 3's print() does).
GUIDE_OUTPUT = """\
<Success: 2 docs updated>
<Conflict: second>
pre-merge:  1
post-merge: 0
"""


def copy_rev(local: Document, server: Document | None) -> Document:
    assert server is not None
    local._rev = server._rev
    return local


def add_one(local: Document, server: Document | None) -> Document:
    assert server is not None
    server.n += 1
    return server


def test_guide_example_prints_what_the_guide_prints(
    tmp_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import guide_conflicts
    finally:
        sys.path.remove(str(EXAMPLES))
    guide_conflicts.main(tmp_db)
    assert capsys.readouterr().out == GUIDE_OUTPUT
    # the last example forced the local version over the server's
    assert [d["n"] for d in tmp_db.get(["first", "second"])] == [1, 2]  # type: ignore[index]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_save_reports_conflicts_and_resolve_merges_them(tmp_db: Database, convention: str) -> None:
    docs: list[dict[str, Any]] = [{"_id": "first", "n": 1}, {"_id": "second", "n": 2}]
    result = call(convention, lambda **kw: tmp_db.save(docs, **kw))
    assert repr(result) == "<Success: 2 docs updated>"
    assert result.resolved["first"] is docs[0] and docs[0]["_rev"].startswith("1-")

    del docs[1]["_rev"]
    docs[1]["n"] = 20
    result = call(convention, lambda **kw: tmp_db.save(docs, **kw))
    assert repr(result) == "<Conflict: second>"
    pending = result.pending["second"]
    assert (pending.doc is docs[1], pending.error) == (True, "conflict")
    assert pending.reason.startswith("Document update conflict")
    assert docs[0]["_rev"].startswith("2-")

    again = call(convention, lambda **kw: result.resolve(copy_rev, **kw))
    assert again is result and repr(result) == "<Success: 2 docs updated>"
    assert result.resolved["second"] is docs[1] and docs[1]["_rev"].startswith("2-")
    assert tmp_db.get("second").n == 20


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_save_with_merge_resolves_at_once(tmp_db: Database, convention: str) -> None:
    tmp_db.save([{"_id": "a", "n": 10}, {"_id": "b", "n": 20}])
    stale = [{"_id": "a", "_rev": "1-0", "n": 1}, {"_id": "b", "n": 1}]
    result = call(convention, lambda **kw: tmp_db.save(stale, merge=add_one, **kw))
    assert isinstance(result, ConflictResolution) and not result.pending
    assert [d["n"] for d in stale] == [11, 21]  # the caller's dicts hold what was written
    assert [tmp_db.get(i) for i in "ab"] == stale


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_merge_returning_none_leaves_the_doc_pending(tmp_db: Database, convention: str) -> None:
    tmp_db.save({"_id": "a", "n": 1})
    mine = [{"_id": "a", "n": 5}]
    result = call(convention, lambda **kw: tmp_db.save(mine, merge=lambda l_, s_: None, **kw))
    assert repr(result) == "<Conflict: a>" and mine == [{"_id": "a", "n": 5}]
    assert tmp_db.get("a").n == 1


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_force_and_overwrite_write_the_local_version(tmp_db: Database, convention: str) -> None:
    tmp_db.save([{"_id": "a", "v": "server"}, {"_id": "b", "v": "server"}])
    forced = [{"_id": "a", "v": "mine"}]
    assert call(convention, lambda **kw: tmp_db.save(forced, force=True, **kw)).ok
    later = tmp_db.save([{"_id": "b", "v": "mine"}])
    assert repr(later) == "<Conflict: b>"
    call(convention, lambda **kw: later.overwrite(**kw))
    assert [tmp_db.get(i).v for i in "ab"] == ["mine", "mine"]
    assert later.ok and later.resolved["b"]["_rev"].startswith("2-")


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_one_document(tmp_db: Database, convention: str) -> None:
    tmp_db.save({"_id": "a", "n": 1})
    with pytest.raises(Conflict):
        call(convention, lambda **kw: tmp_db.save({"_id": "a", "n": 7}, **kw))
    mine = {"_id": "a", "n": 7}
    result = call(convention, lambda **kw: tmp_db.save(mine, merge=add_one, **kw))
    assert repr(result) == "<Success: 1 doc updated>" and mine["n"] == 2
    with pytest.raises(Conflict):
        call(convention, lambda **kw: tmp_db.save({"_id": "a"}, merge=lambda l_, s_: None, **kw))
    theirs = {"_id": "a", "n": 100}
    call(convention, lambda **kw: tmp_db.save(theirs, force=True, **kw))
    assert tmp_db.get("a").n == 100 and tmp_db.get("a")._rev == theirs["_rev"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_conflicted_save_raises_conflict_carrying_its_resolution(
    tmp_db: Database, convention: str
) -> None:
    tmp_db.save({"_id": "a", "n": 1})
    mine = {"_id": "a", "n": 7}
    with pytest.raises(Conflict) as raised:
        call(convention, lambda **kw: tmp_db.save(mine, **kw))
    exc = raised.value
    assert isinstance(exc.resolution, ConflictResolution)
    assert list(exc.pending) == ["a"] and exc.pending["a"].doc is mine
    assert repr(exc.resolution) == "<Conflict: a>"
    done = call(convention, lambda **kw: exc.resolve(add_one, **kw))
    assert done is exc.resolution and done.ok and tmp_db.get("a").n == 2
    with pytest.raises(Conflict) as again:
        call(convention, lambda **kw: tmp_db.save({"_id": "a", "n": 9}, **kw))
    call(convention, lambda **kw: again.value.overwrite(**kw))
    assert tmp_db.get("a").n == 9 and not again.value.pending
    assert list(again.value.resolved) == ["a"]
    listed = call(convention, lambda **kw: tmp_db.save([{"_id": "a", "n": 0}], **kw))
    assert isinstance(listed, ConflictResolution) and list(listed.pending) == ["a"]


def test_a_conflicted_save_with_callback_gives_the_resolution_as_data(tmp_db: Database) -> None:
    tmp_db.save({"_id": "a", "n": 1})
    got: list[Any] = []

    async def main() -> None:
        replica = tmp_db.save({"_id": "a", "n": 7}, callback=lambda *args: got.append(args))
        await replica

    asyncio.run(main())
    ((data, status),) = got
    assert status.error is Conflict and isinstance(status.exception, Conflict)
    assert isinstance(data, ConflictResolution) and list(data.pending) == ["a"]
    assert data is status.exception.resolution
    assert status.body["error"] == "conflict"  # the server's answer stays in status.body


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_delete_stale_raises_and_delete_many_reports(tmp_db: Database, convention: str) -> None:
    docs: list[dict[str, Any]] = [{"_id": "a"}, {"_id": "b"}]
    tmp_db.save(docs)
    stale = [dict(d) for d in docs]
    tmp_db.save(docs)  # now at 2-
    with pytest.raises(Conflict):
        call(convention, lambda **kw: tmp_db.delete(stale[0], **kw))
    result = call(convention, lambda **kw: tmp_db.delete([docs[0], stale[1]], **kw))
    assert repr(result) == "<Conflict: b>" and docs[0]["_rev"].startswith("3-")
    assert tmp_db.get(["a", "b"])[0] is None


def eventually_readable(db: Database, docid: str) -> Document:
    deadline = time.monotonic() + 30
    while True:
        try:
            return db.get(docid)
        except NotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_batch_ok_and_new_edits_false(tmp_db: Database, convention: str) -> None:
    doc = {"_id": "batched", "x": 1}
    result = call(convention, lambda **kw: tmp_db.save(doc, batch="ok", **kw))
    assert list(result.resolved) == ["batched"]
    # CouchDB 3 writes it after answering 202 (a read at once is a 404): it is promised
    # to land, not to be readable at once
    assert eventually_readable(tmp_db, "batched").x == 1
    branch = [{"_id": "r", "_rev": "3-abc", "v": "replicated"}]
    result = call(convention, lambda **kw: tmp_db.save(branch, new_edits=False, **kw))
    assert result.ok and tmp_db.get("r")._rev == "3-abc"


def make_leaf_conflict(db: Database, docid: str) -> list[str]:
    """Two branches of one document, as replication makes them: ``new_edits=False``."""
    db.save([{"_id": docid, "_rev": "1-aaaa", "tags": ["base"]}], new_edits=False)
    db.save(
        [
            {"_id": docid, "_rev": "2-bbbb", "tags": ["base", "from-b"],
             "_revisions": {"start": 2, "ids": ["bbbb", "aaaa"]}},
            {"_id": docid, "_rev": "2-cccc", "tags": ["base", "from-c"],
             "_revisions": {"start": 2, "ids": ["cccc", "aaaa"]}},
        ],
        new_edits=False,
    )  # fmt: skip
    return ["2-bbbb", "2-cccc"]


def union_tags(acc: Document, leaf: Document | None) -> Document:
    assert leaf is not None
    acc.tags = sorted(set(acc.tags) | set(leaf.tags))
    return acc


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_leaf_conflicts_are_listed_and_resolved(tmp_db: Database, convention: str) -> None:
    make_leaf_conflict(tmp_db, "one")
    assert call(convention, lambda **kw: tmp_db.conflicts("one", **kw)) == ["2-bbbb"]
    result = call(convention, lambda **kw: tmp_db.resolve_leaves("one", union_tags, **kw))
    assert repr(result) == "<Success: 1 doc updated>"
    assert result.resolved["one"]["_rev"].startswith("3-")
    doc = tmp_db.get("one")
    assert doc.tags == ["base", "from-b", "from-c"] and doc._rev == result.resolved["one"]._rev
    assert tmp_db.conflicts("one") == []


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_leaf_conflicts_of_many_docs(tmp_db: Database, convention: str) -> None:
    for docid in ("x", "y"):
        make_leaf_conflict(tmp_db, docid)
    tmp_db.save({"_id": "calm", "tags": []})
    ids = ["x", "y", "calm"]
    result = call(convention, lambda **kw: tmp_db.resolve_leaves(ids, union_tags, **kw))
    assert sorted(result.resolved) == ["x", "y"] and not result.pending
    assert [tmp_db.conflicts(i) for i in ids] == [[], [], []]
    assert tmp_db.get("y").tags == ["base", "from-b", "from-c"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_copy_and_revisions(tmp_db: Database, convention: str) -> None:
    source: dict[str, Any] = {"_id": "src", "v": 1}
    tmp_db.save(source)
    made = call(convention, lambda **kw: tmp_db.copy("src", "dst", **kw))
    assert made.id == "dst" and made.rev == tmp_db.get("dst")._rev
    with pytest.raises(Conflict):
        call(convention, lambda **kw: tmp_db.copy("src", "dst", **kw))
    first_rev = source["_rev"]
    source["v"] = 2
    tmp_db.save(source)
    dest = {"_id": "dst", "_rev": made.rev}
    call(convention, lambda **kw: tmp_db.copy(source, dest, **kw))
    assert tmp_db.get("dst").v == 2 and dest["_rev"].startswith("2-")
    call(convention, lambda **kw: tmp_db.copy("src", "old", rev=first_rev, **kw))
    assert tmp_db.get("old").v == 1
    revs = call(convention, lambda **kw: tmp_db.revisions("src", **kw))
    assert [(r.rev, r.status) for r in revs] == [
        (source["_rev"], "available"),
        (first_rev, "available"),
    ]


class ItemsOnly:
    """A document-like object that is no Mapping, only has ``.items()`` (as the
    original corduroy's copy() accepted)."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def items(self) -> Any:
        return self.fields.items()

    def __setitem__(self, name: str, value: Any) -> None:
        self.fields[name] = value


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_copy_takes_any_object_with_items(tmp_db: Database, convention: str) -> None:
    tmp_db.save({"_id": "src", "v": 1})
    target: dict[str, Any] = {"_id": "dst", "v": 0}
    tmp_db.save(target)
    source = ItemsOnly(_id="src")
    dest = ItemsOnly(_id="dst", _rev=target["_rev"])
    made = call(convention, lambda **kw: tmp_db.copy(source, dest, **kw))  # type: ignore[arg-type]
    assert made.id == "dst" and dest.fields["_rev"] == made.rev == tmp_db.get("dst")._rev
    assert tmp_db.get("dst").v == 1
    fresh = call(convention, lambda **kw: tmp_db.copy(source, ItemsOnly(_id="new"), **kw))  # type: ignore[arg-type]
    assert fresh.id == "new" and tmp_db.get("new").v == 1


@pytest.mark.real_couchdb
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_purge_on_real_couchdb(tmp_db: Database, convention: str) -> None:
    doc: dict[str, Any] = {"_id": "purgeme"}
    tmp_db.save(doc)
    result = call(convention, lambda **kw: tmp_db.purge(doc, **kw))
    assert result.purged == {"purgeme": [doc["_rev"]]}
    assert tmp_db.rev("purgeme") is None and tmp_db.get(["purgeme"]) == [None]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_resolve_with_nothing_pending_answers_at_once(tmp_db: Database, convention: str) -> None:
    result = tmp_db.save([{"_id": "a"}])
    assert call(convention, lambda **kw: result.resolve(copy_rev, **kw)) is result
    assert repr(result) == "<Success: 1 doc updated>"
