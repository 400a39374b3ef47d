"""Segmentation quality with the real embedding model (all-MiniLM-L6-v2).

These tests load the model (several seconds) and are marked slow. The LoCoMo test logs the
precision and recall it measures (see them with ``-o log_cli=true --log-cli-level=INFO``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memsvc.config import SegmentationSettings
from memsvc.embed.base import Embedder
from memsvc.policies.segment import SegmentItem, segment

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

LOCOMO = Path("/work/shared/data/locomo/locomo10.json")

PASTA = [
    "I'm trying to make fresh pasta at home this weekend.",
    "Nice! Do you use semolina or all-purpose flour for the dough?",
    "Mostly semolina, with a few eggs, kneaded for about ten minutes.",
    "Let the dough rest for thirty minutes before you roll it out thin.",
    "I want to cut it into tagliatelle and serve it with a slow-cooked ragù.",
    "A good ragù needs at least three hours of simmering on the stove.",
    "Don't forget to salt the boiling water generously before adding the pasta.",
    "Fresh pasta only needs two or three minutes in the pot.",
]
CAR = [
    "By the way, the check engine light on my car came on this morning.",
    "That could be anything from a loose gas cap to a faulty oxygen sensor.",
    "The mechanic said the spark plugs are worn and the engine is misfiring.",
    "Replacing spark plugs and ignition coils is usually not too expensive.",
    "He also mentioned that the brake pads are getting thin.",
    "Worn brake pads can damage the rotors if you wait too long.",
    "I'll take the car to the garage on Tuesday for the repairs.",
    "Ask them to check the tire pressure and the oil level while it's there.",
]
JAPAN = [
    "Totally different subject: I'm planning a trip to Japan in April.",
    "April is cherry blossom season, so Kyoto will be crowded.",
    "I want to visit the temples in Kyoto and the deer park in Nara.",
    "Get a Japan Rail Pass if you take the shinkansen between cities.",
    "I'm also excited to eat real ramen and sushi in Tokyo.",
    "Book a ryokan with an onsen for at least one night.",
    "Do I need a visa to visit Japan as a tourist?",
    "Many passports can enter Japan visa-free for up to ninety days.",
]


def _near(found: list[int], truth: list[int], tolerance: int) -> int:
    return sum(any(abs(f - t) <= tolerance for f in found) for t in truth)


def test_segment_finds_planted_topic_shifts(real_embedder: Embedder) -> None:
    texts = PASTA + CAR + JAPAN
    vectors = real_embedder.embed(texts)
    start = datetime(2024, 4, 2, 18, 0, tzinfo=UTC)
    items = [
        SegmentItem(
            key=i, embedding=vectors[i], occurred_at=start + timedelta(minutes=i), session_id="s"
        )
        for i in range(len(texts))
    ]
    for refine in (False, True):
        # Default gamma: both shifts found; sub-topic shifts (brakes, food) may add a few cuts.
        default = [g[0] for g in segment(items, SegmentationSettings(refine=refine))[1:]]
        assert _near(default, [8, 16], tolerance=1) == 2, default
        assert len(default) <= 4, default
        # A stricter gamma keeps only the planted topic changes.
        strict = [g[0] for g in segment(items, SegmentationSettings(gamma=1.5, refine=refine))]
        assert strict == [0, 8, 16]


def _locomo_turns(index: int) -> tuple[list[str], list[datetime], list[int]]:
    conversation = json.loads(LOCOMO.read_text())[index]["conversation"]
    texts: list[str] = []
    times: list[datetime] = []
    truth: list[int] = []
    n = 1
    while f"session_{n}" in conversation:
        when = datetime.strptime(conversation[f"session_{n}_date_time"], "%I:%M %p on %d %B, %Y")
        if texts:
            truth.append(len(texts))
        for i, turn in enumerate(conversation[f"session_{n}"]):
            texts.append(turn["text"])
            times.append(when.replace(tzinfo=UTC) + timedelta(seconds=30 * i))
        n += 1
    return texts, times, truth


@pytest.mark.skipif(not LOCOMO.exists(), reason=f"LoCoMo data not found at {LOCOMO}")
def test_segment_finds_locomo_session_boundaries_without_session_ids(
    real_embedder: Embedder, record_property: Callable[[str, object], None]
) -> None:
    texts, times, truth = _locomo_turns(1)
    vectors = real_embedder.embed(texts)
    tolerance = 2
    # Share of positions within ±2 turns of a true boundary: the precision of random cuts.
    chance = len({p for t in truth for p in range(t - tolerance, t + tolerance + 1)}) / len(texts)
    measured = {}
    for label, with_times in (("times", True), ("no times", False)):
        items = [
            SegmentItem(key=i, embedding=vectors[i], occurred_at=times[i] if with_times else None)
            for i in range(len(texts))
        ]
        found = [group[0] for group in segment(items, SegmentationSettings())[1:]]
        recall = _near(found, truth, tolerance) / len(truth)
        precision = sum(any(abs(f - t) <= tolerance for t in truth) for f in found) / len(found)
        measured[label] = (recall, precision)
        record_property(f"locomo_{label}", f"recall={recall:.2f} precision={precision:.2f}")
        logger.info("LoCoMo conv 1, %s: recall %.2f precision %.2f", label, recall, precision)
    assert measured["times"][0] == 1.0
    recall, precision = measured["no times"]
    assert recall >= 0.6
    assert precision > chance
