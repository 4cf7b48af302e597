"""Typed exceptions the engine raises; each names what is wrong and how to fix it."""


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
