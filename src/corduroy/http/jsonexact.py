"""JSON with integers of any size kept exact, on top of orjson.

orjson encodes integers only within 64 bits (it raises beyond) and decodes
larger integer literals as floats, losing digits. CouchDB keeps big integers
as they were written, so corduroy does too:

* :func:`exact_ints` replaces integers beyond 64 bits with ``orjson.Fragment``
  holding their digits, for encoding;
* :func:`loads` decodes with orjson, and again with the standard library's
  exact parser when the text holds a run of 19 or more digits (the only way
  an integer outside orjson's range can be written).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["exact_ints", "has_long_digit_run", "loads"]

_DIGITS_TABLE = bytes(0x39 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_RUN = b"9" * 19
_LOW, _HIGH = -(2**63), 2**64 - 1


def has_long_digit_run(data: bytes) -> bool:
    """True if ``data`` holds 19 digits in a row (cheap: two C passes)."""
    return len(data) >= 19 and data.translate(_DIGITS_TABLE).find(_RUN) >= 0


#: bodies at least this large are decoded with the garbage collector paused
_PAUSE_GC_AT = 64 * 1024


def _orjson_loads(data: bytes | bytearray | memoryview | str) -> Any:
    """``orjson.loads``; for a large body with the collector paused.

    Decoding builds many containers at once, which triggers collections that
    find nothing to free (DESIGN.md section 5 measured 2.3x on a big decode).
    """
    if len(data) < _PAUSE_GC_AT or not gc.isenabled():
        return orjson.loads(data)
    gc.disable()
    try:
        return orjson.loads(data)
    finally:
        gc.enable()


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON like ``orjson.loads``, keeping integers beyond 64 bits exact."""
    value = _orjson_loads(data)
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if has_long_digit_run(raw):
        return json.loads(raw)
    return value


def _is_big(value: Any) -> bool:
    return type(value) is int and not (_LOW <= value <= _HIGH)


def exact_ints(value: Any) -> Any:
    """``value`` with every integer orjson cannot encode turned into a ``Fragment``.

    Containers holding one are copied; everything else is returned as it is.
    """
    if type(value) is int:
        return orjson.Fragment(str(value).encode()) if _is_big(value) else value
    if isinstance(value, Mapping):
        changed = {key: exact_ints(item) for key, item in value.items()}
        if any(changed[key] is not item for key, item in value.items()):
            return changed
        return value
    if isinstance(value, list | tuple):
        items = [exact_ints(item) for item in value]
        if any(new is not old for new, old in zip(items, value, strict=True)):
            return items
        return value
    return value
