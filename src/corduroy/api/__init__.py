"""The public methods of ``Couch`` and ``Database``, one mixin per area.

Each method builds an operation (``corduroy.ops``) and hands it to ``_run``,
which applies the calling convention; no method here does I/O itself.
"""
