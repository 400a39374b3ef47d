"""The same LoCoMo retrieval through memsvc's native API and through mem0's own client.

One memory per conversation (the first ``--conversations``), built and consolidated in
``--workdir`` as :mod:`benchmarks.locomo.run` builds it (``--reuse`` keeps one that is already
there). Then ``memsvc serve`` runs as a process on it (the real embedder, auth off, recall
reinforcement off so that no search changes what the next one sees) and every scored question
is asked over HTTP twice, side by side: with memsvc's SDK (``POST /v1/search``) and with
``mem0ai``'s ``MemoryClient`` (``POST /v3/memories/search/``, ``filters={"user_id": ...}``),
both with ``top_k=20``. Before the two timed calls one untimed search puts the query's vector
in the embedding cache, so neither pays for the model and the difference is the layer's own
cost; the two timed calls alternate which goes first.

Recall is scored on what each client returned (events and facts earn their ``source_refs``),
and the two rankings are compared id by id.

    python -m benchmarks.locomo.mem0_compat --conversations 2 --workdir W --reuse
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.locomo import baselines
from benchmarks.locomo.data import DEFAULT_LOCOMO, Conversation, load_locomo, recall_at_k
from benchmarks.locomo.run import CREDITED, RESULTS, _is_ingested, build_settings, ingest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MEM0_TELEMETRY", "false")

logger = logging.getLogger("benchmarks.locomo.mem0_compat")
KS = (5, 10, 20)
DEPTH = 20
ROOT = Path(__file__).resolve().parents[2]


def prepare(conversations: Sequence[Conversation], workdir: Path, reuse: bool) -> None:
    """Add and consolidate each conversation unless ``reuse`` finds it already there."""
    from memsvc.wiring import build_service

    service = build_service(build_settings(workdir, []))
    try:
        for conversation in conversations:
            if reuse and _is_ingested(service, conversation):
                logger.info("%s: reusing the memory in %s", conversation.sample_id, workdir)
                continue
            logger.info("%s: adding and consolidating", conversation.sample_id)
            ingest(service, conversation)
    finally:
        service.close()


def serve(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``memsvc serve`` on ``workdir`` as a process; returns it and its URL once ready."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    settings = [
        "-s", "db.url", f"sqlite:///{workdir / 'memsvc.db'}",
        "-s", "index.dir", str(workdir / "index"),
        "-s", "consolidation.in_process_worker", "false",
        "-s", "retrieval.reinforce", "false",
        "-s", "api.rate_limit_per_minute", "0",
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "memsvc.cli.main", *settings, "serve", "--port", str(port)],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("memsvc serve did not start")


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {"p50_ms": q(0.5), "p95_ms": q(0.95), "mean_ms": round(sum(ordered) / len(ordered), 2)}


def compare(conversations: Sequence[Conversation], url: str) -> dict[str, Any]:
    """Ask every scored question through both clients; recall, latency, agreement."""
    from mem0 import MemoryClient as Mem0Client

    from memsvc.sdk import MemoryClient

    native = MemoryClient(url, api_key=None, timeout=60)
    mem0 = Mem0Client(api_key="local-dev", host=url)
    rows: dict[str, list[dict[str, Any]]] = {"native": [], "mem0": []}
    took: dict[str, list[float]] = {"native": [], "mem0": []}
    added: list[float] = []
    same = 0
    try:
        for conversation in conversations:
            user = conversation.sample_id
            scored = [qa for qa in conversation.qa if qa.is_scored]
            for i, qa in enumerate(scored):
                native.search(qa.question, user_id=user, top_k=DEPTH)  # warm the query vector

                def by_native(
                    q: str = qa.question, u: str = user
                ) -> list[tuple[str, str, list[str]]]:
                    hits = native.search(q, user_id=u, top_k=DEPTH).hits
                    return [(h.memory.id, h.memory.kind, list(h.source_refs)) for h in hits]

                def by_mem0(
                    q: str = qa.question, u: str = user
                ) -> list[tuple[str, str, list[str]]]:
                    found = mem0.search(q, filters={"user_id": u}, top_k=DEPTH)["results"]
                    return [(r["id"], r["kind"], list(r["source_refs"])) for r in found]

                order = [("native", by_native), ("mem0", by_mem0)]
                if i % 2:
                    order.reverse()
                got: dict[str, list[tuple[str, str, list[str]]]] = {}
                for name, call in order:
                    started = time.perf_counter()
                    got[name] = call()
                    took[name].append((time.perf_counter() - started) * 1000)
                added.append(took["mem0"][-1] - took["native"][-1])
                same += [h[0] for h in got["native"]] == [h[0] for h in got["mem0"]]
                for name, hits in got.items():
                    earned = [refs if kind in CREDITED else [] for _, kind, refs in hits]
                    row: dict[str, Any] = {"category": qa.category}
                    for k in KS:
                        row[f"R@{k}"] = recall_at_k(earned, qa.evidence, k)
                    rows[name].append(row)
            logger.info("%s: %d questions", user, len(scored))
    finally:
        native.close()
        mem0.client.close()
    metrics = [f"R@{k}" for k in KS]
    return {
        "recall": {name: baselines.summarise(r, metrics) for name, r in rows.items()},
        "latency": {name: _percentiles(t) for name, t in took.items()},
        "added_by_layer_ms": _percentiles(added),
        "identical_rankings": f"{same}/{len(added)}",
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_LOCOMO, help="locomo10.json")
    parser.add_argument("--conversations", type=int, default=2, help="the first N")
    parser.add_argument("--workdir", type=Path, required=True, help="the memory's folder")
    parser.add_argument("--reuse", action="store_true", help="keep conversations already there")
    parser.add_argument("--out", type=Path, default=RESULTS / "locomo_mem0_compat.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    conversations = load_locomo(args.data)[: args.conversations]
    args.workdir.mkdir(parents=True, exist_ok=True)
    prepare(conversations, args.workdir, args.reuse)
    proc, url = serve(args.workdir)
    try:
        result = compare(conversations, url)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    payload = {
        "command": " ".join(["python -m benchmarks.locomo.mem0_compat", *(argv or sys.argv[1:])]),
        "conversations": [c.sample_id for c in conversations],
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
