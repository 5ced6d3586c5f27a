"""Testing helpers: an embedded CouchDB stand-in (pouchdb-server) and the pytest plugin."""
