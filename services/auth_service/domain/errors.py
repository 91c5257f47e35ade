"""Domain errors; the gRPC entrypoint maps each class to one status code."""

from __future__ import annotations


class DomainError(Exception):
    """`message` tells the caller what to fix; `reason` is an UPPER_SNAKE code."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class InvalidArgumentError(DomainError):
    pass


class AlreadyExistsError(DomainError):
    pass


class NotFoundError(DomainError):
    pass


class UnauthenticatedError(DomainError):
    pass


class PermissionDeniedError(DomainError):
    pass


class FailedPreconditionError(DomainError):
    pass


class UnavailableError(DomainError):
    """A backend this call needs (an OAuth provider) did not answer usefully."""


class TooManyAttemptsError(DomainError):
    def __init__(self, message: str, reason: str, retry_after_seconds: float) -> None:
        super().__init__(message, reason)
        self.retry_after_seconds = retry_after_seconds
