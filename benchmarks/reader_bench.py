"""The reader, side by side: memories in attention vs in the prompt vs none, as the bank grows.

One command (on the lent GPU, or tiny on the CPU)::

    python benchmarks/reader_bench.py --out benchmarks/results            # defaults: GPU sizes
    python benchmarks/reader_bench.py --sizes 256,512 --questions 4 --out /tmp/rb   # CPU check

Data: a counterfactual memory QA set generated here (seeded): facts about invented people
(city, pet's name, secret code, job, birth year, favourite food) and world facts made false
("The capital of Japan is Velmora."), so the model cannot answer from its weights. A bank of T
tokens is a prefix of one shuffled list of facts; the questions at size T ask about facts drawn
uniformly from that bank, the rest are distractors of the same shapes.

Modes (same model, same prompt template, greedy):
    a_attention     Extended Mind: top-k memory keys per head and position in every layer,
                    over the whole bank (no retrieval outside the model)
    a_attention_top the same, inside the memories the retriever chose (hybrid)
    a_kv            retriever's memories, their precomputed K/V placed in the cache (no prefill)
    b_prompt        retriever's memories as prompt text, same token budget as a_kv
    c_full          every memory in the prompt; past the model's window only timed (no accuracy)
    d_none          the question alone
    e_inject        the top memory's token embeddings added to one layer (Memory Injections)

The retriever is BM25 over the facts (the service's sparse half; the dense model cannot travel
to the GPU machine), giving memories best first up to ``--budget`` tokens.

Metrics per mode and size: exact match (normalised answer == gold), contains (gold inside the
normalised answer), the top citation's hit rate, time to first token (from the call: includes
retrieval inside attention and K/V placement, not the BM25 search), decode tokens/s, and peak
GPU memory above what was allocated before the call (the bank itself is reported apart).
Writes ``reader_bench.json`` and ``reader_bench.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memsvc.llm.local_model import load_causal_lm, packaged_gguf, resolve_device  # noqa: E402
from memsvc.reader import MemoryBank, Reader, ReaderSettings  # noqa: E402

# ----------------------------------------------------------------------------- data

_SYL = [
    "ka", "lo", "mir", "tan", "vel", "zor", "qui", "bra", "dun", "el", "fa", "gor", "hal", "is",
    "jun", "kel", "mor", "nak", "ost", "pel", "rin", "sar", "tov", "ul", "var", "wen", "yor",
    "zan", "bel", "cor", "dra", "fen", "gil", "hor", "ith", "lum", "nor", "pra", "quel", "ros",
]  # fmt: skip
_COUNTRIES = [
    "Japan", "France", "Brazil", "Canada", "Egypt", "Kenya", "Norway", "Peru", "India",
    "Germany", "Italy", "Spain", "Mexico", "Chile", "Greece", "Turkey", "Poland", "Sweden",
    "Vietnam", "Nigeria", "Argentina", "Australia", "Portugal", "Ireland", "Austria", "Cuba",
    "Morocco", "Thailand", "Finland", "Denmark",
]  # fmt: skip
_JOBS = [
    "baker",
    "pilot",
    "dentist",
    "plumber",
    "sculptor",
    "librarian",
    "chemist",
    "tailor",
    "farmer",
    "jeweller",
    "surgeon",
    "carpenter",
    "translator",
    "beekeeper",
    "astronomer",
]
_FOODS = [
    "mango chutney",
    "lentil soup",
    "fried squid",
    "plum cake",
    "goat cheese",
    "rice noodles",
    "fig jam",
    "beet salad",
    "onion tart",
    "pumpkin pie",
]
_ANIMALS = ["cat", "dog", "parrot", "ferret", "tortoise", "goat", "rabbit", "owl"]


@dataclass(frozen=True)
class Fact:
    id: str
    text: str
    question: str
    answer: str


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYL) for _ in range(parts)).capitalize()


def make_facts(n: int, seed: int) -> list[Fact]:
    """``n`` counterfactual facts (world facts made false first, then invented people)."""
    rng = random.Random(seed)
    facts: list[Fact] = []
    seen: set[str] = set()

    def fresh(parts: int) -> str:
        tries = 0
        while True:  # a longer word once the short ones run out (40**2 two-syllable words)
            w = _word(rng, parts + tries // 20)
            if w not in seen:
                seen.add(w)
                return w
            tries += 1

    for country in _COUNTRIES:
        city = fresh(3)
        facts.append(
            Fact(
                f"m{len(facts)}",
                f"The capital of {country} is {city}.",
                f"What is the capital of {country}?",
                city,
            )
        )
    while len(facts) < n:
        person = f"{fresh(2)} {fresh(3)}"
        kind = rng.randrange(6)
        if kind == 0:
            city = fresh(3)
            text, q, a = (
                f"{person} lives in the town of {city}.",
                f"In which town does {person} live?",
                city,
            )
        elif kind == 1:
            pet, animal = fresh(2), rng.choice(_ANIMALS)
            text, q, a = (
                f"{person} has a {animal} named {pet}.",
                f"What is the name of {person}'s {animal}?",
                pet,
            )
        elif kind == 2:
            code = str(rng.randrange(1000, 10000))
            text, q, a = (
                f"The locker code of {person} is {code}.",
                f"What is the locker code of {person}?",
                code,
            )
        elif kind == 3:
            job = rng.choice(_JOBS)
            text, q, a = f"{person} works as a {job}.", f"What is {person}'s job?", job
        elif kind == 4:
            year = str(rng.randrange(1890, 2011))
            text, q, a = f"{person} was born in {year}.", f"In which year was {person} born?", year
        else:
            food = rng.choice(_FOODS)
            text, q, a = (
                f"{person}'s favourite food is {food}.",
                f"What is {person}'s favourite food?",
                food,
            )
        facts.append(Fact(f"m{len(facts)}", text, q, a))
    rng.shuffle(facts)
    return facts


def normalise(text: str) -> str:
    text = text.lower()
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


# ----------------------------------------------------------------------------- retrieval


class BM25:
    """Okapi BM25 over short texts (k1=1.2, b=0.75); enough for a named-entity QA set."""

    def __init__(self, texts: list[str]) -> None:
        self.docs = [Counter(normalise(t).split()) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lengths) / max(len(self.docs), 1)
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, d in enumerate(self.docs):
            for t in d:
                self.postings.setdefault(t, []).append(i)

    def search(self, query: str) -> list[int]:
        scores: dict[int, float] = {}
        for t in set(normalise(query).split()):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i in self.postings[t]:
                tf = self.docs[i][t]
                norm = tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * self.lengths[i] / self.avg))
                scores[i] = scores.get(i, 0.0) + idf * norm
        return sorted(scores, key=lambda i: -scores[i])


def within_budget(order: list[int], bank: MemoryBank, budget: int) -> list[int]:
    chosen: list[int] = []
    used = 0
    for i in order:
        a, b = bank.span(i)
        if chosen and used + (b - a) > budget:
            break
        chosen.append(i)
        used += b - a
    return chosen


# ----------------------------------------------------------------------------- measuring


class Meter:
    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")
        if self.cuda:
            import torch

            self.torch = torch

    def start(self) -> int:
        if not self.cuda:
            return 0
        self.torch.cuda.synchronize()
        self.torch.cuda.reset_peak_memory_stats()
        return int(self.torch.cuda.memory_allocated())

    def peak_above(self, base: int) -> int:
        if not self.cuda:
            return 0
        self.torch.cuda.synchronize()
        return int(self.torch.cuda.max_memory_allocated()) - base


def prefill_only(reader: Reader, bank: MemoryBank, meter: Meter, question: str) -> dict[str, Any]:
    """Time the prefill of every memory in the prompt (one token out): TTFT and memory only."""
    cfg = replace(reader.settings, mode="prompt", max_new_tokens=1)
    base = meter.start()
    res = reader.read(question, bank, settings=cfg)
    return {"ttft_s": res.ttft_s, "peak": meter.peak_above(base), "tokens": res.prompt_tokens}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"n": 0}
    scored = [r for r in rows if r.get("em") is not None]
    decode = [r["new_tokens"] / r["decode_s"] for r in rows if r.get("decode_s", 0) > 0]
    cited = [r for r in rows if r.get("cited") is not None]

    def mean(xs: list[float]) -> float | None:
        return round(statistics.fmean(xs), 4) if xs else None

    return {
        "n": len(rows),
        "em": mean([float(r["em"]) for r in scored]),
        "contains": mean([float(r["contains"]) for r in scored]),
        "citation_hit": mean([float(r["cited"]) for r in cited]),
        "ttft_ms_p50": round(1000 * statistics.median(r["ttft_s"] for r in rows), 2),
        "ttft_ms_mean": round(1000 * statistics.fmean(r["ttft_s"] for r in rows), 2),
        "tokens_per_s": mean(decode),
        "peak_mb": round(max(r["peak"] for r in rows) / 2**20, 1),
        "prompt_tokens_mean": mean([float(r["prompt_tokens"]) for r in rows]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="GGUF file or HF folder (default: package)")
    parser.add_argument("--cache-dir", default=str(Path.home() / ".memsvc" / "models"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default="1024,4096,16384,65536")
    parser.add_argument("--questions", type=int, default=100, help="Questions per size")
    parser.add_argument("--budget", type=int, default=48, help="Memory tokens for a_kv/b_prompt")
    parser.add_argument("--top-k", type=int, default=10, help="Keys per head (attention modes)")
    parser.add_argument("--window", type=int, default=8192, help="Model context window")
    parser.add_argument("--timing-questions", type=int, default=5, help="c_full past the window")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument(
        "--modes", default="a_attention,a_attention_top,a_kv,b_prompt,c_full,d_none,e_inject"
    )
    parser.add_argument("--deadline-s", type=float, default=1e9, help="Stop asking after this")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()

    started = time.perf_counter()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    modes = [m for m in args.modes.split(",") if m]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(args.device)
    source = Path(args.model) if args.model else packaged_gguf()
    dtype = "bfloat16" if device.startswith("cuda") else "float32"
    model, tokenizer = load_causal_lm(str(source), args.cache_dir, device, dtype=dtype)
    load_s = time.perf_counter() - started
    base_cfg = ReaderSettings(
        mode="none",
        top_k=args.top_k,
        max_new_tokens=args.max_new_tokens,
        encode_batch=256 if device.startswith("cuda") else 16,
    )
    reader = Reader(model, tokenizer, name=source.stem, settings=base_cfg)
    meter = Meter(device)

    # Facts: enough for the largest bank (about 12 tokens each).
    facts = make_facts(max(64, sizes[-1] // 11 + 64), args.seed)
    t0 = time.perf_counter()
    full = reader.encode([f.text for f in facts], [f.id for f in facts])
    encode_s = time.perf_counter() - t0
    sizes_counts = []
    for size in sizes:
        count = next((i for i in range(full.count) if full.offsets[i + 1] > size), full.count)
        sizes_counts.append((size, count))

    report: dict[str, Any] = {
        "command": "python " + " ".join(sys.argv),
        "device": device,
        "gpu": _gpu_name(device),
        "platform": platform.platform(),
        "model": source.name,
        "dtype": dtype,
        "layers": reader.layers,
        "settings": {
            k: getattr(args, k)
            for k in ("budget", "top_k", "window", "max_new_tokens", "questions", "seed")
        },
        "load_s": round(load_s, 2),
        "encode": {
            "facts": full.count,
            "tokens": full.tokens,
            "seconds": round(encode_s, 2),
            "tokens_per_s": round(full.tokens / max(encode_s, 1e-9), 1),
        },
        "sizes": [],
    }
    # Warm-up (kernels, allocator) outside the measurements.
    warm = full.select(list(range(min(8, full.count))))
    for m in ("prompt", "kv", "attention", "none"):
        reader.read(facts[0].question, warm, settings=replace(base_cfg, mode=m))

    for n_size, (size, count) in enumerate(sizes_counts):
        bank = full.select(list(range(count)))
        bm25 = BM25(bank.texts)
        rng = random.Random(args.seed + size)
        asked = rng.sample(range(count), min(args.questions, count))
        per_mode: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
        fits = bank.tokens + 80 <= args.window
        left = args.deadline_s - (time.perf_counter() - started)
        size_deadline = time.perf_counter() + left / (len(sizes_counts) - n_size)
        retrieval_hits = 0
        for qi, idx in enumerate(asked):
            if time.perf_counter() > size_deadline:
                break
            fact = facts[idx]
            gold = normalise(fact.answer)
            order = bm25.search(fact.question)
            chosen = within_budget(order, bank, args.budget) if order else [0]
            retrieval_hits += int(idx in chosen)
            for mode in modes:
                if mode == "d_none" and n_size > 0:
                    continue
                if mode == "c_full" and not fits:
                    if qi < args.timing_questions:
                        t = prefill_only(reader, bank, meter, fact.question)
                        per_mode[mode].append(
                            {
                                "ttft_s": t["ttft_s"],
                                "peak": t["peak"],
                                "prompt_tokens": t["tokens"],
                                "new_tokens": 0,
                                "em": None,
                            }
                        )
                    continue
                reader_mode, select = {
                    "a_attention": ("attention", None),
                    "a_attention_top": ("attention", chosen),
                    "a_kv": ("kv", chosen),
                    "b_prompt": ("prompt", chosen),
                    "c_full": ("prompt", None),
                    "d_none": ("none", None),
                    "e_inject": ("inject", chosen[:1]),
                }[mode]
                base = meter.start()
                res = reader.read(
                    fact.question, bank, select=select, settings=replace(base_cfg, mode=reader_mode)
                )  # type: ignore[arg-type]
                peak = meter.peak_above(base)
                said = normalise(res.answer)
                top = res.citations[0].memory_id if res.citations else None
                per_mode[mode].append(
                    {
                        "em": said == gold,
                        "contains": bool(gold) and f" {gold} " in f" {said} ",
                        "cited": (top == fact.id) if mode not in ("d_none", "e_inject") else None,
                        "ttft_s": res.ttft_s,
                        "decode_s": res.total_s - res.ttft_s,
                        "new_tokens": res.new_tokens,
                        "peak": peak,
                        "prompt_tokens": res.prompt_tokens,
                        "answer": res.answer if qi < 3 else None,
                        "gold": fact.answer if qi < 3 else None,
                    }
                )
        entry = {
            "size_tokens": bank.tokens,
            "memories": bank.count,
            "bank_mb": round(bank.nbytes / 2**20, 1),
            "in_window": fits,
            "questions": len(per_mode[modes[0]]) if modes else 0,
            "retrieval_recall": round(
                retrieval_hits / max(1, len(per_mode.get("a_kv", [])) or len(asked)), 4
            ),
            "modes": {m: summarise(rows) for m, rows in per_mode.items() if rows},
            "examples": {
                m: [
                    {"gold": r["gold"], "answer": r["answer"]}
                    for r in rows
                    if r.get("gold") is not None
                ]
                for m, rows in per_mode.items()
            },
        }
        report["sizes"].append(entry)
        report["elapsed_s"] = round(time.perf_counter() - started, 1)
        (out_dir / "reader_bench.json").write_text(json.dumps(report, indent=2))
        print(
            json.dumps(
                {
                    "size": bank.tokens,
                    **{
                        m: {
                            k: v
                            for k, v in s.items()
                            if k in ("n", "contains", "ttft_ms_p50", "peak_mb")
                        }
                        for m, s in entry["modes"].items()
                    },
                }
            ),
            flush=True,
        )
        del bank
    _plot(report, out_dir / "reader_bench.png")
    print(f"wrote {out_dir / 'reader_bench.json'} in {time.perf_counter() - started:.0f}s")


def _gpu_name(device: str) -> str | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return str(torch.cuda.get_device_name(0))


def _plot(report: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    sizes = report["sizes"]
    modes = sorted({m for s in sizes for m in s["modes"]})
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    panels = [
        ("contains", "answer accuracy (gold in answer)", False),
        ("ttft_ms_p50", "time to first token, p50 (ms)", True),
        ("peak_mb", "peak GPU memory above resident (MB)", True),
        ("tokens_per_s", "decode tokens/s", False),
    ]
    for ax, (key, title, log) in zip(axes.flat, panels, strict=True):
        for m in modes:
            xs = [s["size_tokens"] for s in sizes if s["modes"].get(m, {}).get(key) is not None]
            ys = [s["modes"][m][key] for s in sizes if s["modes"].get(m, {}).get(key) is not None]
            if xs:
                ax.plot(xs, ys, marker="o", label=m)
        ax.set_xscale("log", base=2)
        if log:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("memory bank (tokens)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"reader: {report['model']} on {report.get('gpu') or report['device']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
