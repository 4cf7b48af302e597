import pytest

from synthesis.fonts import discover_fonts


@pytest.fixture(scope="session")
def fonts():
    """The fonts set up by `make setup` (a CJK face among them)."""
    return discover_fonts()
