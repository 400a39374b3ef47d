"""The state of one CLI invocation: settings, and the service or SDK client built on demand.

Commands never build anything themselves: they ask the :class:`CliState` for the embedded
:class:`~memsvc.service.facade.MemoryService` (admin commands on the database) or for a
:class:`MemoryApi` (memory commands), which is the in-process ``Memory`` or, with ``--url``,
the HTTP ``MemoryClient``; both return the same ``memsvc.schemas`` models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click

from memsvc.cli.configuration import load_settings
from memsvc.cli.logs import LogFormat, configure_logging
from memsvc.errors import ConfigError

if TYPE_CHECKING:
    from memsvc.config import Settings
    from memsvc.schemas import (
        AddResponse,
        HistoryEntryPublic,
        MemoryPage,
        MemoryPublic,
        SearchResponse,
    )
    from memsvc.service.facade import MemoryService

__all__ = ["CliState", "MemoryApi", "pass_state"]


class MemoryApi(Protocol):
    """What ``Memory`` (embedded) and ``MemoryClient`` (HTTP) have in common."""

    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        occurred_at: datetime | str | None = None,
    ) -> AddResponse: ...

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        top_k: int | None = None,
        kinds: Any = None,
        as_of: datetime | str | None = None,
        include_inactive: bool = False,
        filters: dict[str, Any] | None = None,
        rounds: int | None = None,
        context_tokens: int | None = None,
    ) -> SearchResponse: ...

    def get(self, memory_id: str) -> MemoryPublic: ...

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        kinds: Any = None,
        include_inactive: bool = False,
        filters: dict[str, Any] | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> MemoryPage: ...

    def update(
        self, memory_id: str, *, content: str | None = None, metadata: dict[str, Any] | None = None
    ) -> MemoryPublic: ...

    def delete(self, memory_id: str, *, erase_history: bool = False) -> None: ...

    def erase(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        purge: bool = True,
        verify: bool = False,
    ) -> dict[str, Any]: ...

    def history(self, memory_id: str) -> Sequence[HistoryEntryPublic]: ...

    def close(self) -> None: ...


@dataclass
class CliState:
    """Options of the ``memsvc`` root and what they build, closed when the command ends."""

    config_file: Path | None = None
    overrides: tuple[tuple[str, str], ...] = ()
    namespace: str | None = None
    url: str | None = None
    api_key: str | None = None
    is_debug: bool = False
    log_level: str | None = None
    log_format: LogFormat = "text"
    _settings: Settings | None = field(default=None, repr=False)
    _service: MemoryService | None = field(default=None, repr=False)
    _api: MemoryApi | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The effective settings (built once)."""
        if self._settings is None:
            self._settings = load_settings(self.config_file, self.overrides)
        return self._settings

    @property
    def is_remote(self) -> bool:
        """Whether memory commands go to a server (``--url``)."""
        return self.url is not None

    def service(self, *, command: str | None = None) -> MemoryService:
        """The embedded service on the configured database (no background worker).

        Raises:
            ConfigError: ``--url`` was given to a command that works on the database only.
        """
        if self.is_remote:
            name = command or click.get_current_context().command_path
            raise ConfigError(f"`{name}` works on the database directly; drop --url/--api-key")
        if self._service is None:
            from memsvc.wiring import build_service

            self._service = build_service(self.settings, start_worker=False)
        return self._service

    def memory(self) -> MemoryApi:
        """The memory API: the SDK client with ``--url``, else the embedded ``Memory``."""
        if self._api is None:
            if self.url is not None:
                if self.namespace is not None:
                    raise ConfigError("with --url the namespace is the API key's; drop --namespace")
                from memsvc.sdk import MemoryClient

                self._api = MemoryClient(self.url, api_key=self.api_key)
            else:
                from memsvc.memory import Memory

                self._api = Memory(service=self.service(), namespace=self.namespace)
        return self._api

    def load_model(self) -> float | None:
        """Load the embedding model now and return the seconds it took, so that the work's own
        time is reported apart from it; ``None`` with ``--url`` or when nothing had to load."""
        if self.is_remote:
            return None
        embedder = self.service().embedder
        if getattr(embedder.inner, "is_loaded", True):
            return None
        import time

        started = time.perf_counter()
        embedder.embed_query("memsvc")
        return time.perf_counter() - started

    def use_default_log_level(self, level: str) -> None:
        """Log at ``level`` unless ``--log-level`` was given (long-running commands: INFO)."""
        if self.log_level is None and not self.is_debug:
            configure_logging(level, self.log_format)

    def close(self) -> None:
        """Close the client and flush and close the service (saves the indexes)."""
        api, service = self._api, self._service
        self._api = self._service = None
        if api is not None:
            api.close()
        if service is not None:
            service.close()


pass_state = click.make_pass_decorator(CliState)
"""Decorator giving a command the :class:`CliState` of this invocation as first argument."""
