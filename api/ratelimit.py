"""Fixed-window request counters in Redis, shared by every API process of a deployment.

If Redis is away the request is let through (and logged): a verifier's window must not go dark
because the queue is restarting, and the limits are a brake on enumeration, not an access rule.
"""

from __future__ import annotations

import hashlib
import logging
import time

from redis import Redis
from redis.exceptions import RedisError

from api.state import RateLimitedError

log = logging.getLogger(__name__)


def _key(bucket: str, who: str, slot: int) -> str:
    digest = hashlib.sha256(who.encode()).hexdigest()[:24]  # no addresses or names in Redis keys
    return f"ecopy:rl:{bucket}:{digest}:{slot}"


def count(redis: Redis, bucket: str, who: str, *, window: int) -> int:
    """Count one event of ``who`` in ``bucket``'s current window; returns the window's count (0: not counted)."""
    key = _key(bucket, who, int(time.time()) // window)
    try:
        pipe = redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 5)
        return int(pipe.execute()[0])
    except RedisError as e:
        log.warning("rate limit %s not counted (Redis: %s)", bucket, e)
        return 0


def _retry_after(window: int) -> int:
    now = int(time.time())
    return (now // window + 1) * window - now


def hit(redis: Redis, bucket: str, who: str, *, limit: int, window: int) -> None:
    """Count one request of ``who`` in ``bucket``; raise 429 once it is over ``limit`` per ``window`` s."""
    if limit <= 0:
        return
    if count(redis, bucket, who, window=window) > limit:
        raise RateLimitedError(
            detail=f"{bucket}: more than {limit} requests in {window} s", retry_after=_retry_after(window)
        )


def peek(redis: Redis, bucket: str, who: str, *, limit: int, window: int) -> None:
    """Raise 429 if ``who`` already reached ``limit`` in ``bucket`` (without counting a request)."""
    if limit <= 0:
        return
    try:
        seen = int(redis.get(_key(bucket, who, int(time.time()) // window)) or 0)
    except RedisError as e:
        log.warning("rate limit %s not checked (Redis: %s)", bucket, e)
        return
    if seen >= limit:
        raise RateLimitedError(
            detail=f"{bucket}: {limit} requests in {window} s already", retry_after=_retry_after(window)
        )
