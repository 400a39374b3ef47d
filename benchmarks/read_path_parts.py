"""Side-by-side timings of three choices in the read path, on a store rest_bench.py left.

(issue 6; the figures quoted in memsvc/store/memories.py and memsvc/wiring.py)

- loading 80 random events: ``get_records`` (plain rows) against ``to_record(get_rows(...))``
  (ORM objects), best of three passes over 300 id sets;
- neighbours of 5 anchors: ``event_neighbours`` with its cached statement against the statement
  rebuilt for every call;
- whole searches with NumPy's BLAS capped to one thread against two, alternating in blocks of 90
  searches in one process.

    python benchmarks/rest_bench.py --workdir W --concurrency 1      # builds the 100k store
    python benchmarks/read_path_parts.py --workdir W
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from rest_bench import make_settings, workload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from memsvc.store.memories import _neighbours_statement, event_neighbours, get_records, get_rows
    from memsvc.store.records import to_record
    from memsvc.types import MemoryKind, Scope
    from memsvc.wiring import build_service

    service = build_service(make_settings(args.workdir, "hashing"), start_worker=False)
    ns = service.namespace_id(None)
    rng = random.Random(1)
    top = service.stats()["memories"]["event"]
    id_sets = [rng.sample(range(1, top + 1), 80) for _ in range(300)]
    with service.read() as session:
        best = {"orm": float("inf"), "plain": float("inf")}
        for _ in range(3):
            for name in best:
                started = time.perf_counter()
                for ids in id_sets:
                    if name == "orm":
                        [
                            to_record(r)
                            for r in get_rows(session, ns, MemoryKind.EVENT, ids).values()
                        ]
                    else:
                        get_records(session, ns, MemoryKind.EVENT, ids)
                best[name] = min(best[name], (time.perf_counter() - started) / len(id_sets))
                session.expunge_all()
        print(
            f"80 events: to_record(get_rows) {best['orm'] * 1000:.2f} ms, "
            f"get_records {best['plain'] * 1000:.2f} ms"
        )
        anchor_sets = [
            list(
                get_records(
                    session, ns, MemoryKind.EVENT, rng.sample(range(1, top + 1), 5)
                ).values()
            )
            for _ in range(300)
        ]
        best = {"rebuilt": float("inf"), "cached": float("inf")}
        for _ in range(3):
            for name in best:
                started = time.perf_counter()
                for anchors in anchor_sets:
                    if name == "rebuilt":
                        _neighbours_statement.cache_clear()
                    event_neighbours(session, ns, anchors, before=2, after=2)
                best[name] = min(best[name], (time.perf_counter() - started) / len(anchor_sets))
        print(
            f"neighbours of 5 anchors: statement rebuilt {best['rebuilt'] * 1000:.2f} ms, "
            f"cached {best['cached'] * 1000:.2f} ms"
        )
    jobs = workload(1130, [f"user{i}" for i in range(50)], seed=3)
    for query, user in jobs[:50]:
        service.search(query, scope=Scope(user_id=user))
    took: dict[int, list[float]] = {1: [], 2: []}
    for block in range(12):
        threads = 1 if block % 2 == 0 else 2
        with threadpool_limits(limits=threads, user_api="blas"):
            for query, user in jobs[50 + block * 90 : 50 + (block + 1) * 90]:
                started = time.perf_counter()
                service.search(query, scope=Scope(user_id=user), top_k=10)
                took[threads].append((time.perf_counter() - started) * 1000)
    for threads, samples in took.items():
        p50 = statistics.median(samples)
        print(f"BLAS threads {threads}: search p50 {p50:.2f} ms (n={len(samples)})")
    service.close()


if __name__ == "__main__":
    main()
