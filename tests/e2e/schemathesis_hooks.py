"""Schemathesis hooks (SCHEMATHESIS_HOOKS) for test_schemathesis.py.

One rule of the API spans two parameters, which an OpenAPI schema cannot state:
page_number * page_size may not exceed the deepest result the index serves (the
largest page_number, at page_size 1; each parameter's description says so, and
the service answers 400 PAGE_TOO_DEEP). A generated page that is within both
parameters' own bounds but beyond that product is brought back to the last page
that is not, so a case the document calls valid stays valid. Values outside a
parameter's own bounds (the negative cases) are left alone.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from content_api.entrypoints.limits import contract_limits

LIMITS = contract_limits().page


def _integer(value: Any) -> int | None:
    """The value as the service reads it: coverage cases send numbers as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    query = case.query
    if not isinstance(query, dict):
        return
    number = _integer(query.get("page_number", 1))
    size = _integer(query.get("page_size", LIMITS.default_size))
    if number is None or size is None:
        return
    within = 1 <= number <= LIMITS.max_window and 1 <= size <= LIMITS.max_size
    if within and number * size > LIMITS.max_window:
        deepest = LIMITS.max_window // size
        as_sent = query.get("page_number")
        query["page_number"] = deepest if isinstance(as_sent, int) else str(deepest)
