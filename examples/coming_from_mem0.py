"""Code written for mem0's platform client, running against memsvc: only host and key change.

    memsvc serve                                   # in another terminal (auth off: any key)
    python examples/coming_from_mem0.py --url http://127.0.0.1:8765 --api-key msk_...

    python examples/coming_from_mem0.py --data-dir /tmp/memsvc-mem0   # self-contained

Needs ``pip install mem0ai``. mem0's telemetry is switched off below (``MEM0_TELEMETRY``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("MEM0_TELEMETRY", "false")  # before mem0 is imported


def mem0_code(host: str, api_key: str) -> None:
    """Unchanged mem0 platform code, apart from the two marked lines."""
    from mem0 import MemoryClient

    client = MemoryClient(
        host=host,  # <- was: the default, https://api.mem0.ai
        api_key=api_key,  # <- was: a mem0 key; now a memsvc key (memsvc keys create)
    )
    messages = [
        {"role": "user", "content": "I'm a vegetarian and allergic to nuts."},
        {"role": "assistant", "content": "Got it! I'll remember your dietary preferences."},
    ]
    added = client.add(messages, user_id="user123")
    memory_id = added["results"][0]["id"]
    results = client.search("What are my dietary restrictions?", filters={"user_id": "user123"})
    print("search:", [(r["memory"], r["kind"]) for r in results["results"]])
    client.update(memory_id, text="I'm a vegan and allergic to nuts.")
    print("get:", client.get(memory_id)["memory"])
    print("history:", [entry["event"] for entry in client.history(memory_id)])
    print("all:", client.get_all(filters={"user_id": "user123"})["count"], "memories")
    print("delete_all:", client.delete_all(user_id="user123")["message"])


@contextmanager
def local_server(data_dir: Path, *, hashing: bool) -> Iterator[str]:
    """``memsvc serve`` in this process on ``data_dir`` (auth off: local development)."""
    from memsvc.api.app import create_app
    from memsvc.api.server import BackgroundServer
    from memsvc.config import (
        ConsolidationSettings,
        DatabaseSettings,
        EmbedSettings,
        IndexSettings,
        Settings,
    )

    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        db=DatabaseSettings(url=f"sqlite:///{data_dir / 'memsvc.db'}"),
        index=IndexSettings(dir=data_dir / "index"),
        embed=EmbedSettings(backend="hashing") if hashing else EmbedSettings(),
        consolidation=ConsolidationSettings(in_process_worker=False),
    )
    with BackgroundServer(create_app(settings)) as base_url:
        yield base_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running memsvc server (default: start one)")
    parser.add_argument("--api-key", default="local-dev", help="a memsvc API key for --url")
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".memsvc" / "mem0-demo")
    parser.add_argument("--hashing", action="store_true", help="hashing embedder (no model; tests)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MEM0_DIR", str(args.data_dir / "mem0"))
    if args.url:
        mem0_code(args.url, args.api_key)
        return 0
    with local_server(args.data_dir, hashing=args.hashing) as url:
        mem0_code(url, args.api_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
