"""The language tasks through litellm: any provider by model string.

``gpt-4o-mini``, ``anthropic/claude-3-5-haiku-latest``, ``ollama/llama3``, ``openai/<name>``
with ``api_base`` for any OpenAI-compatible server (vLLM, llama.cpp, LM Studio), or
``local/smollm2`` for the packaged SmolLM2 model (:mod:`memsvc.llm.local_provider`).

Each call runs under a concurrency limit, with a timeout and retries with exponential backoff
on transient failures (timeouts, connection errors, 429 and 5xx); provider exceptions become
:class:`~memsvc.errors.LLMTimeout` or :class:`~memsvc.errors.LLMError` carrying the provider's
message. The API key is passed to litellm only, never logged, and scrubbed from messages.
litellm is imported on first use, with its model-cost map read from the installed package (no
network at import).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from memsvc.config import LLMSettings
from memsvc.embed.base import Embedder
from memsvc.embed.litellm import no_stray_event_loop
from memsvc.errors import LLMError, LLMTimeout
from memsvc.llm.prompted import PromptedTasks
from memsvc.llm.prompts import ChatMessage

__all__ = ["LiteLLMTasks", "import_litellm"]

logger = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_MAX_BACKOFF_S = 30.0


def import_litellm() -> Any:
    """Import litellm without network access at import time, and quiet.

    ``LITELLM_LOCAL_MODEL_COST_MAP`` makes litellm read the cost map shipped in the package
    instead of fetching it; it is only set when the environment does not already say otherwise.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def _is_timeout(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"Timeout", "APITimeoutError", "TimeoutException", "TimeoutError"})


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _is_transient(exc: BaseException) -> bool:
    if _is_timeout(exc):
        return True
    status = _status(exc)
    if status is not None:
        return status in _RETRY_STATUS
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"APIConnectionError", "ConnectError", "RemoteProtocolError"})


class LiteLLMTasks(PromptedTasks):
    """The language tasks through ``litellm.completion``.

    Args:
        cfg: model, api_base, api_key, timeout, retries, concurrency, temperature, max_tokens.
        backoff_s: the first retry waits this long, each later one twice as long (capped).
    """

    def __init__(self, cfg: LLMSettings, *, backoff_s: float = 0.5) -> None:
        super().__init__()
        self._cfg = cfg
        self._backoff_s = backoff_s
        self._slots = threading.BoundedSemaphore(cfg.max_concurrency)
        self._litellm = import_litellm()
        if cfg.model.startswith("local/"):
            from memsvc.llm.local_provider import register_local_provider

            register_local_provider(cfg)

    @classmethod
    def from_settings(cls, cfg: LLMSettings, *, embedder: Embedder) -> LiteLLMTasks:  # noqa: ARG003
        """Build from settings (the registry's uniform constructor; no embedder is needed)."""
        return cls(cfg)

    @property
    def name(self) -> str:
        """``litellm:<model>``."""
        return f"litellm:{self._cfg.model}"

    def _request(self, messages: Sequence[ChatMessage], *, json_mode: bool) -> dict[str, Any]:
        cfg = self._cfg
        request: dict[str, Any] = {
            "model": cfg.model,
            "messages": [dict(m) for m in messages],
            "temperature": cfg.temperature,
            "max_tokens": cfg.max_tokens,
            "timeout": cfg.timeout_s,
            # Retries are ours (with backoff and error mapping): none in litellm or the SDK.
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,
        }
        if cfg.api_base:
            request["api_base"] = cfg.api_base
        if cfg.api_key is not None:
            request["api_key"] = cfg.api_key.get_secret_value()
        if json_mode:
            request["response_format"] = {"type": "json_object"}
        return request

    def _complete(self, messages: Sequence[ChatMessage], *, json_mode: bool) -> str:
        request = self._request(messages, json_mode=json_mode)
        attempts = self._cfg.max_retries + 1
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                with self._slots, no_stray_event_loop():
                    response = self._litellm.completion(**request)
            except Exception as exc:  # the provider boundary: every failure is mapped below
                self._record_failure()
                if attempt + 1 < attempts and _is_transient(exc):
                    delay = min(_MAX_BACKOFF_S, self._backoff_s * 2**attempt)
                    logger.warning(
                        "llm call failed (%s, status %s); retry %d/%d in %.2fs",
                        type(exc).__name__,
                        _status(exc),
                        attempt + 1,
                        attempts - 1,
                        delay,
                    )
                    time.sleep(delay)
                    continue
                raise self._error(exc, attempts=attempt + 1) from exc
            return self._answer(response, started)
        raise AssertionError("unreachable: the loop returns or raises")

    def _answer(self, response: Any, started: float) -> str:
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        self._record(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=self._cost(response),
        )
        logger.debug(
            "llm call: %d+%d tokens in %.2fs",
            prompt_tokens,
            completion_tokens,
            time.perf_counter() - started,
        )
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError) as exc:
            raise LLMError("the provider returned no message", detail=self._detail()) from exc
        return content if isinstance(content, str) else ""

    def _cost(self, response: Any) -> float:
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = hidden.get("response_cost") if isinstance(hidden, dict) else None
        if isinstance(cost, int | float):
            return float(cost)
        try:
            return float(self._litellm.completion_cost(completion_response=response))
        except Exception:  # models without a price (local, self-hosted) cost nothing known
            logger.debug("no price known for model %s", self._cfg.model)
            return 0.0

    def _detail(self, **extra: Any) -> dict[str, Any]:
        return {"model": self._cfg.model, **extra}

    def _error(self, exc: BaseException, *, attempts: int) -> LLMError:
        message = str(getattr(exc, "message", None) or exc) or type(exc).__name__
        if self._cfg.api_key is not None:
            secret = self._cfg.api_key.get_secret_value()
            if secret:
                message = message.replace(secret, "***")
        message = " ".join(message.split())[:500]
        detail = self._detail(attempts=attempts, provider_error=type(exc).__name__)
        if _status(exc) is not None:
            detail["provider_status"] = _status(exc)
        if _is_timeout(exc):
            return LLMTimeout(
                f"the model did not answer within {self._cfg.timeout_s:g}s: {message}",
                detail=detail,
            )
        return LLMError(f"the model provider failed: {message}", detail=detail)
