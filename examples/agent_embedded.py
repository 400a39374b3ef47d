"""An agent loop with the embedded ``Memory``: recall before acting, remember what it observed.

The agent works through tasks for a user. Before each step it asks memory what matters; after
it, it stores what it observed. Consolidation then turns the raw events into facts, episodes and
a profile, which the next run recalls first.

    python examples/agent_embedded.py --data-dir /tmp/memsvc-agent     # real embedding model
    python examples/agent_embedded.py --data-dir /tmp/memsvc-agent --hashing

Swapping ``Memory(settings)`` for ``MemoryClient(url, api_key=...)`` is the only change needed to
run the same loop against a memsvc server.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from memsvc import Memory, Settings
from memsvc.config import ConsolidationSettings, DatabaseSettings, EmbedSettings, IndexSettings


@dataclass(frozen=True)
class Step:
    """One task and what the (simulated) environment answers when the agent does it."""

    task: str
    observation: str


TASKS = [
    Step("Book a table for dinner", "Dana said she is vegetarian and prefers Italian food."),
    Step("Plan the weekend trip", "Dana does not like long drives; Sintra is her favourite."),
    Step("Order a birthday gift", "Dana's birthday is on 12 March; she collects vinyl records."),
    Step("Suggest a restaurant for Friday", "Dana confirmed: Italian, no meat, near Baixa."),
]


def act(task: str, recalled: list[str]) -> str:
    """The agent's policy. A real agent calls its LLM here, with the recalled memories in the
    prompt; this one just shows what it would use."""
    if not recalled:
        return f"{task}: no prior knowledge, asking the user."
    return f"{task}: using what I know -> {recalled[0]}"


def run(memory: Memory, user: str) -> list[str]:
    """The loop: recall, act, remember."""
    actions = []
    for step in TASKS:
        hits = memory.search(step.task, user_id=user, top_k=3).hits
        action = act(step.task, [h.memory.content for h in hits])
        print(action)
        actions.append(action)
        memory.add(
            [
                {"role": "assistant", "content": f"Doing: {step.task}", "name": "agent"},
                {"role": "user", "content": step.observation, "name": "Dana"},
            ],
            user_id=user,
            agent_id="planner",
            metadata={"task": step.task},
        )
    return actions


def settings_for(data_dir: Path, *, hashing: bool) -> Settings:
    """SQLite and the index under ``data_dir``; consolidation run explicitly below."""
    return Settings(
        db=DatabaseSettings(url=f"sqlite:///{data_dir / 'memsvc.db'}"),
        index=IndexSettings(dir=data_dir / "index"),
        embed=EmbedSettings(backend="hashing") if hashing else EmbedSettings(),
        consolidation=ConsolidationSettings(in_process_worker=False),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".memsvc" / "agent")
    parser.add_argument("--hashing", action="store_true", help="hashing embedder (no model)")
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    with Memory(settings_for(args.data_dir, hashing=args.hashing)) as memory:
        actions = run(memory, "dana")
        jobs = memory.service.run_pending_jobs()  # what the background worker does
        facts = memory.get_all(user_id="dana", kinds=["fact"]).items
        print(f"consolidated {jobs} job(s) into {len(facts)} fact(s):")
        for fact in facts[:8]:
            print(f"  - {fact.content}")
        final = memory.search("what food does Dana like?", user_id="dana", top_k=1).hits
        print("recall:", final[0].memory.content if final else "nothing")
    return 0 if len(actions) == len(TASKS) and final else 1


if __name__ == "__main__":
    sys.exit(main())
