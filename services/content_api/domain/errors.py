"""Domain errors: the only failures the service layer reports to entrypoints."""


class DomainError(Exception):
    """Base of errors a caller can act on; the message is safe to show to clients."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class InvalidArgumentError(DomainError):
    """The request is malformed; repeating it unchanged cannot succeed."""

    def __init__(self, message: str, reason: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message, reason)


class NotFoundError(DomainError):
    """The addressed film, genre or person does not exist."""

    def __init__(self, message: str, reason: str = "NOT_FOUND") -> None:
        super().__init__(message, reason)


class BackendUnavailableError(DomainError):
    """A storage backend is down or too slow; retrying later may succeed."""

    def __init__(self, message: str = "the catalogue is temporarily unavailable") -> None:
        super().__init__(message, "BACKEND_UNAVAILABLE")
