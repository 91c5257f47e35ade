"""Rules of the auth service that need no server: emails, passwords, argon2
parameters, throttling delays, page tokens, partition bounds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auth_service.adapters.passwords import PasswordHasher
from auth_service.adapters.postgres import month_start, partition_name
from auth_service.adapters.throttle import LoginThrottle
from auth_service.domain.errors import InvalidArgumentError
from auth_service.domain.models import (
    LoginAttempt,
    check_password,
    check_role_name,
    normalise_email,
)
from auth_service.service_layer.accounts import decode_page_token, encode_page_token


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Ann@Example.ORG ", "ann@example.org"), ("b.c+tag@x.io", "b.c+tag@x.io")],
)
def test_emails_are_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "ann", "ann@", "@x.org", "a b@x.org", "a@b@x.org", "a@x"])
def test_malformed_emails_are_invalid(raw: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        normalise_email(raw)
    assert caught.value.reason == "EMAIL_INVALID"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short12", "PASSWORD_TOO_SHORT"),
        ("x" * 1025, "PASSWORD_TOO_LONG"),
        ("ann@example.org", "PASSWORD_IS_EMAIL"),
        (" ANN@example.org", "PASSWORD_IS_EMAIL"),
    ],
)
def test_password_rules(password: str, reason: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check_password(password, "ann@example.org")
    assert caught.value.reason == reason


@pytest.mark.parametrize("password", ["8 chars!", "x" * 1024, "пароль-кириллицей"])
def test_passwords_within_the_rules_pass(password: str) -> None:
    check_password(password, "ann@example.org")


@pytest.mark.parametrize("name", ["", "Admin", "a" * 65, "with space", "role/x"])
def test_bad_role_names(name: str) -> None:
    with pytest.raises(InvalidArgumentError):
        check_role_name(name)


async def test_argon2id_verifies_and_asks_for_a_rehash_when_parameters_change() -> None:
    old = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
    stored = await old.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert await old.verify(stored, "correct horse")
    assert not await old.verify(stored, "wrong horse")
    assert not await old.verify(None, "correct horse")  # no account: a dummy check, False
    assert not await old.verify("not a hash", "correct horse")
    assert not old.needs_rehash(stored)
    stronger = PasswordHasher(time_cost=2, memory_cost_kib=16, parallelism=1)
    assert stronger.needs_rehash(stored)
    assert await stronger.verify(stored, "correct horse")  # old hashes still verify


def test_throttle_delay_doubles_after_the_threshold_up_to_the_cap() -> None:
    throttle = LoginThrottle(
        None,  # type: ignore[arg-type]  # delay() is pure
        threshold=5,
        base_seconds=1.0,
        max_seconds=60.0,
        window_seconds=3600,
    )
    assert [throttle.delay(n) for n in range(4, 10)] == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert throttle.delay(50) == 60.0


def test_page_tokens_round_trip_and_garbage_is_invalid() -> None:
    at = datetime(2026, 11, 30, 23, 59, 59, 123456, tzinfo=UTC)
    token = encode_page_token(LoginAttempt(42, "u", at, "ip", "ua", "password", True))
    assert decode_page_token(token) == (at, 42)
    with pytest.raises(InvalidArgumentError):
        decode_page_token("!!!")


def test_monthly_partitions_follow_utc_months_across_a_year_end() -> None:
    at = datetime(2026, 11, 15, tzinfo=UTC)
    starts = [month_start(at, k) for k in range(4)]
    assert [s.isoformat() for s in starts] == [
        "2026-11-01T00:00:00+00:00",
        "2026-12-01T00:00:00+00:00",
        "2027-01-01T00:00:00+00:00",
        "2027-02-01T00:00:00+00:00",
    ]
    assert partition_name(starts[2]) == "login_history_y2027m01"
