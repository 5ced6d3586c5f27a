"""``Document`` and ``AttrDict``: the guide's repr, attribute access, lazy nesting."""

from __future__ import annotations

import pickle

import pytest

from corduroy import AttrDict, Document


def test_repr_of_the_guide_after_an_edit() -> None:
    ollie = Document(
        _id="lackey-129",
        _rev="1-967a00dff5e02add41819138abb3284d",
        first="Oliver",
        last="Reeder",
        office="Richmond Terrace",
    )
    assert repr(ollie) == (
        '<Document lackey-129[1] {first:"Oliver", last:"Reeder", office:"Richmond Terrace"}>'
    )
    del ollie.office
    ollie.education = "Oxbridge"
    ollie._rev = "2-0348cd6cc49cb4cacdb9b94c87c83808"
    assert repr(ollie) == (
        '<Document lackey-129[2] {first:"Oliver", last:"Reeder", education:"Oxbridge"}>'
    )
    assert str(ollie) == repr(ollie)


def test_repr_of_the_guide_with_a_boolean() -> None:
    claire = Document(
        {
            "_id": "ballentine",
            "_rev": "9-5f0e3c0b8e7a4c6b9d2a1f3e4d5c6b7a",
            "first": "Claire",
            "last": "Ballentine",
            "highly_regarded": True,
        }
    )
    assert repr(claire) == (
        '<Document ballentine[9] {first:"Claire", last:"Ballentine", highly_regarded:True}>'
    )


def test_repr_with_a_multi_digit_revision_and_nested_values() -> None:
    doc = Document(
        _id="emp-2c9792a3", _rev="5932-abc", first="Hugh", tags=["a", 1], loc={"x": None}
    )
    assert repr(doc) == (
        '<Document emp-2c9792a3[5932] {first:"Hugh", tags:["a", 1], loc:{x:None}}>'
    )


def test_repr_of_a_new_document() -> None:
    assert repr(Document(first="Angela")) == '<Document {first:"Angela"}>'
    new = Document(_id="lackey-130", last="Heaney")
    assert repr(new) == '<Document lackey-130 {last:"Heaney"}>'
    assert repr(Document()) == "<Document {}>"


def test_repr_escapes_strings_like_json() -> None:
    doc = Document(_id="q", quote='say "hi"\n', uni="✓")
    assert repr(doc) == '<Document q {quote:"say \\"hi\\"\\n", uni:"✓"}>'


def test_repr_of_a_long_document_is_truncated() -> None:
    doc = Document(_id="big", _rev="3-x", **{f"field{i}": "v" * 10 for i in range(50)})
    text = repr(doc)
    assert text.startswith('<Document big[3] {field0:"vvvvvvvvvv", field1:')
    assert text.endswith(", ...}>")
    assert len(text) < 120
    assert "field49" not in text


def test_repr_shows_one_field_even_if_it_is_long() -> None:
    doc = Document(_id="essay", text="w" * 500)
    text = repr(doc)
    assert text.startswith('<Document essay {text:"www')
    assert "..." not in text  # the first field is shown whole


def test_repr_hides_underscore_fields() -> None:
    doc = Document(_id="a", _rev="1-x", _attachments={"f": {}}, _deleted=True, n=1)
    assert repr(doc) == "<Document a[1] {n:1}>"


def test_attribute_get_set_del() -> None:
    doc = Document({"_id": "lackey-130", "first": "Angela"})
    assert doc._id == "lackey-130" and doc.first == "Angela"
    doc.last = "Heaney"
    assert doc["last"] == "Heaney"
    del doc.first
    assert "first" not in doc
    assert dict(doc) == {"_id": "lackey-130", "last": "Heaney"}


def test_missing_attribute_is_an_attribute_error_naming_it() -> None:
    doc = Document(_id="x")
    with pytest.raises(AttributeError, match="'office'"):
        _ = doc.office
    with pytest.raises(AttributeError, match="'office'"):
        del doc.office
    assert getattr(doc, "office", "default") == "default"
    assert not hasattr(doc, "office")


def test_dict_methods_win_over_fields() -> None:
    doc = Document(keys="mine", items=3)
    assert callable(doc.keys) and doc["keys"] == "mine"


def test_dunder_lookups_are_not_fields() -> None:
    doc = Document(__weird__=1)
    assert not hasattr(doc, "__weird__")
    assert doc["__weird__"] == 1


def test_nested_dicts_are_converted_lazily() -> None:
    inner = {"city": "London", "geo": {"lat": 51.5}}
    doc = Document(_id="x", address=inner, tags=[{"k": 1}, "plain"])
    assert type(dict.__getitem__(doc, "address")) is dict  # not converted up front
    assert doc.address.city == "London"
    assert type(dict.__getitem__(doc, "address")) is AttrDict  # converted once, kept
    assert doc.address.geo.lat == 51.5
    assert doc["address"] is doc.address  # the same object on every access
    doc.address.city = "Leeds"
    assert doc["address"]["city"] == "Leeds"
    assert doc.tags[0].k == 1 and doc.tags[1] == "plain"


def test_nested_objects_through_get() -> None:
    doc = Document(newsnight={"paxman": 1, "swain": 0})
    assert doc.get("newsnight").paxman == 1
    assert doc.get("missing") is None and doc.get("missing", 5) == 5


def test_key_order_is_preserved() -> None:
    keys = ["zeta", "alpha", "_id", "mu", "beta"]
    doc = Document((k, i) for i, k in enumerate(keys))
    doc.omega = 9
    assert list(doc) == [*keys, "omega"]
    assert list(Document(doc)) == [*keys, "omega"]


def test_document_is_a_dict_and_compares_like_one() -> None:
    doc = Document(_id="a", n=1)
    assert isinstance(doc, dict)
    assert doc == {"_id": "a", "n": 1}
    copy = pickle.loads(pickle.dumps(doc))
    assert type(copy) is Document and copy == doc


def test_dir_lists_the_fields() -> None:
    assert {"first", "last"} <= set(dir(Document(first="a", last="b")))


def test_attrdict_repr() -> None:
    assert repr(AttrDict(a=1)) == "AttrDict({'a': 1})"
