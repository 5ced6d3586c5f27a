"""Databases made from urls share one Couch per server, and the module keeps only a few."""

from __future__ import annotations

import gc

from corduroy import Database
from corduroy import couch as couch_module


def test_databases_of_one_server_share_a_couch() -> None:
    assert Database("http://127.0.0.1:5999/a").couch is Database("http://127.0.0.1:5999/b").couch


def test_the_module_keeps_a_bounded_number_of_couches() -> None:
    kept = Database("http://127.0.0.1:6000/kept")
    for port in range(6001, 6041):
        Database(f"http://127.0.0.1:{port}/db")
    gc.collect()
    assert len(couch_module._shared) <= couch_module._SHARED_MAX
    assert len(couch_module._shared_alive) <= couch_module._SHARED_MAX + 2
    # one still in use is still shared, though it left the most recent ones
    assert Database("http://127.0.0.1:6000/other").couch is kept.couch
