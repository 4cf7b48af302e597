"""Work run beside the requests, in this process: the embedded default's stand-in for a Celery worker.

With no broker (CELERY_BROKER_URL unset) there is no worker to hand a task to, and running it
inline held the browser for the whole job. `background_submit` runs a callable on a small pool of
threads (CREATIVE_BACKGROUND_THREADS, one by default: SQLite takes one writer at a time and the
engine is CPU-bound) and returns at once. Each unit of work has a key; a key already queued or
running here is not queued twice. The pool's threads are not daemons, so a management command
that queued work waits for it before it exits.
"""

import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# When this process started: work recorded as running with no progress since before then has no
# thread here to finish it (the process that ran it has stopped).
PROCESS_STARTED_AT = time.time()

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_pending: dict[Hashable, Future] = {}


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=getattr(settings, "CREATIVE_BACKGROUND_THREADS", 1), thread_name_prefix="creative-background"
        )
    return _executor


def _run(key: Hashable, work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:  # nobody waits on the future: say what broke, where an operator looks
        logger.exception("Background work %r failed", key)
    finally:
        with _lock:
            _pending.pop(key, None)
        try:
            # This thread's connections: each piece of work opens its own, and none is left open between them.
            connections.close_all()
        except Exception:
            logger.exception("Closing the database connections of background work %r failed", key)


def background_submit(key: Hashable, work: Callable[[], object]) -> bool:
    """Queue `work` on this process's background threads; False if `key` is already queued or running here."""
    with _lock:
        if key in _pending:
            return False
        _pending[key] = _pool().submit(_run, key, work)
        return True


def background_running(key: Hashable) -> bool:
    """Whether work under `key` is queued or running in this process."""
    with _lock:
        return key in _pending


def background_wait(timeout: float | None = None) -> bool:
    """Wait until no background work is left in this process (tests, and commands that must finish it).

    Returns False if work was still pending after `timeout` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _lock:
            futures = list(_pending.values())
        if not futures:
            return True
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        try:
            futures[0].exception(timeout=remaining)
        except TimeoutError:
            return False
