"""A task: ``execute()`` runs ``_execute()`` and calls ``rollback(exc)`` if it fails."""

from __future__ import annotations

import abc
import logging
from typing import Generic, TypeVar

LOG = logging.getLogger(__name__)
T = TypeVar("T")


class Task(abc.ABC, Generic[T]):
    def execute(self) -> T:
        try:
            return self._execute()
        except Exception as exc:
            try:
                self.rollback(exc)
            except Exception:
                LOG.exception("rollback of %s failed", type(self).__name__)
            raise

    @abc.abstractmethod
    def _execute(self) -> T: ...

    def rollback(self, exc: Exception) -> None:  # optional hook
        """Undo what :meth:`_execute` did before it failed."""
