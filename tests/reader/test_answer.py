"""Memory.answer, POST /v1/answer and `memsvc answer`: retrieve, then read (slow: real model)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from memsvc.api.app import create_app
from memsvc.cli.main import cli
from memsvc.config import ReaderSettings, Settings
from memsvc.memory import Memory

pytestmark = pytest.mark.slow

FACTS = [
    "The capital of Zorbania is Quillford.",
    "I keep a parrot named Biscuit.",
    "My sister works as a beekeeper in Lima.",
]


@pytest.fixture
def memory(settings: Settings, model_cache: Path) -> Iterator[Memory]:
    cfg = settings.model_copy(
        update={"reader": ReaderSettings(cache_dir=model_cache, device="cpu", memories=2)}
    )
    with Memory(cfg) as memory:
        for fact in FACTS:
            memory.add(fact, user_id="zoe")
        yield memory


def test_answer_reads_the_retrieved_memories_and_cites_them(memory: Memory) -> None:
    result = memory.answer("What is the capital of Zorbania?", user_id="zoe")
    assert "Quillford" in result.answer and result.mode == "kv"
    assert len(result.retrieved) == 2 and result.citations
    assert result.citations[0].content == FACTS[0]
    assert result.citations[0].memory_id == result.retrieved[0]
    other = memory.answer("What is the capital of Zorbania?", user_id="nobody")
    assert other.retrieved == [] and other.mode == "none" and other.answer == ""


def test_answer_route_and_cli(memory: Memory, settings: Settings, model_cache: Path) -> None:
    app = create_app(memory.service.settings, service=memory.service)

    async def call() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            ok = await client.post(
                "/v1/answer",
                json={"question": "What is my parrot called?", "user_id": "zoe", "mode": "prompt"},
            )
            bad = await client.post("/v1/answer", json={"question": "", "user_id": "zoe"})
            return ok, bad

    ok, bad = asyncio.run(call())
    assert ok.status_code == 200, ok.text
    assert "Biscuit" in ok.json()["answer"] and ok.json()["mode"] == "prompt"
    assert bad.status_code in (400, 422) and "error" in bad.json()

    db = memory.service.settings.db.url
    args = ["-s", "db.url", db, "-s", "index.dir", str(memory.service.settings.index.dir),
            "-s", "embed.backend", "hashing", "-s", "consolidation.in_process_worker", "false",
            "-s", "reader.cache_dir", str(model_cache), "-s", "reader.device", "cpu"]  # fmt: skip
    memory.service.flush()
    runner = CliRunner()
    out = runner.invoke(cli, [*args, "answer", "Who is a beekeeper?", "--user-id", "zoe", "--json"])
    assert out.exit_code == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["retrieved"]
    empty = runner.invoke(cli, [*args, "answer", " ", "--user-id", "zoe"])
    assert empty.exit_code != 0 and len(empty.stderr.strip().splitlines()) == 1
