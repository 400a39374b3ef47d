"""Logging for CLI processes: only the CLI root (and ``memsvc serve``) configures handlers."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

__all__ = ["JsonFormatter", "LogFormat", "configure_logging", "remove_cli_handler"]

LogFormat = Literal["text", "json"]

_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts``, ``level``, ``logger``, ``message`` (+ ``exc``)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single JSON line."""
        body = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False)


class _CliHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this CLI installed, so a second invocation replaces it."""

    previous_level: int = logging.WARNING


_CHATTY = ("alembic.runtime.plugins", "faiss.loader", "httpx", "sentence_transformers")


def configure_logging(level: str, fmt: LogFormat = "text") -> None:
    """Send log records at ``level`` and above to stderr, as text or JSON lines."""
    remove_cli_handler()
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    handler.previous_level = root.level
    root.addHandler(handler)
    root.setLevel(level.upper())
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Libraries that narrate their own start-up at INFO (which CPU kernel FAISS picked,
        # which alembic plugins loaded) drown the service's lifecycle lines.
        for name in _CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)


def remove_cli_handler() -> None:
    """Remove the handler installed by :func:`configure_logging` (at the end of a command)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _CliHandler):
            root.removeHandler(handler)
            root.setLevel(handler.previous_level)
            handler.close()
