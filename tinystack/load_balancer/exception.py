"""The load balancer API's errors, with the status and wording Octavia's API answers."""

from __future__ import annotations

from tinystack.common.exceptions import BadRequest, Conflict, Forbidden, NotFound, TinystackError


class ResourceNotFound(NotFound):
    def __init__(self, resource: str, id_: str) -> None:
        super().__init__(f"{resource} {id_} not found.")


class InvalidOption(BadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(f"Validation failure: {message}")


class Immutable(Conflict):
    def __init__(self, resource: str, id_: str) -> None:
        super().__init__(f"{resource} {id_} is immutable and cannot be updated.")


class Duplicate(Conflict):
    def __init__(self, resource: str, detail: str) -> None:
        super().__init__(f"Another {resource} on the same {detail} already exists.")


class QuotaExceeded(Forbidden):
    def __init__(self, resource: str) -> None:
        super().__init__(f"Quota has been met for resources: {resource}")


class ProviderNotFound(BadRequest):
    def __init__(self, name: str) -> None:
        super().__init__(f"Provider '{name}' is not enabled.")


class ProviderUnsupported(TinystackError):
    status = 501

    def __init__(self, provider: str, what: str) -> None:
        super().__init__(f"Provider '{provider}' does not support a requested option: {what}")


class NetworkError(TinystackError):
    status = 500
