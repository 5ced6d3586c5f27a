"""ibmcloudant (IBM's Cloudant/CouchDB SDK): blocking, on ``requests``; basic auth."""

from __future__ import annotations

from typing import Any

import common
from ibm_cloud_sdk_core.authenticators import (  # type: ignore[import-not-found]
    BasicAuthenticator,
)
from ibmcloudant.cloudant_v1 import CloudantV1  # type: ignore[import-not-found]

service: Any


def setup(job: common.Job) -> None:
    global service
    url, user, password = common.credentials(job["url"])
    service = CloudantV1(authenticator=BasicAuthenticator(user, password))
    service.set_service_url(url)


def get(job: common.Job) -> int:
    ids = common.get_ids(job)
    name = job["db"]
    for docid in ids:
        service.get_document(db=name, doc_id=docid).get_result()
    return len(ids)


def create(job: common.Job) -> int:
    name = job["db"]
    for i in range(job["n"]):
        docid = f"new{i:05d}"
        service.put_document(db=name, doc_id=docid, document={"_id": docid, **common.new_doc(i)})
    return job["n"]


def batch(job: common.Job) -> int:
    service.post_bulk_docs(db=job["db"], bulk_docs={"docs": job["big"]}).get_result()
    return 1


def read(job: common.Job) -> int:
    total = 0
    result = service.post_all_docs(db=job["read_db"], include_docs=True).get_result()
    for row in result["rows"]:
        total += row["doc"]["n"]
    return 1


def stream(job: common.Job) -> int:
    """The 100,000-row read: the same code on the bigger database."""
    return read({**job, "read_db": job["stream_db"]})


if __name__ == "__main__":
    common.main(
        "ibmcloudant",
        {
            "setup": setup,
            "get": get,
            "create": create,
            "batch": batch,
            "read": read,
            "stream": stream,
        },
    )
