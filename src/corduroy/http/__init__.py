"""corduroy's HTTP/1.1 client layer: wire format, blocking and asyncio pools, retries."""

from corduroy.http.async_pool import close_idle_connections
from corduroy.http.config import DEFAULT_RETRY, HTTPConfig, call_options
from corduroy.http.retry import NO_RETRY, RetryPolicy

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "HTTPConfig",
    "RetryPolicy",
    "call_options",
    "close_idle_connections",
]
