"""Reader fixtures: the packaged SmolLM2-135M converted once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the GGUF conversion, shared by every reader test of the session."""
    return tmp_path_factory.mktemp("reader-models")
