"""Ad copy layout: Chinese, Latin and mixed text wrapped, fitted and drawn inside its box.

Breaks fall between phrases first (spaces, CJK punctuation, "·"): the font shrinks within the
style's range to keep every phrase whole. Only when no size allows that does CJK break between
characters, never leaving one character of a phrase alone on a line ("限时直 / 降"). A Latin
word is never broken: a word wider than the line does not fit at that size. The usual
line-breaking rules hold (no line starts with closing punctuation such as "，。！）", none ends
with an opening one). Only at the minimum size is the text cut, after a whole phrase (or word)
and with an ellipsis, unless the style refuses cuts (`overflow="none"`: a price is never cut).
Characters the face cannot draw (emoji, unknown glyphs) are dropped with a warning rather than
drawn as boxes. Nothing is ever drawn outside the box.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageFont

from .fonts import FontFace, FontRegistry, _load_font, font_charmap, font_has_kerning

ELLIPSIS = "…"
HYPHEN = "-"
_HYPHEN_MIN = 3  # letters: the fewest a hyphenated word leaves on either side of a break
_REF_SIZE = 100
_CJK = re.compile(
    "[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0002fa1f]"
)
_CLOSING = set("，。、；：！？）」』】》〉〕｝”’…‥・ー～%)]}!?,.;:\u3002\uff0e")
_OPENING = set("（「『【《〈〔｛“‘([{¥$￥")
# After these a new phrase begins (a break here reads as a pause, not as a cut word).
_PHRASE_END = set("，。、；：！？）」』】》〉〕｝”’…・·|/") | {"\u3002", "\uff0e"}


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
    # At the minimum size, text that still does not fit is cut after a whole phrase with an
    # ellipsis ("ellipsis") or not drawn at all ("none": a price or a badge is never cut).
    overflow: Literal["ellipsis", "none"] = "ellipsis"


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
    text: str = ""  # the whole text asked for (what the font can draw), before any cut

    @property
    def empty(self) -> bool:
        return not self.lines

    @property
    def drawn_text(self) -> str:
        """What is drawn, the lines joined as in the source (a space where a space was)."""
        return join_lines(self.text, self.lines)


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


Unit = tuple[str, bool]


def _ideograph(ch: str) -> bool:
    """A CJK character that is not punctuation: a break between two of these may cut a word."""
    return is_cjk(ch) and ch not in _CLOSING and ch not in _OPENING and ch not in _PHRASE_END


def _phrases(units: list[Unit]) -> list[Unit]:
    """Units merged into phrases: a phrase ends at a space or after phrase-ending punctuation."""
    out: list[Unit] = []
    for unit, space in units:
        if out and not space and out[-1][0][-1] not in _PHRASE_END:
            out[-1] = (out[-1][0] + unit, out[-1][1])
        else:
            out.append((unit, space))
    return out


def _greedy(units: list[Unit], widths: list[float], space: float, max_width: float) -> list[str] | None:
    """Whole units filled into lines, widths given (measured once and scaled); None when a unit is wider than a line."""
    lines: list[str] = []
    current, current_w = "", 0.0
    for (unit, sp), uw in zip(units, widths, strict=True):
        if uw > max_width:
            return None
        add = uw + (space if sp and current else 0.0)
        if current and current_w + add <= max_width:
            current, current_w = current + (" " if sp else "") + unit, current_w + add
            continue
        if current:
            lines.append(current)
        current, current_w = unit, uw
    if current:
        lines.append(current)
    return lines


def _greedy_exact(units: list[Unit], measure: Callable[[str], float], max_width: int) -> list[str] | None:
    """_greedy measuring each candidate line exactly (kerning included) with `measure` (a `_widths`)."""
    lines: list[str] = []
    current = ""
    for unit, sp in units:
        candidate = (current + (" " if sp else "") + unit) if current else unit
        if measure(candidate) <= max_width:
            current = candidate
            continue
        if measure(unit) > max_width:
            return None
        if current:
            lines.append(current)
        current = unit
    if current:
        lines.append(current)
    return lines


def _run_at_end(line: str) -> int:
    n = 0
    for ch in reversed(line):
        if not _ideograph(ch):
            break
        n += 1
    return n


def _run_at_start(line: str) -> int:
    n = 0
    for ch in line:
        if not _ideograph(ch):
            break
        n += 1
    return n


def _mend_orphans(lines: list[str], measure, max_width: float) -> list[str]:
    """Move one character across a break inside a CJK run so neither side keeps a lone character
    of its phrase ("限时直 / 降" becomes "限时 / 直降"), when the line it joins still fits."""
    lines = list(lines)
    for i in range(1, len(lines)):
        prev, cur = lines[i - 1], lines[i]
        if not (len(prev) > 1 and cur and _ideograph(prev[-1]) and _ideograph(cur[0])):
            continue
        left, right = _run_at_end(prev), _run_at_start(cur)
        if (right == 1 and left >= 3) or left == 1:
            moved = prev[-1] + cur
            if measure(moved) <= max_width and prev[:-1].strip():
                lines[i - 1], lines[i] = prev[:-1].rstrip(), moved
    return lines


def join_lines(text: str, lines: tuple[str, ...] | list[str]) -> str:
    """The lines joined back as they sit in `text`: a space where the break replaced one."""
    out, p = "", 0
    for line in lines:
        if _hyphenated(text, p, line):
            out += line[:-1]
            p += len(line) - 1
        elif text.startswith(line, p):
            p += len(line)
            spaced = text.startswith(" ", p)
            out += line + (" " if spaced else "")
            p += 1 if spaced else 0
        else:
            out += line
            break
    return out.rstrip()


def _hyphenated(text: str, p: int, line: str) -> bool:
    """Whether `line`, read at `p` in `text`, ends in a hyphen the layout added inside a word."""
    if len(line) < 2 or not line.endswith(HYPHEN) or not text.startswith(line[:-1], p):
        return False
    q = p + len(line) - 1
    return q < len(text) and text[q].isalnum() and text[q - 1].isalnum()


def inner_breaks(text: str, lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The line breaks that cut a word, each as "left|right": between two Latin letters or digits
    with no space between them, or inside a run of CJK characters leaving one character of it
    alone on its side of the break ("限时直|降", "轻暖一整|季")."""
    out: list[str] = []
    p = 0
    for i, line in enumerate(lines[:-1]):
        if _hyphenated(text, p, line):  # a long word hyphenated across lines: a break a reader expects
            p += len(line) - 1
            continue
        if not text.startswith(line, p):
            break
        p += len(line)
        if text.startswith(" ", p):
            p += 1
            continue
        if p >= len(text):
            break
        a, b = text[p - 1], text[p]
        latin = a.isalnum() and b.isalnum() and not is_cjk(a) and not is_cjk(b)
        cjk = _ideograph(a) and _ideograph(b) and (_run_at_end(line) == 1 or _run_at_start(lines[i + 1]) == 1)
        if latin or cjk:
            out.append(f"{line[-4:]}|{lines[i + 1][:4]}")
    return tuple(out)


# A leading tag in brackets ("【官方旗舰店】", "[NEW]"): the shop's or the season's label, not the product's name.
_LEADING_TAG = re.compile(r"^\s*[【\[「『〔（(][^】\]」』〕）)]{1,24}[】\]」』〕）)]\s*")

# What a cut drops from the end of its last phrase before the ellipsis (see `_cut`).
_CUT_STRIP = "，。、；：,;:·・ "


@functools.lru_cache(maxsize=4096)  # the score asks it of every candidate; a search's copies are few
def cut_keeps_whole_phrases(full: str, drawn: str) -> bool:
    """Whether `drawn`, `full` cut with an ellipsis, ends where one of `full`'s phrases ends (spaces
    aside): "冬季新品…" of "冬季新品 轻暖一整季" does, "冬季新品 轻暖一…" cuts "轻暖一整季" and does not.
    A text that is not cut keeps its phrases; an empty `full` (the cut copy unknown) does not. A cut
    inside the first phrase is allowed: no phrase boundary comes earlier, so nothing better fits
    ("网易严选网易严选…" of an unbroken run)."""
    if not drawn.endswith(ELLIPSIS):
        return True
    if not full:
        return False
    tag = _LEADING_TAG.match(full)
    if tag and not drawn.startswith(tag.group(0).strip()):
        full = full[tag.end() :]  # the tag was left out first (see `layout_text`)
    kept = "".join(drawn.removesuffix(ELLIPSIS).split())
    bare = "".join(full.split())
    ends, length = [], 0
    for phrase, _ in _phrases(_units(full)):
        length += len("".join(phrase.split()))
        ends.append(bare[:length].rstrip(_CUT_STRIP))
    return kept in ends or (bool(ends) and len(kept) < len(ends[0]) and ends[0].startswith(kept))


def _block_height(font: ImageFont.FreeTypeFont, n_lines: int, size: int, line_height: float) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent + round((n_lines - 1) * size * line_height) if n_lines else 0


def _choose_face(text: str, style: TextStyle, fonts: FontRegistry) -> FontFace:
    if any(is_cjk(ch) for ch in text):
        preferred = style.font if style.font in fonts.faces and fonts.faces[style.font].covers_cjk else None
        if preferred is None:
            bold = "bold" in style.font
            preferred = "sans-cjk-bold" if bold and "sans-cjk-bold" in fonts.faces else "sans-cjk"
        return fonts.cjk_face(preferred=preferred)
    return fonts.resolve(style.font)


@functools.lru_cache(maxsize=256)
def _cap_ratio(path: str, index: int) -> float:
    """Cap height over font size: the height of "H" at 100 px, over 100."""
    top, bottom = _load_font(path, index, _REF_SIZE).getbbox("H", anchor="ls")[1::2]
    return max(0.3, (bottom - top) / _REF_SIZE)


def cap_height_ratio(text: str, style: TextStyle, fonts: FontRegistry) -> float:
    """Cap height per px of font size in the face that would draw `text` (about 0.7-0.73)."""
    face = _choose_face(text or "H", style, fonts)
    return _cap_ratio(str(face.path), face.index)


def block_cap_height(block: TextBlock) -> float:
    """The cap height, in px, of a laid-out block's font at its size."""
    if not block.face_path:
        return 0.0
    return block.font_size * _cap_ratio(block.face_path, block.face_index)


def line_width(text: str, style: TextStyle, size: int, fonts: FontRegistry) -> float:
    """How wide `text` is on one line at `size` px in the face that would draw it."""
    text = " ".join(text.split())
    face = _choose_face(text or "H", style, fonts)
    return _line_length(str(face.path), face.index, size, text)


def layout_text(text: str, box_w: int, box_h: int, style: TextStyle, fonts: FontRegistry) -> TextBlock:
    """Fit `text` into a box_w x box_h box; the block never exceeds the box."""
    text = " ".join(text.split())
    if style.letter_case == "upper":
        text = text.upper()
    if not text:
        return TextBlock((), style.font, int(style.size_min), 0, 0, False, 1.0)
    face = _choose_face(text, style, fonts)
    block = _layout(text, int(box_w), int(box_h), style, face.name, str(face.path), face.index)
    tag = _LEADING_TAG.match(text)
    if (block.truncated or block.empty) and tag and text[tag.end() :].strip():
        # Cut, "【官方旗舰店】2026年冬季新款…" showed the shop's tag and little else (at 300x250 only
        # "【官方旗舰店】…"): the product's own words matter more, so the tag goes first.
        rest = _layout(text[tag.end() :], int(box_w), int(box_h), style, face.name, str(face.path), face.index)
        if not rest.empty:
            # Shortened, as a cut is: the score weighs it so, and a subtitle gives way to it first.
            note = f"left out its leading tag {tag.group(0).strip()} to show the rest"
            return dataclasses.replace(rest, truncated=True, warnings=(*rest.warnings, note))
    return block


# A phrase-whole wrap is kept unless breaking inside phrases would allow text this much larger.
_PHRASE_SIZE_SHARE = 0.7


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
    phrases = _phrases(units)
    # Mode 0 keeps phrases whole; mode 1 may break between CJK characters (never inside a Latin word).
    modes = [phrases] if len(phrases) == len(units) else [phrases, units]
    ref = _widths(path, index, _REF_SIZE)
    ref_space = ref(" ")
    ref_widths = [[ref(u) for u, _ in m] for m in modes]

    def estimated(size: int, m: int) -> list[str] | None:
        k = size / _REF_SIZE
        lines = _greedy(modes[m], [w * k for w in ref_widths[m]], ref_space * k, box_w)
        if lines is not None and m > 0:
            lines = _mend_orphans(lines, lambda s: ref(s) * k, box_w)
        return lines

    def exact(size: int, m: int) -> list[str] | None:
        """Lines at `size`, confirmed with one exact measurement per line (exact wrap if one is off)."""
        measure = _widths(path, index, size)
        lines = estimated(size, m)
        if lines is None or any(measure(line) > box_w for line in lines):
            lines = _greedy_exact(modes[m], measure, box_w)
            if lines is not None and m > 0:
                lines = _mend_orphans(lines, measure, box_w)
        return lines

    def height_ok(lines: list[str] | None, size: int) -> bool:
        if not lines or len(lines) > style.max_lines:
            return False  # decided without loading the face at this size (a millisecond for a CJK one)
        font = _load_font(path, index, size)
        return _block_height(font, len(lines), size, style.line_height) <= box_h

    def largest(m: int) -> int | None:
        lo, hi, found = size_min, size_max, None
        while lo <= hi:
            mid = (lo + hi) // 2
            if height_ok(estimated(mid, m), mid):
                found, lo = mid, mid + 1
            else:
                hi = mid - 1
        while found is not None and not height_ok(exact(found, m), found):
            found = found - 1 if found > size_min else None
        if found is None and height_ok(exact(size_min, m), size_min):
            found = size_min  # the estimate (unit widths summed) was a pixel off; the exact measure fits
        return found

    mode, best = 0, largest(0)
    if len(modes) > 1 and (best is None or best < _PHRASE_SIZE_SHARE * size_max):
        # Breaking inside phrases is worth it only when it lets the text be much larger.
        by_unit = largest(1)
        if by_unit is not None and (best is None or best < _PHRASE_SIZE_SHARE * by_unit):
            mode, best = 1, by_unit
    truncated = False
    if best is not None:
        size = best
        lines = exact(size, mode) or []
        font = _load_font(path, index, size)
    elif (hyphenated := _hyphenated_lines(units, _widths(path, index, size_min), box_w)) and height_ok(
        hyphenated, size_min
    ):
        # A word wider than the box even at the smallest size (a German compound, a model name at
        # 160x600): broken with hyphens, as a typesetter would, rather than the text dropped.
        size, lines = size_min, hyphenated
        font = _load_font(path, index, size)
    else:
        size = size_min
        font = _load_font(path, index, size)
        room = style.max_lines
        while room > 0 and _block_height(font, room, size, style.line_height) > box_h:
            room -= 1
        fail = TextBlock((), name, size, 0, 0, True, size / style.size_max, tuple(warnings), path, index, kept)
        if room == 0:
            return dataclasses.replace(
                fail, warnings=(*warnings, f"box {box_w}x{box_h} is too small for one line at {size}px")
            )
        if style.overflow == "none":
            return dataclasses.replace(
                fail, warnings=(*warnings, f"does not fit {box_w}x{box_h} at {size}px and may not be cut")
            )
        lines = _cut(modes, _widths(path, index, size), box_w, room)
        if not lines:
            return dataclasses.replace(
                fail, warnings=(*warnings, f"not even its first word fits {box_w}x{box_h} at {size}px")
            )
        truncated = True
    measure = _widths(path, index, size)
    width = max((round(measure(line)) for line in lines), default=0)
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
        kept,
    )


def _hyphenated_lines(units: list[Unit], measure: Callable[[str], float], box_w: int) -> list[str] | None:
    """`units` filled into lines with every Latin word wider than `box_w` broken into pieces that fit
    it with a hyphen (_HYPHEN_MIN letters at least on each side of a break); None when there is no
    such word or a piece cannot be made to fit."""
    pieces: list[Unit] = []
    broken = False
    for unit, sp in units:
        if measure(unit) <= box_w or any(is_cjk(ch) for ch in unit):
            pieces.append((unit, sp))
            continue
        parts = _word_pieces(unit, measure, box_w)
        if parts is None:
            return None
        broken = True
        pieces += [(part, sp if k == 0 else False) for k, part in enumerate(parts)]
    if not broken:
        return None
    # A piece ending in a hyphen fills its line, so no two of a word's pieces ever share one.
    return _greedy_exact(pieces, measure, box_w)


def _word_pieces(word: str, measure: Callable[[str], float], box_w: int) -> list[str] | None:
    """`word` in pieces that fit `box_w`, each but the last ending in a hyphen; the longest first pieces,
    the last given letters back until it has _HYPHEN_MIN."""
    parts: list[str] = []
    rest = word
    while measure(rest) > box_w:
        k = len(rest) - _HYPHEN_MIN
        while k >= _HYPHEN_MIN and (
            measure(rest[:k] + HYPHEN) > box_w or not (rest[k - 1].isalnum() and rest[k].isalnum())
        ):
            k -= 1
        if k < _HYPHEN_MIN:
            return None
        parts.append(rest[:k] + HYPHEN)
        rest = rest[k:]
    parts.append(rest)
    return parts


def _cut(modes: list[list[Unit]], measure: Callable[[str], float], box_w: int, room: int) -> list[str]:
    """The longest run of whole phrases that fits `room` lines with an ellipsis after it; else, when not
    even the first phrase fits, the longest run of whole units inside that first phrase (a cut never
    stops inside a later phrase: "冬季新品 轻暖一…" would break the copy's meaning)."""
    for m, items in enumerate(modes):
        last = len(items) - 1
        if m > 0:  # whole units: only the first phrase's (phrases join units that no space separates)
            first, joined, last = modes[0][0][0], "", 0
            while last < len(items) and len(joined) < len(first):
                joined += items[last][0]
                last += 1
            last = min(last - 1, len(items) - 1)

        def lines_for(k: int, items=items, m=m) -> list[str] | None:
            head = list(items[:k])
            last, sp = head[-1]
            head[-1] = (last.rstrip("，。、；：,;:·・ ") + ELLIPSIS, sp)
            lines = _greedy_exact(head, measure, box_w)
            if lines is not None and m > 0:
                lines = _mend_orphans(lines, measure, box_w)
            return lines if lines is not None and len(lines) <= room else None

        lo, hi, found = 1, last, None
        while lo <= hi:
            mid = (lo + hi) // 2
            lines = lines_for(mid)
            if lines is not None:
                found, lo = lines, mid + 1
            else:
                hi = mid - 1
        if found:
            return found
    return []


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


def _line_length(path: str, index: int, size: int, line: str) -> float:
    return _widths(path, index, size)(line)


class _Widths:
    """Exact line widths at one font size, from each character's advance and each pair's kerning.

    Pillow's basic layout (the one `_load_font` asks for) sets a line as the sum of its glyphs'
    hinted advances plus, in a face with a `kern` table, one kerning step per adjacent pair: so
    a line's `getlength` is the sum of its characters' and of its pairs' (the same float, every
    term being a multiple of 1/64). Wrapping a long CJK title measures many candidate lines that
    share their characters; measured this way each character and pair is shaped once per size,
    not once per line (test_text pins the equality for every registered face).
    """

    _LIMIT = 2048  # characters (and pairs) remembered per size; past it a table starts afresh

    def __init__(self, path: str, index: int, size: int):
        self.face = (path, index, size)
        self.kerned = font_has_kerning(path, index)
        self.advance: dict[str, float] = {}
        self.kerning: dict[str, float] = {}

    @property
    def font(self) -> ImageFont.FreeTypeFont:
        return _load_font(*self.face)  # not held here: `_load_font`'s cache bounds the loaded faces

    def _advance(self, ch: str) -> float:
        if len(self.advance) >= self._LIMIT:
            self.advance.clear()
        width = self.advance[ch] = self.font.getlength(ch)
        return width

    def _kerning(self, pair: str) -> float:
        first, second = (self.advance.get(ch) for ch in pair)
        first = self._advance(pair[0]) if first is None else first
        second = self._advance(pair[1]) if second is None else second
        if len(self.kerning) >= self._LIMIT:
            self.kerning.clear()
        kern = self.kerning[pair] = self.font.getlength(pair) - first - second
        return kern

    def __call__(self, text: str) -> float:
        advance, new_advance = self.advance, self._advance
        total = 0.0
        for ch in text:
            width = advance.get(ch)
            total += new_advance(ch) if width is None else width
        if self.kerned:
            kerning, new_kerning = self.kerning, self._kerning
            for i in range(len(text) - 1):
                pair = text[i : i + 2]
                kern = kerning.get(pair)
                total += new_kerning(pair) if kern is None else kern
        return total


@functools.lru_cache(maxsize=256)
def _widths(path: str, index: int, size: int) -> _Widths:
    return _Widths(path, index, size)


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
