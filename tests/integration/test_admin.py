"""Server and database administration against the session's server, in every convention."""

from __future__ import annotations

import uuid

import pytest

from conventions import CONVENTIONS, call
from corduroy import Couch, Document, Forbidden, NotFound, Unauthorized


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_config_write_read_delete(couch, convention):
    name = f"corduroy_test/key_{uuid.uuid4().hex[:8]}"
    assert call(convention, lambda **kw: couch.config(name, "one", **kw)) == ""
    assert call(convention, lambda **kw: couch.config(name, **kw)) == "one"
    assert call(convention, lambda **kw: couch.config(name, 2, **kw)) == "one"
    section = call(convention, lambda **kw: couch.config(name.split("/")[0], **kw))
    assert section[name.split("/")[1]] == "2"
    assert call(convention, lambda **kw: couch.config(name, delete=True, **kw)) == "2"
    with pytest.raises(NotFound):
        call(convention, lambda **kw: couch.config(name, **kw))


def test_config_whole_server(couch):
    everything = couch.config()
    assert "couchdb" in everything
    assert isinstance(everything["couchdb"]["uuid"], str)


def test_config_needs_an_admin(couchdb_url):
    anonymous = Couch(couchdb_url.replace("admin:secret@", ""))
    with pytest.raises(Unauthorized):
        anonymous.config("couchdb")


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_up_and_membership(couch, convention):
    assert call(convention, lambda **kw: couch.up(**kw)) is True
    nodes = call(convention, lambda **kw: couch.membership(**kw))
    assert nodes.all_nodes and set(nodes.cluster_nodes) <= set(nodes.all_nodes)


def test_stats_answers_a_mapping(couch):
    assert isinstance(couch.stats(), dict)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_up_is_false_for_a_server_that_is_not_there(convention):
    nowhere = Couch("http://127.0.0.1:9/", connect_timeout=2, retry=False)
    assert call(convention, lambda **kw: nowhere.up(**kw)) is False


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_security_objects_are_stored_and_enforced(couch, tmp_db, convention):
    name = f"member-{uuid.uuid4().hex[:8]}"
    outsider = f"outsider-{uuid.uuid4().hex[:8]}"
    couch.create_user(name, "pw-member")
    couch.create_user(outsider, "pw-outsider")
    tmp_db.save({"_id": "private", "n": 1})
    security = {"admins": {"names": [], "roles": []}, "members": {"names": [name], "roles": []}}
    assert call(convention, lambda **kw: tmp_db.security(security, **kw)) == security
    assert call(convention, lambda **kw: tmp_db.security(**kw)) == security
    base = couch.url
    member_db = Couch(base, auth=(name, "pw-member"))[tmp_db.name]
    assert member_db.get("private")["n"] == 1
    with pytest.raises((Unauthorized, Forbidden)):  # CouchDB 3: 403, pouchdb-server: 401
        Couch(base, auth=(outsider, "pw-outsider"))[tmp_db.name].get("private")


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_revs_diff_bulk_get_and_commit(tmp_db, convention):
    tmp_db.save([{"_id": "a", "n": 1}, {"_id": "b", "n": 2}])
    rev_a = tmp_db.get("a")["_rev"]
    missing_rev = "1-" + "f" * 32
    diff = call(
        convention,
        lambda **kw: tmp_db.revs_diff({"a": [rev_a, missing_rev], "zzz": [missing_rev]}, **kw),
    )
    assert diff["a"].missing == [missing_rev]
    assert diff["zzz"].missing == [missing_rev]
    rows = call(convention, lambda **kw: tmp_db.bulk_get(["a", "nope", ("b", missing_rev)], **kw))
    by_id = {row.id: row for row in rows}
    assert isinstance(by_id["a"].doc, Document) and by_id["a"].doc.n == 1
    assert (by_id["nope"].doc, by_id["nope"].error) == (None, "not_found")
    assert (by_id["b"].error, by_id["b"].rev) == ("not_found", missing_rev)
    revs = call(convention, lambda **kw: tmp_db.bulk_get(["b"], revs=True, **kw))
    assert revs[0].doc["_revisions"]["start"] == 1
    assert call(convention, lambda **kw: tmp_db.commit(**kw)).ok is True


# -- CouchDB 3 only: live checks of what the unit tests cover with recorded answers -----------


@pytest.mark.real_couchdb
def test_config_uses_the_node_path_on_couchdb(couch):
    assert couch.config("couchdb/single_node") in ("true", "false")
    assert couch._admin.node_prefix == "/_node/_local"


@pytest.mark.real_couchdb
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_partitioned_database(couch, convention):
    name = f"corduroy-part-{uuid.uuid4().hex[:10]}"
    db = call(convention, lambda **kw: couch.create(name, partitioned=True, **kw))
    try:
        assert db.info().props.partitioned is True
        db.save([{"_id": "p1:a", "n": 1}, {"_id": "p1:b", "n": 2}, {"_id": "p2:c", "n": 3}])
        db.save(
            {
                "_id": "_design/pv",
                "options": {"partitioned": True},
                "views": {"by_n": {"map": "function(doc){ emit(doc.n, doc.n); }"}},
            }
        )
        part = db.partition("p1")
        assert call(convention, lambda **kw: part.info(**kw)).doc_count == 2
        ids = [row.id for row in call(convention, lambda **kw: part.all_docs(**kw))]
        assert ids == ["p1:a", "p1:b"]
        view = call(convention, lambda **kw: part.view("pv/by_n", **kw))
        assert [row.key for row in view] == [1, 2]
        found = call(convention, lambda **kw: part.find({"n": {"$gt": 1}}, **kw))
        assert [doc["_id"] for doc in found] == ["p1:b"]
    finally:
        couch.delete(name)


@pytest.mark.real_couchdb
def test_create_with_shards_and_replicas(couch):
    name = f"corduroy-q-{uuid.uuid4().hex[:10]}"
    db = couch.create(name, q=1, n=1)
    try:
        assert db.info().cluster.q == 1
    finally:
        couch.delete(name)
