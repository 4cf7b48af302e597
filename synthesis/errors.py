"""Typed exceptions the engine raises; each names what is wrong and how to fix it."""

import time


class SynthesisError(Exception):
    """Base class for every error the engine raises on bad input."""

    code = "synthesis_error"


class FontNotFound(SynthesisError):
    code = "font_not_found"


class MissingCJKFont(FontNotFound):
    code = "missing_cjk_font"


class ImageRejected(SynthesisError):
    """An input image that cannot be used (corrupt, too large, empty...)."""

    code = "image_rejected"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class TimeBudgetExceeded(SynthesisError):
    """Work handed a deadline (a `time.monotonic()` value) ran past it.

    Checked between steps (a layer, a candidate), so the work stops within one step of the
    deadline and nothing half-made is returned.
    """

    code = "time_budget_exceeded"

    @classmethod
    def check(cls, deadline: float | None, what: str) -> None:
        """Raise when `deadline` has passed; None means no deadline."""
        if deadline is not None and time.monotonic() > deadline:
            raise cls(f"{what} ran past its time budget; simplify the template (fewer layers) or try again.")
