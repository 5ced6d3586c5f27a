"""The request serialiser and the response parser, without any network."""

from __future__ import annotations

import pytest

from corduroy.errors import InvalidInput
from corduroy.http.messages import Headers, Request, Response
from corduroy.http.wire import (
    DIRECT_MIN,
    LAST_CHUNK,
    IncompleteResponse,
    ParseError,
    RequestSerializer,
    ResponseParser,
    encode_chunk,
    serialize_request,
)


def lines(data: bytes) -> list[str]:
    head, _, _ = data.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n")


def test_get_head_has_host_accept_keepalive_and_no_length() -> None:
    data = serialize_request(Request("GET", "/db/doc", query="rev=1-a"), "h:5984")
    assert data.endswith(b"\r\n\r\n")
    assert lines(data) == [
        "GET /db/doc?rev=1-a HTTP/1.1",
        "Host: h:5984",
        "Accept: application/json",
        "Connection: keep-alive",
    ]


def test_base_path_is_prepended() -> None:
    data = serialize_request(Request("GET", "/_all_dbs"), "h", "/couch/")
    assert lines(data)[0] == "GET /couch/_all_dbs HTTP/1.1"


def test_bytes_body_gets_content_length_and_follows_the_head() -> None:
    req = Request("PUT", "/db/x", headers=(("Content-Type", "application/json"),), body=b'{"a":1}')
    data = serialize_request(req, "h")
    assert "Content-Length: 7" in lines(data)
    assert "Content-Type: application/json" in lines(data)
    assert data.endswith(b'\r\n\r\n{"a":1}')


def test_empty_post_says_length_zero() -> None:
    assert "Content-Length: 0" in lines(serialize_request(Request("POST", "/db/_compact"), "h"))
    assert not any("Length" in x for x in lines(serialize_request(Request("GET", "/"), "h")))


def test_iterable_body_is_chunked_and_not_included() -> None:
    data = serialize_request(Request("PUT", "/db/x/att", body=iter([b"a"])), "h")
    assert "Transfer-Encoding: chunked" in lines(data)
    assert data.endswith(b"\r\n\r\n")
    assert encode_chunk(b"hello" * 4) == b"14\r\n" + b"hello" * 4 + b"\r\n"
    assert encode_chunk(b"") == b""
    assert LAST_CHUNK == b"0\r\n\r\n"


def test_request_headers_replace_defaults_case_insensitively() -> None:
    ser = RequestSerializer("h", "", [("Authorization", "Basic abc"), ("X-A", "1")])
    plain = lines(ser.head(Request("GET", "/")))
    assert "Authorization: Basic abc" in plain and "X-A: 1" in plain
    own = lines(ser.head(Request("GET", "/a", headers=(("accept", "*/*"), ("x-a", "2")))))
    assert "accept: */*" in own and "x-a: 2" in own
    assert "Accept: application/json" not in own and "X-A: 1" not in own
    assert "Authorization: Basic abc" in own


def test_caller_framing_headers_are_ignored() -> None:
    req = Request("PUT", "/x", headers=(("Content-Length", "99"),), body=b"ab")
    assert [x for x in lines(serialize_request(req, "h")) if "ength" in x] == ["Content-Length: 2"]


@pytest.mark.parametrize(
    "request_",
    [
        Request("GET", "/a b"),
        Request("GET", "/a\r\nX: y"),
        Request("GET", "/", headers=(("X-Evil", "a\r\nInjected: 1"),)),
        Request("GET", "/", headers=(("Bad:Name", "v"),)),
        Request("GET", "/", headers=(("X", "\u20ac"),)),
    ],
)
def test_invalid_heads_are_refused(request_: Request) -> None:
    with pytest.raises(InvalidInput):
        serialize_request(request_, "h")


def feed_all(parser: ResponseParser, data: bytes, step: int = 0) -> None:
    if not step:
        parser.feed(data)
        return
    for i in range(0, len(data), step):
        parser.feed(data[i : i + step])


@pytest.mark.parametrize("step", [0, 1, 7])
def test_content_length_response(step: int) -> None:
    p = ResponseParser()
    feed_all(p, b"HTTP/1.1 201 Created\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world", step)
    assert p.complete and p.keep_alive
    assert (p.status, p.reason) == (201, "Created")
    assert p.headers == [("Content-Length", "11"), ("X-A", "b")]
    assert p.take() == b"hello world"


@pytest.mark.parametrize("step", [0, 1, 5])
def test_chunked_response_is_decoded(step: int) -> None:
    p = ResponseParser()
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
    feed_all(p, raw, step)
    assert p.complete and p.keep_alive and p.take() == b"abcdefg"


def test_close_delimited_body_ends_at_eof() -> None:
    p = ResponseParser()
    p.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome")
    p.feed(b" data")
    assert not p.complete
    p.feed_eof()
    assert p.complete and not p.keep_alive and p.take() == b"some data"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    ],
)
def test_eof_before_the_end_is_incomplete(raw: bytes) -> None:
    p = ResponseParser()
    if raw:
        p.feed(raw)
    with pytest.raises(IncompleteResponse):
        p.feed_eof()


def test_head_response_ends_after_headers_and_parser_is_reusable() -> None:
    p = ResponseParser()
    p.start(head=True)
    p.feed(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\nETag: "1-a"\r\n\r\n')
    assert p.complete and p.keep_alive and p.status == 200 and p.take() == b""
    p.start()
    p.feed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}")
    assert p.complete and p.status == 404 and p.take() == b"{}"


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(status: int) -> None:
    p = ResponseParser()
    p.feed(b"HTTP/1.1 %d X\r\n\r\n" % status)
    assert p.complete and p.keep_alive and p.status == status and p.take() == b""


def test_interim_1xx_responses_are_skipped() -> None:
    p = ResponseParser()
    p.feed(b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n")
    assert not p.headers_complete
    p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert p.complete and p.status == 200 and p.headers == [("Content-Length", "2")]


def test_keep_alive_follows_the_response() -> None:
    p = ResponseParser()
    p.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert p.complete and not p.keep_alive
    p = ResponseParser()
    p.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert p.complete and not p.keep_alive


def test_consecutive_responses_on_one_parser() -> None:
    p = ResponseParser()
    for i in range(3):
        p.start()
        body = b"x" * i
        p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (i, body))
        assert p.complete and p.take() == body


def test_take_in_pieces() -> None:
    p = ResponseParser()
    p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123")
    p.feed(b"456")
    p.feed(b"789")
    assert p.buffered == 10
    assert [p.take(3), p.take(2), p.take(4), p.take(5), p.take(5)] == [
        b"012",
        b"34",
        b"5678",
        b"9",
        b"",
    ]
    assert p.buffered == 0


def test_garbage_is_a_parse_error() -> None:
    p = ResponseParser()
    with pytest.raises(ParseError):
        p.feed(b"SSH-2.0-OpenSSH_9.6\r\n")


def test_transfer_encoding_wins_over_content_length() -> None:
    p = ResponseParser()
    p.feed(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    )
    assert p.complete and p.take() == b"hello"


# A large body taken whole is received into one buffer of its announced length.

BIG = bytes(range(256)) * (DIRECT_MIN // 256 + 3)  # a little over DIRECT_MIN


def big_response(body: bytes = BIG, extra_head: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n%b" % (len(body), extra_head, body)


@pytest.mark.parametrize("step", [0, 1000, 65536, 100_003])
def test_large_body_taken_whole_arrives_in_one_buffer(step: int) -> None:
    p = ResponseParser()
    p.start(whole=True)
    feed_all(p, big_response(), step)
    assert p.complete and p.keep_alive and p.buffered == len(BIG)
    body = p.take_whole()
    # a body that came in one piece is taken as it is (one chunk, nothing to join)
    assert type(body) is (bytes if step == 0 else bytearray)
    assert body == BIG and p.buffered == 0
    p.start(whole=True)  # the parser reads the next response on the connection
    p.feed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}")
    assert (p.status, p.complete, p.take_whole()) == (404, True, b"{}")


def test_large_body_received_through_room_and_advance() -> None:
    p = ResponseParser()
    p.start(whole=True)
    raw = big_response()
    head_and_some = raw.index(b"\r\n\r\n") + 4 + 10
    p.feed(raw[:head_and_some])
    rest = memoryview(raw)[head_and_some:]
    while not p.complete:
        room = p.room
        assert room is not None
        n = min(len(room), 70_000, len(rest))
        room[:n] = rest[:n]
        rest = rest[n:]
        p.advance(n)
    assert p.room is None and p.take_whole() == BIG and p.keep_alive


def test_large_body_ending_early_is_incomplete() -> None:
    p = ResponseParser()
    p.start(whole=True)
    p.feed(big_response()[: len(BIG) // 2])
    with pytest.raises(IncompleteResponse):
        p.feed_eof()


def test_bytes_beyond_the_content_length_make_the_connection_unusable() -> None:
    p = ResponseParser()
    p.start(whole=True)
    raw = big_response()
    p.feed(raw[:1000])
    p.feed(raw[1000:] + b"HTTP/1.1 200 OK\r\n")  # more than announced
    assert p.complete and not p.keep_alive and p.take_whole() == BIG


def test_large_body_respects_connection_close() -> None:
    p = ResponseParser()
    p.start(whole=True)
    raw = big_response(extra_head=b"Connection: close\r\n")
    p.feed(raw[:1000])
    p.feed(raw[1000:])
    assert p.complete and not p.keep_alive and p.take_whole() == BIG


@pytest.mark.parametrize(
    ("whole", "head"),
    [(False, b""), (True, b"Transfer-Encoding: chunked\r\n")],
    ids=["streamed", "chunked"],
)
def test_large_body_not_taken_whole_or_chunked_uses_chunks(whole: bool, head: bytes) -> None:
    p = ResponseParser()
    p.start(whole=whole)
    if head:  # pouchdb-server sends Content-Length too: the chunked framing wins
        chunks = b"".join(encode_chunk(BIG[i : i + 50_000]) for i in range(0, len(BIG), 50_000))
        raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n%b%b" % (
            len(BIG),
            head,
            chunks,
            LAST_CHUNK,
        )
    else:
        raw = big_response()
    p.feed(raw[:1000])
    assert p.room is None
    p.feed(raw[1000:])
    assert p.complete
    assert p.take(5) == BIG[:5]  # read in pieces, as a stream does
    rest = p.take_whole()
    assert type(rest) is bytes and rest == BIG[5:]


def test_response_body_is_bytes_and_json_reads_the_buffer() -> None:
    data = bytearray(b'{"rows": [' + b",".join(b"%d" % i for i in range(100_000)) + b"]}")
    response = Response(200, Headers(), data)
    assert response.data is data  # as received, no copy
    assert response.json()["rows"][-1] == 99_999
    body = response.body
    assert type(body) is bytes and body == data and response.body is body


def test_response_headers_are_read_from_the_raw_head_when_used() -> None:
    p = ResponseParser()
    p.start()
    p.feed(b"HTTP/1.1 404 Object Not Found\r\nSet-Cookie: a=1\r\nX-Pad:  v \r\n")
    p.feed(b"set-cookie: b=2\r\nContent-Length: 0\r\n\r\n")
    assert p.complete
    headers = Headers.from_head(p.raw_head)
    assert headers.reason == "Object Not Found"
    assert headers.get_all("set-cookie") == ["a=1", "b=2"]
    assert headers["x-pad"] == "v" and headers["Set-Cookie"] == "a=1, b=2"
    assert Headers.from_head(b"HTTP/1.1 200\r\n").reason == "" and not Headers.from_head(b"")
