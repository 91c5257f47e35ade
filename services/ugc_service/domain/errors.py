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


class PermissionDeniedError(DomainError):
    pass


class UnavailableError(DomainError):
    """A backend this call needs (the catalogue, to check a film) did not answer."""
