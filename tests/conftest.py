"""Shared test configuration.

The fixtures (``couchdb_url``, ``couchdb_server``, ``couch``, ``tmp_db``) and the
``real_couchdb`` marker come from the corduroy pytest plugin (``corduroy.testing.plugin``),
which pytest loads through the ``pytest11`` entry point once corduroy is installed
(``make venv``). Set ``COUCHDB_URL`` to run against a real CouchDB instead of the embedded
pouchdb-server.
"""

pytest_plugins = ["pytester"]
