"""Cookbook: corduroy in Jupyter (IPython's top-level ``await``).

A notebook's kernel runs an asyncio event loop, so in a cell a corduroy call
returns an awaitable and you write ``await db.get(id)`` at the top level, with no
``async def`` around it. This file is those cells as a plain asyncio program, so
that it can be run and tested outside a notebook:

    python examples/cookbook_jupyter.py [server-url]

Each ``# In[n]:`` block is one cell; paste the body of ``cells()`` into a notebook
cell by cell (without the ``async def`` and the indentation) to run it there.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from corduroy import Status
from corduroy.aio import Couch


async def cells(url: str | None = None) -> None:
    # In[1]:
    couch = Couch(url)  # no request yet
    db = await couch.db(f"notebook-{uuid.uuid4().hex[:8]}", create_if_missing=True)
    print(db)

    # In[2]:
    await db.save([{"_id": f"run-{n}", "score": n * n} for n in range(1, 6)])
    doc = await db.get("run-3")
    print(doc)

    # In[3]: a quick table of everything
    view = await db.all_docs(include_docs=True)
    for row in view:
        assert row.doc is not None  # include_docs=True
        print(f"{row.id:8} {row.doc.score:3}")

    # In[4]: the blocking mapping forms would freeze the kernel's loop, so they refuse
    try:
        db.blocking["run-1"]  # the same database as a corduroy.Database
    except RuntimeError as exc:
        print("RuntimeError:", exc)

    # In[5]: callbacks run on the kernel's loop too
    done = asyncio.Event()

    def show(data: object, status: Status) -> None:
        print("callback:", status.ok, data)
        done.set()

    db.blocking.get("run-5", callback=show)
    await done.wait()

    # In[6]: clean up
    await couch.delete(db.name)
    await couch.aclose()


if __name__ == "__main__":
    asyncio.run(cells(sys.argv[1] if len(sys.argv) > 1 else None))
