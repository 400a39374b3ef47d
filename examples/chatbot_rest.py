"""A chatbot that remembers across sessions through the memsvc REST API.

Each turn: search memory for what matters to the user's message, answer with it, and store the
exchange. A new session (even a new process) finds what earlier sessions stored.

    # against a running server (memsvc serve), interactively:
    python examples/chatbot_rest.py --url http://127.0.0.1:8765 --api-key msk_... --user alice

    # self-contained: starts a server on a data folder, plays two sessions, restarting the
    # server in between to show the memory survives it:
    python examples/chatbot_rest.py --demo --data-dir /tmp/memsvc-demo

The reply is built from the retrieved memories with a template; in a real bot this is where the
LLM call goes, with ``search(...).context`` in its prompt.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from memsvc.sdk import MemoryClient

DEMO_SESSIONS = [
    [
        "Hi! I'm Alice and I just moved to Lisbon.",
        "I work as a nurse at the children's hospital.",
        "My cat is called Miso and she hates the rain.",
    ],
    [
        "Where do I live these days?",
        "What's my cat's name?",
        "What do I do for a living?",
    ],
]


def reply(memory: MemoryClient, user: str, session: str, text: str) -> str:
    """One chatbot turn: recall, answer, remember."""
    found = memory.search(text, user_id=user, top_k=3, context_tokens=200)
    recalled = [
        h.memory.content
        for h in found.hits
        if h.memory.session_id != session and h.memory.role != "assistant"
    ]
    if text.rstrip().endswith("?"):
        answer = f"From what you told me before: {recalled[0]}" if recalled else "I don't know yet."
    else:
        answer = "Noted, I'll remember that."
    memory.add(
        [{"role": "user", "content": text}, {"role": "assistant", "content": answer}],
        user_id=user,
        session_id=session,
    )
    return answer


def chat(memory: MemoryClient, user: str, lines: Iterable[str]) -> list[str]:
    """A session: one reply per input line, under a fresh session id."""
    session = f"s-{uuid.uuid4().hex[:8]}"
    answers = []
    for line in lines:
        if not line.strip() or line.strip() in {"quit", "exit"}:
            continue
        answer = reply(memory, user, session, line.strip())
        print(f"you> {line.strip()}\nbot> {answer}")
        answers.append(answer)
    return answers


@contextmanager
def local_server(data_dir: Path, *, hashing: bool) -> Iterator[str]:
    """A memsvc server on ``data_dir`` in this process (auth off: local development)."""
    from memsvc.api.app import create_app
    from memsvc.api.server import BackgroundServer
    from memsvc.config import (
        ConsolidationSettings,
        DatabaseSettings,
        EmbedSettings,
        IndexSettings,
        Settings,
    )

    settings = Settings(
        db=DatabaseSettings(url=f"sqlite:///{data_dir / 'memsvc.db'}"),
        index=IndexSettings(dir=data_dir / "index"),
        embed=EmbedSettings(backend="hashing") if hashing else EmbedSettings(),
        consolidation=ConsolidationSettings(in_process_worker=False),
    )
    with BackgroundServer(create_app(settings)) as base_url:
        yield base_url


def demo(data_dir: Path, *, hashing: bool) -> list[str]:
    """Two sessions, each against a freshly started server on the same data."""
    data_dir.mkdir(parents=True, exist_ok=True)
    answers: list[str] = []
    for number, lines in enumerate(DEMO_SESSIONS, start=1):
        print(f"--- session {number} (server started) ---")
        with local_server(data_dir, hashing=hashing) as url, MemoryClient(url) as memory:
            answers += chat(memory, "alice", lines)
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running memsvc server (default: start one)")
    parser.add_argument("--api-key", help="API key for --url")
    parser.add_argument("--user", default="alice", help="whose memory")
    parser.add_argument("--demo", action="store_true", help="play two scripted sessions")
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".memsvc" / "chatbot")
    parser.add_argument("--hashing", action="store_true", help="hashing embedder (no model; tests)")
    args = parser.parse_args(argv)
    if args.demo:
        answers = demo(args.data_dir, hashing=args.hashing)
        return 0 if any("Lisbon" in a for a in answers) else 1
    if args.url:
        with MemoryClient(args.url, api_key=args.api_key) as memory:
            chat(memory, args.user, sys.stdin)
        return 0
    with local_server(args.data_dir, hashing=args.hashing) as url, MemoryClient(url) as memory:
        chat(memory, args.user, sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
