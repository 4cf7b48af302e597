"""Ad copy layout: Chinese, Latin and mixed text wrapped, fitted and drawn inside its box.

Latin wraps by words, CJK by characters, with the usual line-breaking rules (no line starts
with closing punctuation such as "，。！）", none ends with an opening one). The font shrinks
within the style's range until the text fits; only at the minimum size is the last line cut
with an ellipsis. Characters the face cannot draw (emoji, unknown glyphs) are dropped with
a warning rather than drawn as boxes. Nothing is ever drawn outside the box.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageFont

from .fonts import FontFace, FontRegistry, _load_font, font_charmap

ELLIPSIS = "…"
_REF_SIZE = 100
_CJK = re.compile(
    "[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0002fa1f]"
)
_CLOSING = set("，。、；：！？）」』】》〉〕｝”’…‥・ー～%)]}!?,.;:\u3002\uff0e")
_OPENING = set("（「『【《〈〔｛“‘([{¥$￥")


@dataclass(frozen=True)
class TextStyle:
    font: str = "sans-bold"
    size_max: float = 64.0
    size_min: float = 14.0
    line_height: float = 1.2
    align: Literal["left", "center", "right"] = "left"
    valign: Literal["top", "middle", "bottom"] = "top"
    max_lines: int = 2
    letter_case: Literal["none", "upper"] = "none"


@dataclass(frozen=True)
class TextBlock:
    lines: tuple[str, ...]
    font_name: str
    font_size: int
    width: int
    height: int
    truncated: bool
    fit: float  # font_size / size_max; 1.0 means no shrinking
    warnings: tuple[str, ...] = ()
    face_path: str = ""
    face_index: int = 0

    @property
    def empty(self) -> bool:
        return not self.lines


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


@functools.lru_cache(maxsize=65536)
def _covers(path: str, index: int, ch: str) -> bool:
    return ord(ch) in font_charmap(path, index)


def _units(text: str) -> list[tuple[str, bool]]:
    """Breakable units with a flag for 'a space precedes it'. Punctuation is glued to its neighbour."""
    units: list[tuple[str, bool]] = []
    space = False
    word = ""

    def flush():
        nonlocal word, space
        if word:
            units.append((word, space))
            space = False
            word = ""

    for ch in text:
        if ch.isspace():
            flush()
            space = bool(units)
        elif is_cjk(ch) or ch in _CLOSING or ch in _OPENING:
            flush()
            units.append((ch, space))
            space = False
        else:
            word += ch
    flush()
    glued: list[tuple[str, bool]] = []
    pending_open = ""
    pending_space = False
    for unit, sp in units:
        if pending_open:
            glued.append((pending_open + unit, pending_space))
            pending_open = ""
            continue
        if unit in _OPENING:
            pending_open, pending_space = unit, sp
            continue
        if glued and unit[0] in _CLOSING and not sp:
            prev, psp = glued[-1]
            glued[-1] = (prev + unit, psp)
            continue
        glued.append((unit, sp))
    if pending_open:
        glued.append((pending_open, pending_space))
    return glued


def _wrap(units: list[tuple[str, bool]], font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for unit, space in units:
        candidate = (current + (" " if space and current else "") + unit) if current else unit
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        # A unit wider than the line (a long word, a long number) breaks by characters.
        current = ""
        for ch in unit:
            if font.getlength(current + ch) <= max_width or not current:
                current += ch
            else:
                lines.append(current)
                current = ch
    if current:
        lines.append(current)
    return lines


def _wrap_estimated(
    units: list[tuple[str, bool]], widths: list[float], space: float, char_width, max_width: float
) -> list[str]:
    """_wrap with widths measured once at a reference size and scaled: cheap enough for a size search."""
    lines: list[str] = []
    current, current_w = "", 0.0
    for (unit, sp), uw in zip(units, widths, strict=True):
        add = uw + (space if sp and current else 0.0)
        if current and current_w + add <= max_width:
            current, current_w = current + (" " if sp else "") + unit, current_w + add
            continue
        if not current and uw <= max_width:
            current, current_w = unit, uw
            continue
        if current:
            lines.append(current)
        current, current_w = "", 0.0
        if uw <= max_width:
            current, current_w = unit, uw
            continue
        for ch in unit:
            cw = char_width(ch)
            if current and current_w + cw > max_width:
                lines.append(current)
                current, current_w = "", 0.0
            current, current_w = current + ch, current_w + cw
    if current:
        lines.append(current)
    return lines


def _block_height(font: ImageFont.FreeTypeFont, n_lines: int, size: int, line_height: float) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent + round((n_lines - 1) * size * line_height) if n_lines else 0


def _ellipsize(line: str, font: ImageFont.FreeTypeFont, max_width: int) -> str:
    line = line.rstrip()
    while line and font.getlength(line + ELLIPSIS) > max_width:
        line = line[:-1].rstrip()
    return line + ELLIPSIS if font.getlength(line + ELLIPSIS) <= max_width else ""


def _choose_face(text: str, style: TextStyle, fonts: FontRegistry) -> FontFace:
    if any(is_cjk(ch) for ch in text):
        preferred = style.font if style.font in fonts.faces and fonts.faces[style.font].covers_cjk else None
        if preferred is None:
            bold = "bold" in style.font
            preferred = "sans-cjk-bold" if bold and "sans-cjk-bold" in fonts.faces else "sans-cjk"
        return fonts.cjk_face(preferred=preferred)
    return fonts.resolve(style.font)


def layout_text(text: str, box_w: int, box_h: int, style: TextStyle, fonts: FontRegistry) -> TextBlock:
    """Fit `text` into a box_w x box_h box; the block never exceeds the box."""
    text = " ".join(text.split())
    if style.letter_case == "upper":
        text = text.upper()
    if not text:
        return TextBlock((), style.font, int(style.size_min), 0, 0, False, 1.0)
    face = _choose_face(text, style, fonts)
    return _layout(text, int(box_w), int(box_h), style, face.name, str(face.path), face.index)


@functools.lru_cache(maxsize=8192)
def _layout(text: str, box_w: int, box_h: int, style: TextStyle, name: str, path: str, index: int) -> TextBlock:
    warnings: list[str] = []
    kept = "".join(ch for ch in text if ch.isspace() or _covers(path, index, ch))
    dropped = sorted({ch for ch in text if not ch.isspace() and not _covers(path, index, ch)})
    if dropped:
        warnings.append(f"dropped characters the font cannot draw: {' '.join(dropped)}")
    kept = " ".join(kept.split())
    size_max = max(1, int(style.size_max))
    size_min = max(1, min(int(style.size_min), size_max))

    units = _units(kept)
    ref = _load_font(path, index, _REF_SIZE)
    ref_widths = [ref.getlength(u) for u, _ in units]
    ref_space = ref.getlength(" ")
    char_cache: dict[str, float] = {}

    def ref_char(ch: str) -> float:
        if ch not in char_cache:
            char_cache[ch] = ref.getlength(ch)
        return char_cache[ch]

    # Chinese ad copy separates phrases with spaces ("网易严选 冬季羽绒服 限时直降"); breaking
    # between phrases reads far better than inside one, so try that first when every phrase fits.
    phrases = [(p, i > 0) for i, p in enumerate(kept.split(" "))] if " " in kept and any(map(is_cjk, kept)) else []
    phrase_widths = [ref.getlength(p) for p, _ in phrases]

    def estimated_lines(size: int) -> list[str]:
        k = size / _REF_SIZE
        if phrases and max(phrase_widths) * k <= box_w:
            by_phrase = _wrap_estimated(
                phrases, [w * k for w in phrase_widths], ref_space * k, lambda c: ref_char(c) * k, box_w
            )
            if len(by_phrase) <= style.max_lines:
                return by_phrase
        return _wrap_estimated(units, [w * k for w in ref_widths], ref_space * k, lambda c: ref_char(c) * k, box_w)

    def attempt(size: int) -> tuple[list[str], ImageFont.FreeTypeFont]:
        """Lines at `size`, confirmed with one exact measurement per line (exact wrap if one is off)."""
        font = _load_font(path, index, size)
        lines = estimated_lines(size)
        if any(font.getlength(line) > box_w for line in lines):
            lines = _wrap(units, font, box_w)
        return lines, font

    def height_ok(lines: list[str], size: int) -> bool:
        font = _load_font(path, index, size)
        return len(lines) <= style.max_lines and _block_height(font, len(lines), size, style.line_height) <= box_h

    lo, hi, best = size_min, size_max, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if height_ok(estimated_lines(mid), mid):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    while best is not None and not height_ok(attempt(best)[0], best):
        best = best - 1 if best > size_min else None
    truncated = False
    if best is not None:
        size = best
        lines, font = attempt(size)
    else:
        size = size_min
        lines, font = attempt(size)
        room = style.max_lines
        while room > 0 and _block_height(font, room, size, style.line_height) > box_h:
            room -= 1
        if room == 0:
            warnings.append(f"box {box_w}x{box_h} is too small for one line at {size}px")
            return TextBlock((), name, size, 0, 0, True, size / style.size_max, tuple(warnings), path, index)
        lines = lines[:room]
        lines[-1] = _ellipsize(lines[-1], font, box_w)
        lines = [line for line in lines if line]
        truncated = True
    width = max((round(font.getlength(line)) for line in lines), default=0)
    height = _block_height(font, len(lines), size, style.line_height)
    return TextBlock(
        tuple(lines),
        name,
        size,
        min(width, box_w),
        min(height, box_h),
        truncated,
        min(1.0, size / style.size_max),
        tuple(warnings),
        path,
        index,
    )


def _line_positions(block: TextBlock, box: tuple[int, int, int, int], style: TextStyle):
    if block.empty:
        return
    x, y, w, h = box
    font = _load_font(block.face_path, block.face_index, block.font_size)
    ascent, _ = font.getmetrics()
    top = {"top": y, "middle": y + (h - block.height) // 2, "bottom": y + h - block.height}[style.valign]
    advance = round(block.font_size * style.line_height)
    for i, line in enumerate(block.lines):
        lw = _line_length(block.face_path, block.face_index, block.font_size, line)
        lx = {"left": x, "center": x + (w - lw) / 2, "right": x + w - lw}[style.align]
        yield line, (round(lx), top + ascent + i * advance), font


def text_ink_bbox(block: TextBlock, box: tuple[int, int, int, int], style: TextStyle) -> tuple[int, int, int, int]:
    """Where draw_text's ink will be (x0, y0, x1, y1), without drawing."""
    x0 = y0 = 10**9
    x1 = y1 = -(10**9)
    for line, (lx, ly), font in _line_positions(block, box, style):
        left, top, right, bottom = font.getbbox(line, anchor="ls")
        x0, y0 = min(x0, lx + left), min(y0, ly + top)
        x1, y1 = max(x1, lx + right), max(y1, ly + bottom)
    if x1 < x0:
        return box[0], box[1], box[0], box[1]
    # Clamp: glyph overhangs of a pixel or two are clipped at draw time, never drawn outside.
    return max(x0, box[0]), max(y0, box[1]), min(x1, box[0] + box[2]), min(y1, box[1] + box[3])


@functools.lru_cache(maxsize=4096)
def _line_length(path: str, index: int, size: int, line: str) -> float:
    return _load_font(path, index, size).getlength(line)


@functools.lru_cache(maxsize=4096)
def _line_mask(path: str, index: int, size: int, line: str) -> tuple[Image.Image, tuple[int, int]]:
    """One line's rasterised glyphs and their offset from the baseline start.

    CJK outlines are expensive to rasterise and the candidate search draws the same title
    at the same size many times, so lines are cached.
    """
    font = _load_font(path, index, size)
    core, offset = font.getmask2(line, mode="L", anchor="ls")
    return Image.Image()._new(core), offset


def text_mask(block: TextBlock, box: tuple[int, int, int, int], style: TextStyle) -> Image.Image:
    """The block's glyph coverage as an L image the size of the box (255 = ink)."""
    x, y, w, h = box
    layer = Image.new("L", (w, h), 0)
    for line, (lx, ly), _ in _line_positions(block, box, style):
        glyphs, (ox, oy) = _line_mask(block.face_path, block.face_index, block.font_size, line)
        if glyphs.width and glyphs.height:
            px, py = lx - x + ox, ly - y + oy
            layer.paste(255, (px, py, px + glyphs.width, py + glyphs.height), glyphs)
    return layer


def mask_ink_bbox(mask: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The ink bbox (x0, y0, x1, y1) in canvas pixels of a mask made by text_mask."""
    bbox = mask.getbbox()
    if bbox is None:
        return box[0], box[1], box[0], box[1]
    return box[0] + bbox[0], box[1] + bbox[1], box[0] + bbox[2], box[1] + bbox[3]


def fill_text(canvas: Image.Image, mask: Image.Image, box: tuple[int, int, int, int], colour) -> None:
    """Paint `colour` through a text mask at the box's position."""
    fill = Image.new(canvas.mode, mask.size, (*colour, 255) if canvas.mode == "RGBA" else tuple(colour))
    canvas.paste(fill, (box[0], box[1]), mask)


def draw_text(
    canvas: Image.Image,
    block: TextBlock,
    box: tuple[int, int, int, int],
    colour: tuple[int, int, int],
    fonts: FontRegistry,
    style: TextStyle,
    mask: Image.Image | None = None,
) -> tuple[int, int, int, int]:
    """Draw the block inside `box`; returns the ink bbox. Drawing is clipped to the box."""
    mask = mask if mask is not None else text_mask(block, box, style)
    fill_text(canvas, mask, box, colour)
    return mask_ink_bbox(mask, box)
