"""Fixtures for the language tasks: LoCoMo turns as :class:`Turn` values, and embedders."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memsvc.embed.hashing import HashingEmbedder
from memsvc.types import Turn


def locomo_turns(sample: dict[str, Any], sessions: range | list[int]) -> list[Turn]:
    """The turns of ``sessions`` of one LoCoMo sample; event ids count from 1 in order.

    Every turn of a session gets the session's date and time, one second apart.
    """
    conversation = sample["conversation"]
    turns: list[Turn] = []
    for number in sessions:
        started = datetime.strptime(
            conversation[f"session_{number}_date_time"], "%I:%M %p on %d %B, %Y"
        ).replace(tzinfo=UTC)
        for offset, turn in enumerate(conversation[f"session_{number}"]):
            turns.append(
                Turn(
                    event_id=len(turns) + 1,
                    speaker=turn["speaker"],
                    role="user",
                    text=turn["text"],
                    occurred_at=started + timedelta(seconds=offset),
                    session_id=f"session_{number}",
                )
            )
    return turns


@pytest.fixture(scope="session")
def locomo(locomo_path: Path) -> list[dict[str, Any]]:
    """The LoCoMo samples (skips when the data set is absent)."""
    data: list[dict[str, Any]] = json.loads(locomo_path.read_text())
    return data


@pytest.fixture
def hashing() -> HashingEmbedder:
    """The deterministic embedder."""
    return HashingEmbedder(dim=384)
