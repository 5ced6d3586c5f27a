"""The ``corduroy`` command line."""
