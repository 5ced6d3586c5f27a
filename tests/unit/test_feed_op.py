"""The continuous feed operation driven by hand: fake responses in, instructions out (no I/O)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from corduroy.errors import ConnectionDropped, Unauthorized
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops.changes import FeedState
from corduroy.ops.documents import DbRef
from corduroy.ops.feed import Batches, Checkpoints, OneByOne, continuous
from corduroy.ops.io import Close, Emit, Job, Now, Read, Send, Sleep, Stopped

DB = DbRef("db")
BODY = object()  # stands for a streamed body: the operation only hands it back


def line(n: int) -> bytes:
    return (
        json.dumps({"seq": f"{n}-x", "id": f"d{n}", "changes": [{"rev": "1-a"}]}).encode() + b"\n"
    )


def streamed() -> Response:
    return Response(200, Headers(), b"", BODY)  # type: ignore[arg-type]


def state(**options: Any) -> FeedState:
    return FeedState(DB, options, rng=random.Random(1))


def ids(instr: Any) -> list[str]:
    assert isinstance(instr, Emit), instr
    return [change.id for change in instr.items]


def test_one_by_one_connects_without_retries_reads_and_emits_each_change() -> None:
    op = continuous(state(), None, OneByOne())
    send = next(op)
    assert isinstance(send, Send) and send.retry is False
    assert send.request.stream and send.request.path == "/db/_changes"
    read = op.send(streamed())
    assert read == Read(BODY, 65536, None)
    assert ids(op.send(line(1) + line(2))) == ["d1"]
    assert ids(op.send(None)) == ["d2"]
    assert isinstance(op.send(None), Read)


def test_a_drop_closes_backs_off_and_resumes_from_the_last_seq_without_repeats() -> None:
    op = continuous(state(), None, OneByOne())
    next(op)
    op.send(streamed())
    assert ids(op.send(line(1))) == ["d1"]
    op.send(None)  # the next Read
    assert op.throw(ConnectionDropped("reset")) == Close(BODY)
    sleep = op.send(None)
    assert isinstance(sleep, Sleep) and 0 < sleep.seconds <= 0.05
    again = op.send(None)
    assert isinstance(again, Send) and "since=1-x" in again.request.query
    op.send(streamed())
    assert ids(op.send(line(1) + line(2))) == ["d2"]  # d1 is not handed out twice


def test_a_terminal_answer_ends_the_operation_with_it() -> None:
    op = continuous(state(), None, OneByOne())
    next(op)
    refused = Unauthorized(401, "unauthorized", "no")
    with pytest.raises(Unauthorized):
        op.throw(refused)


def test_the_limit_ends_the_feed() -> None:
    op = continuous(state(limit=1), None, OneByOne())
    next(op)
    op.send(streamed())
    assert ids(op.send(line(1) + line(2))) == ["d1"]
    assert op.send(None) == Close(BODY)
    with pytest.raises(StopIteration):
        op.send(None)


def test_batches_wait_for_the_latency_with_a_read_that_may_time_out() -> None:
    op = continuous(state(), None, Batches(lambda: 10.0))
    next(op)
    op.send(streamed())
    assert isinstance(op.send(line(1)), Now)
    assert ids(op.send(100.0)) == ["d1"]  # after a quiet spell: at once
    assert op.send(None) == Read(BODY, 65536, None)
    assert isinstance(op.send(line(2)), Now)
    assert op.send(104.0) == Read(BODY, 65536, 6.0)  # due at 110
    assert isinstance(op.send(line(3)), Now)
    assert op.send(107.0) == Read(BODY, 65536, 3.0)
    assert isinstance(op.send(None), Now)  # the read timed out
    assert ids(op.send(110.0)) == ["d2", "d3"]


def drive(op: Job[Any], answer: Any) -> list[Any]:
    """Run ``op`` answering each instruction with ``answer(instr)``; the instructions."""
    seen = []
    instr = next(op)
    try:
        while True:
            seen.append(instr)
            reply = answer(instr)
            instr = op.throw(reply) if isinstance(reply, BaseException) else op.send(reply)
    except StopIteration:
        return seen


def test_checkpoints_save_every_n_and_when_stopped() -> None:
    delivery = Checkpoints(DB, "ix", every=2, interval=60.0)
    op = continuous(state(), None, delivery)
    saved: list[Any] = []
    reads = [line(1) + line(2) + line(3), Stopped()]

    def answer(instr: Any) -> Any:
        if isinstance(instr, Request):
            if instr.method == "GET":
                return Response(200, Headers(), b'{"seq": null, "_rev": "0-1"}')
            saved.append(json.loads(instr.body)["seq"])  # type: ignore[arg-type]
            return Response(201, Headers(), b'{"ok": true, "rev": "0-2"}')
        if isinstance(instr, Send):
            return streamed()
        if isinstance(instr, Read):
            return reads.pop(0)
        if isinstance(instr, Now):
            return 0.0
        return None

    with pytest.raises(Stopped):
        drive(op, answer)
    assert saved == ["2-x", "3-x"]
    assert delivery.handled_seq == "3-x"


def test_a_couch_error_of_the_handler_ends_the_follower_and_is_not_retried() -> None:
    delivery = Checkpoints(DB, "ix", every=100, interval=60.0)
    op = continuous(state(), None, delivery)
    next(op)  # the checkpoint's GET
    op.send(Response(200, Headers(), b'{"seq": null, "_rev": "0-1"}'))  # Now
    op.send(0.0)  # the Send
    op.send(streamed())  # the Read
    assert ids(op.send(line(1))) == ["d1"]
    failure = ConnectionDropped("the handler's own request")
    assert isinstance(op.throw(failure), Now)  # the checkpoint is saved on the way out
    with pytest.raises(ConnectionDropped):
        op.send(0.0)
