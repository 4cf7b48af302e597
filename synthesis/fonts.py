"""Font registry: templates name fonts, the caller decides which files they are.

A `FontRegistry` maps names such as ``"sans"`` or ``"sans-cjk-bold"`` to font files. The
engine never searches the disk on its own; `discover_fonts` is a convenience for callers
(the command line, the Django app) that builds a registry from font directories.
Chinese copy needs a CJK face: when none is registered the engine raises `MissingCJKFont`
with the fix, rather than drawing empty boxes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .errors import FontNotFound, MissingCJKFont

CJK_FONT_FIX = (
    "No CJK-capable font is available, so Chinese copy cannot be rendered. "
    "Run `make setup` (it installs Debian's fonts-noto-cjk, or Noto Sans SC from npm into "
    "vendor/fonts), or point CREATIVE_FONT_DIRS / --font-dir at a directory holding a CJK "
    ".otf/.ttf/.ttc font."
)

SYSTEM_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
)

# Known good faces, best first. Index selects the face inside a .ttc collection
# (Noto Sans CJK collections are ordered JP, KR, SC, TC, HK; index 2 is Simplified Chinese).
_KNOWN_FACES: tuple[tuple[str, str, int], ...] = (
    ("sans-cjk", "NotoSansCJK-Regular.ttc", 2),
    ("sans-cjk-bold", "NotoSansCJK-Bold.ttc", 2),
    ("sans-cjk", "NotoSansSC-Regular.ttf", 0),
    ("sans-cjk-bold", "NotoSansSC-Bold.ttf", 0),
    ("sans-cjk", "NotoSansSC-Regular.otf", 0),
    ("sans-cjk-bold", "NotoSansSC-Bold.otf", 0),
    ("sans-cjk", "NotoSansSC_400Regular.ttf", 0),
    ("sans-cjk-bold", "NotoSansSC_700Bold.ttf", 0),
    ("sans-cjk", "wqy-microhei.ttc", 0),
    ("sans-cjk", "wqy-zenhei.ttc", 0),
    ("serif-cjk", "NotoSerifCJK-Regular.ttc", 2),
    ("sans", "DejaVuSans.ttf", 0),
    ("sans-bold", "DejaVuSans-Bold.ttf", 0),
)
_CJK_PROBE = "中文"


@dataclass(frozen=True)
class FontFace:
    """One font file (and face inside a collection) under a template-facing name."""

    name: str
    path: Path
    index: int = 0
    covers_cjk: bool = False


@dataclass(frozen=True)
class FontRegistry:
    """Name -> face lookup handed to the renderer. Immutable; build a new one to change it."""

    faces: Mapping[str, FontFace] = field(default_factory=dict)

    def resolve(self, name: str) -> FontFace:
        try:
            return self.faces[name]
        except KeyError:
            known = ", ".join(sorted(self.faces)) or "none"
            raise FontNotFound(f"Font {name!r} is not registered (registered: {known}).") from None

    def cjk_face(self, preferred: str | None = None) -> FontFace:
        """The face to use for CJK text: `preferred` if it covers CJK, else any CJK face."""
        if preferred and preferred in self.faces and self.faces[preferred].covers_cjk:
            return self.faces[preferred]
        for face in self.faces.values():
            if face.covers_cjk:
                return face
        raise MissingCJKFont(CJK_FONT_FIX)

    def load(self, name: str, size: int) -> ImageFont.FreeTypeFont:
        face = self.resolve(name)
        return _load_font(str(face.path), face.index, int(size))

    def with_face(self, face: FontFace) -> FontRegistry:
        return FontRegistry({**self.faces, face.name: face})


@functools.lru_cache(maxsize=256)
def _load_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    # Loading a 20 MB CJK collection costs milliseconds; renders reuse the same sizes.
    return ImageFont.truetype(path, size=size, index=index, layout_engine=ImageFont.Layout.BASIC)


def font_covers(path: Path, text: str, index: int = 0) -> bool:
    """True if every character of `text` has a real glyph (not the .notdef box)."""
    font = ImageFont.truetype(str(path), size=24, index=index)

    def glyph(ch: str) -> bytes:
        canvas = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(canvas).text((8, 8), ch, font=font, fill=255)
        return canvas.tobytes()

    notdef = glyph("\U0010fffd")
    return all(glyph(ch) != notdef for ch in text if not ch.isspace())


def font_face_from_file(name: str, path: Path, index: int = 0) -> FontFace:
    """Load `path` to prove it is a usable font; raises FontNotFound if it is not."""
    try:
        covers = font_covers(path, _CJK_PROBE, index)
    except OSError as exc:
        raise FontNotFound(f"{path} is not a readable font file: {exc}") from exc
    return FontFace(name=name, path=Path(path), index=index, covers_cjk=covers)


def discover_fonts(dirs: Iterable[Path | str] = SYSTEM_FONT_DIRS) -> FontRegistry:
    """Build a registry of the known faces found under `dirs` (first match wins)."""
    by_filename: dict[str, Path] = {}
    for directory in dirs:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() in {".ttf", ".otf", ".ttc"}:
                by_filename.setdefault(path.name, path)
    faces: dict[str, FontFace] = {}
    for name, filename, index in _KNOWN_FACES:
        if name in faces or filename not in by_filename:
            continue
        faces[name] = font_face_from_file(name, by_filename[filename], index)
    # Templates ask for "sans"; where the Latin face is missing the CJK one serves both.
    if "sans" not in faces and "sans-cjk" in faces:
        faces["sans"] = FontFace("sans", faces["sans-cjk"].path, faces["sans-cjk"].index, True)
    if "sans-bold" not in faces and "sans-cjk-bold" in faces:
        bold = faces["sans-cjk-bold"]
        faces["sans-bold"] = FontFace("sans-bold", bold.path, bold.index, True)
    return FontRegistry(faces)
