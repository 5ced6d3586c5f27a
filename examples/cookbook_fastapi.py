"""Cookbook: a FastAPI application.

    python examples/cookbook_fastapi.py [server-url]     a demo: requests through httpx, in-process
    uvicorn cookbook_fastapi:app                         serve it (pip install uvicorn)

Endpoints are ``async def`` and ``await`` corduroy calls: FastAPI runs them on
its event loop. One ``corduroy.aio.Couch`` (coroutine methods, typed for
``await``) is made at start-up (the lifespan), shared, and closed at shutdown.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from corduroy import Conflict, NotFound
from corduroy.aio import Couch, Database

DB_NAME = os.environ.get("PEOPLE_DB", "people")
state: dict[str, Database] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with Couch() as couch:  # COUCHDB_URL, or corduroy.defaults
        state["db"] = await couch.db(DB_NAME, create_if_missing=True)
        yield
        state.clear()


app = FastAPI(lifespan=lifespan)


class Person(BaseModel):
    first: str
    last: str


@app.get("/people/{person_id}")
async def read_person(person_id: str) -> dict[str, Any]:
    try:
        doc = await state["db"].get(person_id)
    except NotFound:
        raise HTTPException(status_code=404, detail="no such person") from None
    return {"id": doc._id, "name": f"{doc.first} {doc.last}"}


@app.put("/people/{person_id}", status_code=201)
async def write_person(person_id: str, person: Person) -> dict[str, str]:
    doc = {"_id": person_id, **person.model_dump()}
    try:
        await state["db"].save(doc)
    except Conflict:
        raise HTTPException(status_code=409, detail="exists already") from None
    return {"id": person_id, "rev": doc["_rev"]}


@app.get("/people")
async def list_people(limit: int = 10) -> list[str]:
    rows = await state["db"].all_docs(limit=limit)
    return [str(row.id) for row in rows]


async def demo() -> None:
    """Call the endpoints in-process (httpx's ASGI transport), on this event loop."""
    async with lifespan(app):
        db = state["db"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            for method, path, body in [
                ("PUT", "/people/nicola", {"first": "Nicola", "last": "Murray"}),
                ("PUT", "/people/nicola", {"first": "Nicola", "last": "Murray"}),
                ("GET", "/people/nicola", None),
                ("GET", "/people/nobody", None),
                ("GET", "/people", None),
            ]:
                response = await client.request(method, path, json=body)
                print(method, path, response.status_code, response.json())
        await db.couch.delete(DB_NAME)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.environ["COUCHDB_URL"] = sys.argv[1]
    DB_NAME = f"cookbook-fastapi-{uuid.uuid4().hex[:8]}"
    asyncio.run(demo())
