"""make_llm: backend name to class, resolved lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

from memsvc.config import LLMSettings
from memsvc.embed.hashing import HashingEmbedder
from memsvc.errors import ConfigError
from memsvc.llm.base import LLMTasks
from memsvc.llm.offline import OfflineLLMTasks
from memsvc.llm.registry import BACKENDS, make_llm


def test_make_llm_default_is_offline(hashing: HashingEmbedder) -> None:
    tasks = make_llm(LLMSettings(), embedder=hashing)
    assert isinstance(tasks, OfflineLLMTasks)
    assert isinstance(tasks, LLMTasks)


def test_make_llm_offline_imports_no_model_library() -> None:
    code = (
        "import sys\n"
        "from memsvc.config import LLMSettings\n"
        "from memsvc.embed.hashing import HashingEmbedder\n"
        "from memsvc.llm.registry import make_llm\n"
        "make_llm(LLMSettings(), embedder=HashingEmbedder())\n"
        "heavy = {'litellm', 'torch', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_make_llm_builds_litellm_and_local_lazily(hashing: HashingEmbedder) -> None:
    litellm_tasks = make_llm(LLMSettings(backend="litellm", model="openai/x"), embedder=hashing)
    assert litellm_tasks.name == "litellm:openai/x"
    local_tasks = make_llm(LLMSettings(backend="local"), embedder=hashing)
    assert local_tasks.name == "local:SmolLM2-135M-Instruct"  # nothing loaded yet


def test_make_llm_unknown_backend_is_a_config_error(hashing: HashingEmbedder) -> None:
    with pytest.raises(ConfigError, match="unknown LLM backend"):
        make_llm(LLMSettings(), embedder=hashing, backends={"litellm": BACKENDS["litellm"]})


def test_make_llm_unloadable_backend_is_a_config_error(hashing: HashingEmbedder) -> None:
    with pytest.raises(ConfigError) as caught:
        make_llm(LLMSettings(), embedder=hashing, backends={"offline": "memsvc.nowhere:Tasks"})
    assert caught.value.detail["target"] == "memsvc.nowhere:Tasks"


def test_make_llm_refuses_a_class_without_from_settings(hashing: HashingEmbedder) -> None:
    with pytest.raises(ConfigError, match="from_settings"):
        make_llm(
            LLMSettings(),
            embedder=hashing,
            backends={"offline": "memsvc.llm.local_model:Generation"},
        )
