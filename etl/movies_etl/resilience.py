"""Which failures are worth waiting out, and how long to wait between attempts."""

from __future__ import annotations

import logging

import elasticsearch
import psycopg
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    stop_never,
    wait_random_exponential,
)

from movies_etl.adapters.search import TRANSIENT_STATUSES, TransientIndexError

logger = logging.getLogger(__name__)


def is_transient(exc: BaseException) -> bool:
    """A backend is down, restarting or overloaded: the same call can succeed later."""
    if isinstance(exc, elasticsearch.ApiError):
        return exc.meta.status in TRANSIENT_STATUSES
    return isinstance(
        exc,
        psycopg.OperationalError
        | psycopg.errors.SerializationFailure
        | psycopg.errors.DeadlockDetected
        | elasticsearch.TransportError
        | TransientIndexError
        | OSError
        | TimeoutError,
    )


def _is_error(exc: BaseException) -> bool:
    # Not BaseException: cancellation and Ctrl-C must stop the ETL, not be retried.
    return isinstance(exc, Exception)


def _log_attempt(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    delay = state.next_action.sleep if state.next_action else 0.0
    if exc is None:
        return
    if is_transient(exc):
        logger.warning(
            "backend unavailable (%s: %s); attempt %d, retrying in %.1fs",
            type(exc).__name__,
            exc,
            state.attempt_number,
            delay,
        )
    else:
        logger.error(
            "unexpected failure; attempt %d, retrying in %.1fs",
            state.attempt_number,
            delay,
            exc_info=exc,
        )


def retrying(
    initial_seconds: float,
    max_seconds: float,
    give_up_seconds: float | None,
    only_transient: bool = True,
) -> AsyncRetrying:
    """Exponential backoff with full jitter, so ETLs do not hit a recovering backend in step.

    `give_up_seconds=None` retries forever: the continuous ETL must never crash-loop,
    it waits for the backend and catches up. One-shot commands give up eventually.
    `only_transient=False` also retries bugs, logged with their traceback, because a
    crashed continuous ETL would stop propagating changes altogether.
    """
    return AsyncRetrying(
        retry=retry_if_exception(is_transient if only_transient else _is_error),
        wait=wait_random_exponential(multiplier=initial_seconds, max=max_seconds),
        stop=stop_never if give_up_seconds is None else stop_after_delay(give_up_seconds),
        before_sleep=_log_attempt,
        reraise=True,
    )
