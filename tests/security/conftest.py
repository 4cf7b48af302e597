"""Fixtures of the security tests: media under a temporary directory, a clean cache, what is stored."""

from pathlib import Path

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _own_media(media) -> Path:
    """Every security test stores into its own MEDIA_ROOT (the root conftest's `media`)."""
    return media


@pytest.fixture(autouse=True)
def clean_cache():
    # Login failures and serving lookups live in the cache, which outlives a test's database.
    cache.clear()
    yield
    cache.clear()


def stored_files(root: Path) -> list[Path]:
    """Every file under MEDIA_ROOT (what an upload left behind)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
