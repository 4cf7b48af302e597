"""Font registry: templates name fonts, the caller decides which files they are.

A `FontRegistry` maps names such as ``"sans"`` or ``"sans-cjk-bold"`` to font files. The
engine never searches the disk on its own; `discover_fonts` is a convenience for callers
(the command line, the Django app, the set-up script through ``python -m synthesis fonts``)
that builds a registry from font directories.

What a font can draw is read from its character map (the ``cmap`` table, via fontTools), not
from its file name: known faces are preferred in a fixed order so renders stay reproducible,
and when none of them is installed any face whose cmap covers common Chinese ad copy serves
(Droid Sans Fallback, WenQuanYi, a brand's own font...). Chinese copy needs such a face: when
none is registered the engine raises `MissingCJKFont` with the fix, rather than drawing empty
boxes.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont, TTLibError
from PIL import ImageFont

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
# Common characters of Chinese ad copy (numbers, sizes, prices and selling points): a face must
# map all of them to count as CJK-capable. A pan-CJK face has them all; a Japanese-only kana
# font or a font with a handful of CJK symbols does not.
_CJK_PROBE = "中文的一是不了人我在有这大新品限时直降冬季羽绒服保暖轻薄优惠买送包邮正品官方旗舰店元折"
_FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc"}
_BOLD_WEIGHT = 600  # OS/2 usWeightClass: 600 is semibold, the lightest weight that reads as bold


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


@functools.lru_cache(maxsize=64)
def font_charmap(path: str, index: int = 0) -> frozenset[int]:
    """Code points the face at `index` of the font file maps to a glyph (its best cmap subtable).

    Raises FontNotFound when the file is not a font fontTools can read.
    """
    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (TTLibError, OSError, ValueError, AssertionError, KeyError, IndexError, struct.error) as exc:
        raise FontNotFound(f"{Path(path).name} is not a readable font file: {exc}") from exc
    return frozenset(cmap)


@functools.lru_cache(maxsize=64)
def font_has_kerning(path: str, index: int = 0) -> bool:
    """Whether the face has a `kern` table: the only kerning Pillow's basic layout applies (not GPOS)."""
    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            return "kern" in font
    except (TTLibError, OSError, ValueError, AssertionError, KeyError, IndexError, struct.error):
        return True  # unknown: measure pairs too, which is exact either way


def font_covers(path: Path, text: str, index: int = 0) -> bool:
    """True if the font's cmap maps every non-space character of `text` to a glyph."""
    charmap = font_charmap(str(path), index)
    return all(ord(ch) in charmap for ch in text if not ch.isspace())


def font_face_from_file(name: str, path: Path, index: int = 0) -> FontFace:
    """Load `path` to prove it is a usable font; raises FontNotFound if it is not."""
    covers = font_covers(path, _CJK_PROBE, index)
    try:
        # Pillow must be able to draw with it too; fontTools reads some files FreeType refuses.
        _load_font(str(path), index, 24)
    except OSError as exc:
        raise FontNotFound(f"{Path(path).name} is not a readable font file: {exc}") from exc
    return FontFace(name=name, path=Path(path), index=index, covers_cjk=covers)


def _faces_in(path: Path) -> range:
    """Face indexes in a font file (collections hold several)."""
    if path.suffix.lower() in {".ttc", ".otc"}:
        try:
            with TTCollection(str(path), lazy=True) as collection:
                return range(len(collection.fonts))
        except (TTLibError, OSError, ValueError, AssertionError, struct.error):
            return range(0)
    return range(1)


def _is_bold(path: Path, index: int) -> bool:
    with TTFont(str(path), fontNumber=index, lazy=True) as font:
        return "OS/2" in font and font["OS/2"].usWeightClass >= _BOLD_WEIGHT


def _any_cjk_faces(paths: Iterable[Path]) -> dict[str, FontFace]:
    """The first regular and bold faces whose cmap covers Chinese copy, among files of any name."""
    found: dict[str, FontFace] = {}
    for path in paths:
        for index in _faces_in(path):
            try:
                if not font_covers(path, _CJK_PROBE, index):
                    continue
                name = "sans-cjk-bold" if _is_bold(path, index) else "sans-cjk"
                if name not in found:
                    found[name] = font_face_from_file(name, path, index)
            except (FontNotFound, TTLibError, OSError, ValueError, AssertionError, KeyError, struct.error):
                continue  # a damaged or unreadable file among the system fonts is not ours to refuse
        if "sans-cjk" in found and "sans-cjk-bold" in found:
            break
    if "sans-cjk" not in found and "sans-cjk-bold" in found:
        bold = found["sans-cjk-bold"]
        found["sans-cjk"] = FontFace("sans-cjk", bold.path, bold.index, True)
    return found


def discover_fonts(dirs: Iterable[Path | str] = SYSTEM_FONT_DIRS) -> FontRegistry:
    """Build a registry from the fonts under `dirs` (first match wins).

    Known faces come first, by file name, in `_KNOWN_FACES` order; when none of them covers
    Chinese, every other font file is read for a face whose cmap does.
    """
    by_filename: dict[str, Path] = {}
    for directory in dirs:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() in _FONT_SUFFIXES and path.is_file():
                by_filename.setdefault(path.name, path)
    faces: dict[str, FontFace] = {}
    for name, filename, index in _KNOWN_FACES:
        if name in faces or filename not in by_filename:
            continue
        try:
            faces[name] = font_face_from_file(name, by_filename[filename], index)
        except FontNotFound:
            continue  # a damaged copy of a known face: another file may still serve
    if not any(face.covers_cjk for face in faces.values()):
        known = {filename for _, filename, _ in _KNOWN_FACES}
        others = [path for filename, path in by_filename.items() if filename not in known]
        for name, face in _any_cjk_faces(others).items():
            faces.setdefault(name, face)
    # Templates ask for "sans"; where the Latin face is missing the CJK one serves both.
    if "sans" not in faces and "sans-cjk" in faces:
        faces["sans"] = FontFace("sans", faces["sans-cjk"].path, faces["sans-cjk"].index, True)
    if "sans-bold" not in faces and "sans-cjk-bold" in faces:
        bold = faces["sans-cjk-bold"]
        faces["sans-bold"] = FontFace("sans-bold", bold.path, bold.index, True)
    return FontRegistry(faces)
