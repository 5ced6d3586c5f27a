"""The retry policy as pure decisions: what is retried, how long it waits, the caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from corduroy import Couch
from corduroy.http import NO_RETRY, RetryPolicy, call_options
from corduroy.http.config import DEFAULT_RETRY, as_policy
from corduroy.http.messages import Request
from corduroy.http.retry import Failure, parse_retry_after

GET = Request("GET", "/db/doc")
HEAD = Request("HEAD", "/db/doc")
READ_POST = Request("POST", "/db/_all_docs", body=b'{"keys":[]}', idempotent=True)
WRITE = Request("PUT", "/db/doc", body=b"{}")
STREAMED_BODY = Request("POST", "/db/_find", body=iter([b"{}"]), idempotent=True)


def top(policy_random: float = 0.999999, **options: float) -> RetryPolicy:
    return RetryPolicy(random=lambda: policy_random, **options)  # type: ignore[arg-type]


def test_default_policy_is_on_and_bounded() -> None:
    policy = RetryPolicy()
    assert policy.enabled and policy.attempts > 1
    assert policy.statuses == {429, 502, 503, 504}
    assert policy.total > 0 and policy.max_backoff > 0
    assert not NO_RETRY.enabled


@pytest.mark.parametrize("request_", [GET, HEAD, READ_POST, WRITE, STREAMED_BODY])
def test_a_connection_that_never_opened_is_retried_for_every_request(request_: Request) -> None:
    assert top().after_failure(request_, Failure.CONNECT, 1, 0.0) is not None


@pytest.mark.parametrize("request_", [GET, HEAD, READ_POST])
def test_safe_requests_are_retried_after_a_dropped_connection(request_: Request) -> None:
    assert top().after_failure(request_, Failure.DROPPED, 1, 0.0) is not None


@pytest.mark.parametrize("request_", [WRITE, STREAMED_BODY])
def test_writes_and_unreplayable_bodies_are_not_resent_once_sent(request_: Request) -> None:
    assert top().after_failure(request_, Failure.DROPPED, 1, 0.0) is None
    assert top().after_status(request_, 503, None, 1, 0.0) is None


def test_read_timeouts_are_retried_only_when_asked() -> None:
    assert top().after_failure(GET, Failure.TIMEOUT, 1, 0.0) is None
    policy = RetryPolicy(read_timeouts=True)
    assert policy.after_failure(GET, Failure.TIMEOUT, 1, 0.0) is not None
    assert policy.after_failure(WRITE, Failure.TIMEOUT, 1, 0.0) is None


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert top().after_status(GET, status, None, 1, 0.0) is not None


@pytest.mark.parametrize("status", [400, 404, 409, 500, 501])
def test_other_statuses_are_answers(status: int) -> None:
    assert top().after_status(GET, status, None, 1, 0.0) is None


def test_write_statuses_let_writes_retry_on_429() -> None:
    policy = RetryPolicy(write_statuses=frozenset({429}))
    assert policy.after_status(WRITE, 429, None, 1, 0.0) is not None
    assert policy.after_status(WRITE, 503, None, 1, 0.0) is None


def test_full_jitter_backoff_doubles_up_to_the_cap() -> None:
    highest = top(backoff=0.1, max_backoff=1.0)
    ceilings = [highest.backoff_delay(n) for n in range(1, 8)]
    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0], rel=1e-5)
    assert top(0.0).backoff_delay(3) == 0.0
    assert top(0.5, backoff=0.1).backoff_delay(3) == pytest.approx(0.2)


def test_jitter_spreads_the_waits() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=1.0)
    waits = {policy.backoff_delay(1) for _ in range(50)}
    assert len(waits) > 40 and all(0.0 <= w < 1.0 for w in waits)


def test_attempts_cap() -> None:
    policy = top(attempts=3)
    assert policy.after_failure(GET, Failure.DROPPED, 1, 0.0) is not None
    assert policy.after_failure(GET, Failure.DROPPED, 2, 0.0) is not None
    assert policy.after_failure(GET, Failure.DROPPED, 3, 0.0) is None
    assert NO_RETRY.after_failure(GET, Failure.CONNECT, 1, 0.0) is None


def test_total_time_cap_counts_the_wait() -> None:
    policy = top(backoff=1.0, max_backoff=1.0, total=5.0)
    assert policy.after_failure(GET, Failure.DROPPED, 1, 3.0) is not None
    assert policy.after_failure(GET, Failure.DROPPED, 1, 4.5) is None  # would end at 5.5 s


def test_retry_after_seconds_is_honoured() -> None:
    assert top(0.0).after_status(GET, 503, "2", 1, 0.0) == 2.0
    assert top().after_status(GET, 429, "0", 1, 0.0) == 0.0


def test_retry_after_beyond_the_caps_gives_up() -> None:
    assert top(max_retry_after=10.0).after_status(GET, 503, "11", 1, 0.0) is None
    assert top(total=5.0).after_status(GET, 503, "3", 1, 3.0) is None


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now) == pytest.approx(30.0)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now) == 0.0
    assert parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-1") is None


def test_unparseable_retry_after_falls_back_to_backoff() -> None:
    assert top(backoff=0.1).after_status(GET, 503, "soon", 1, 0.0) == pytest.approx(0.1, 1e-5)


@pytest.mark.parametrize(
    "options", [{"attempts": 0}, {"backoff": -1.0}, {"total": -1.0}, {"max_retry_after": -1.0}]
)
def test_bad_settings_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_couch_retry_setting() -> None:
    assert Couch("http://127.0.0.1:1/")._conn.config.retry is DEFAULT_RETRY
    assert Couch("http://127.0.0.1:1/", retry=False)._conn.config.retry is NO_RETRY
    mine = RetryPolicy(attempts=2)
    assert Couch("http://127.0.0.1:1/", retry=mine)._conn.config.retry is mine
    with pytest.raises(TypeError):
        as_policy("yes")  # type: ignore[arg-type]


def test_call_options_validate_and_nest() -> None:
    with pytest.raises(ValueError):
        with call_options(timeout=0):
            pass
    with pytest.raises(ValueError):
        with call_options(timeout="1"):
            pass
    with call_options(retry=False):
        with call_options(retry=True):
            pass
