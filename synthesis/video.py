"""Short product videos: reusable footage (or a palette background), product hero images
swapped in, highlights animated over it, an end card; one template, every placement shape.

Speed comes from doing what the fast tools do. Every overlay (a product cut-out, a
highlight on its plate, the price, the logo, the end card) is drawn once with the image
engine's own pieces (product preparation, palette, text layout, plates, `render` for the
end card). ffmpeg then does the per-frame work in one filter graph: the footage is
normalised to constant frame rate and cropped to the shape, each overlay is looped as
a single frame, moved, scaled or faded by expressions, and the result is encoded to H.264
while it streams, so memory does not grow with the video's length. Nothing is written
where the caller expects the finished file until ffmpeg has succeeded and the frame count
checks out.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageFilter

from .colour import Palette, best_text_colour, palette_variants, rank_palettes
from .copyfit import canvas_scale, text_box_for_plate
from .errors import ImageRejected
from .ffmpeg import FootageError, MediaInfo, VideoError, VideoTimeout, last_error_line, probe, run_ffmpeg
from .fonts import FontRegistry
from .images import load_image
from .layout import PixelBox, aspect_class
from .product import PreparedProduct, prepare_product, product_theme_colours
from .render import (
    AdCopy,
    RenderChoices,
    Rendered,
    contain,
    draw_plate,
    gradient_image,
    render,
    scene_crop,
)
from .spec import Box, parse_template
from .text import TextStyle, fill_text, layout_text, mask_ink_bbox, text_mask
from .video_spec import Slot, VideoTemplate

ZOOM = 1.08  # a slow zoom in ends 8% larger than it starts
ENTER_SECONDS = 0.6  # slides and fades take this long to settle (or a third of a short slot)
MIN_SIDE, MAX_SIDE = 64, 3840
# x264 "superfast" with macroblock-tree rate control kept on: about 35% less encoding time than
# "veryfast" at the same bitrate and SSIM on these videos (mostly still overlays over footage).
X264_PARAMS = "mbtree=1:rc-lookahead=10"

# Named regions in fractions of the safe area, per aspect class. A tall video stacks the
# product over its caption; square and wide ones put the caption beside the product.
REGIONS: dict[str, dict[str, Box]] = {
    "tall": {
        "logo": Box(0.0, 0.0, 0.36, 0.07),
        "hero": Box(0.0, 0.12, 1.0, 0.52),
        "caption": Box(0.0, 0.68, 1.0, 0.13),
        "price": Box(0.0, 0.84, 0.62, 0.10),
        "full": Box(0.0, 0.0, 1.0, 1.0),
    },
    "square": {
        "logo": Box(0.0, 0.0, 0.30, 0.10),
        "hero": Box(0.0, 0.14, 0.56, 0.84),
        "caption": Box(0.60, 0.30, 0.40, 0.26),
        "price": Box(0.60, 0.62, 0.40, 0.14),
        "full": Box(0.0, 0.0, 1.0, 1.0),
    },
    "wide": {
        "logo": Box(0.0, 0.0, 0.20, 0.12),
        "hero": Box(0.04, 0.06, 0.46, 0.94),
        "caption": Box(0.55, 0.28, 0.45, 0.24),
        "price": Box(0.55, 0.60, 0.30, 0.16),
        "full": Box(0.0, 0.0, 1.0, 1.0),
    },
}

# The end card is an image template rendered by the image engine at the video's size.
END_CARD_SPEC = {
    "spec_version": 1,
    "name": "video-end-card",
    "products": {"min": 1, "max": 4},
    "scene": "cover",
    "layers": [
        {"id": "bg", "role": "background",
         "fill": {"type": "gradient", "colour": "background", "to": "primary", "angle": 90, "strength": 0.35}},
        {"id": "product", "role": "product", "max_upscale": 2.0},
        {"id": "logo", "role": "logo", "asset": "logo"},
        {"id": "title", "role": "title", "colour": "text",
         "text": {"font": "sans-cjk-bold", "size": [0.035, 0.07], "max_lines": 2, "align": "center"}},
        {"id": "cta", "role": "subtitle", "colour": "on_accent", "plate": "pill", "plate_colour": "accent",
         "text": {"font": "sans-cjk-bold", "size": [0.03, 0.055], "max_lines": 1, "align": "center"}},
        {"id": "price", "role": "price", "colour": "on_primary", "plate": "pill", "plate_colour": "primary",
         "text": {"font": "sans-cjk-bold", "size": [0.03, 0.06], "max_lines": 1, "align": "center"}},
    ],
}  # fmt: skip


@dataclass(frozen=True)
class VideoProduct:
    """One product of the set: its prepared hero image and its selling points."""

    product: PreparedProduct
    highlights: tuple[str, ...] = ()
    sku: str = ""


@dataclass(frozen=True)
class Overlay:
    """One slot drawn once: where it settles, how it moves, when it shows."""

    slot: Slot
    image: Image.Image  # RGBA, at its settled size (for zoom-in: its size at the end of the slot)
    x: int  # settled top-left on the frame
    y: int
    fade_in: float
    fade_out: float
    enter: float  # seconds the motion takes to settle
    content: str = ""  # the text it shows, or the product's sku
    product_index: int | None = None

    @property
    def box(self) -> PixelBox:
        return self.x, self.y, self.image.width, self.image.height


@dataclass(frozen=True)
class VideoResult:
    path: Path
    poster: Path
    manifest: dict
    seconds: float  # wall time of the render
    size_bytes: int = 0
    fits: bool = True  # False: no encoding came within max_bytes; the smallest one made is at `path`
    encoding: Mapping[str, object] = field(default_factory=dict)  # the rate control of the encoding kept


@dataclass(frozen=True)
class VideoPlan:
    """Everything drawn for one render, before ffmpeg runs (pure: no files, no processes)."""

    template: VideoTemplate
    size: tuple[int, int]
    overlays: tuple[Overlay, ...]
    background: Image.Image | None  # for colour, gradient and image bases
    poster_time: float
    warnings: tuple[str, ...] = field(default_factory=tuple)
    end_card: Rendered | None = None  # the image engine's render, which the aesthetic score can judge


def load_video_product(data: bytes, *, sku: str = "", highlights: Sequence[str] = ()) -> VideoProduct:
    """Decode and prepare a product image; raises ImageRejected naming the product when it fails to load."""
    try:
        image = load_image(data, draft_size=(1600, 1600))
    except ImageRejected as exc:
        raise ImageRejected(f"Product {sku or 'image'}: {exc}", reason=exc.reason) from exc
    return VideoProduct(prepare_product(image), tuple(h for h in highlights if h.strip()), sku)


def video_palette(products: Sequence[VideoProduct]) -> Palette:
    """The palette that suits the first product's theme colour best (as the image search ranks them)."""
    theme = product_theme_colours(products[0].product.image)
    return rank_palettes(theme, palette_variants(theme))[0][0]


def video_aspect(size: tuple[int, int]) -> str:
    cls = aspect_class(*size)
    if cls == "banner":
        raise VideoError(f"Video size {size[0]}x{size[1]} is a banner shape; videos are 9:16, 1:1 or 16:9 (and near)")
    return cls


def slot_box(template: VideoTemplate, slot: Slot, size: tuple[int, int]) -> PixelBox:
    """The slot's region in pixels for this frame size (the designer's box for the shape wins)."""
    width, height = size
    cls = video_aspect(size)
    if cls in slot.boxes:
        box, area = slot.boxes[cls], (0, 0, width, height)
    else:
        box = REGIONS[cls][slot.region]
        margin = 0 if slot.region == "full" else round(template.safe_margin * min(width, height))
        area = (margin, margin, width - 2 * margin, height - 2 * margin)
    ax, ay, aw, ah = area
    x0, y0 = ax + round(box.x * aw), ay + round(box.y * ah)
    return x0, y0, max(2, round(box.w * aw)), max(2, round(box.h * ah))


def _shadowed(img: Image.Image) -> tuple[Image.Image, int]:
    """The product with a soft drop shadow under it, so it stands off busy footage; returns (image, pad)."""
    pad = max(4, round(0.04 * max(img.size)))
    out = Image.new("RGBA", (img.width + 2 * pad, img.height + 2 * pad), (0, 0, 0, 0))
    alpha = Image.new("L", out.size, 0)
    alpha.paste(img.getchannel("A").point(lambda a: a * 0.45), (pad, pad + pad // 2))
    shadow = Image.new("RGBA", out.size, (0, 0, 0, 255))
    shadow.putalpha(alpha.filter(ImageFilter.GaussianBlur(pad / 2)))
    out.alpha_composite(shadow)
    out.alpha_composite(img, (pad, pad))
    return out, pad


def _text_plate(
    text: str,
    box: PixelBox,
    size: tuple[int, int],
    *,
    font: str,
    plate_role: str,
    palette: Palette,
    fonts: FontRegistry,
) -> tuple[Image.Image, int, int] | None:
    """Text on a pill of a palette colour, laid out by the image engine; None when nothing fits."""
    x, y, w, h = box
    local = (0, 0, w, h)
    text_box = text_box_for_plate(local, "pill")
    scale = canvas_scale(size)
    style = TextStyle(
        font=font,
        size_max=0.065 * scale,
        size_min=max(9.0, 0.025 * scale),
        align="center",
        valign="middle",
        max_lines=2,
    )
    block = layout_text(text, text_box[2], text_box[3], style, fonts)
    if block.empty:
        return None
    canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    mask = text_mask(block, text_box, style)
    ink = mask_ink_bbox(mask, text_box)
    plate_colour = palette.role(plate_role)
    x0, y0, x1, y1 = draw_plate(canvas, "pill", local, ink, plate_colour)
    ink_colour = {"primary": palette.on_primary, "accent": palette.on_accent}.get(plate_role)
    if ink_colour is None:
        ink_colour, _ = best_text_colour([plate_colour], [palette.text, palette.on_primary, palette.background])
    fill_text(canvas, mask, text_box, ink_colour)
    return canvas.crop((x0, y0, x1, y1)), x + x0, y + y0


def _end_card(
    size: tuple[int, int],
    products: Sequence[VideoProduct],
    copy: AdCopy,
    cta: str,
    palette: Palette,
    fonts: FontRegistry,
    assets: Mapping[str, Image.Image],
) -> Rendered:
    template = parse_template(END_CARD_SPEC)
    if "logo" not in assets:
        template = parse_template(
            {**END_CARD_SPEC, "layers": [x for x in END_CARD_SPEC["layers"] if x["id"] != "logo"]}
        )
    card_copy = AdCopy(title=copy.title, subtitle=cta or copy.subtitle, price=copy.price)
    # Cut-out products side by side; a scene photo only alone (when no product was cut out).
    shown = tuple(p.product for p in products if not p.product.scene)[:4] or (products[0].product,)
    rendered = render(
        template,
        size,
        products=shown,
        copy=card_copy,
        choices=RenderChoices(palette=palette),
        fonts=fonts,
        assets=assets,
    )
    return rendered


def _background(template: VideoTemplate, size: tuple[int, int], palette: Palette, assets) -> Image.Image | None:
    base = template.base
    if base.type == "footage":
        return None
    if base.type == "colour":
        return Image.new("RGBA", size, (*palette.role(base.colour), 255))
    if base.type == "gradient":
        return gradient_image(size, palette.role(base.colour), palette.role(base.to), base.angle, 1.0)
    source = assets.get(base.asset or "")
    if source is None:
        raise VideoError(f"The template's background image {base.asset!r} was not supplied")
    scale = max(size[0] / source.width, size[1] / source.height)
    cover = source.convert("RGBA").resize((math.ceil(source.width * scale), math.ceil(source.height * scale)))
    left, top = (cover.width - size[0]) // 2, (cover.height - size[1]) // 2
    return cover.crop((left, top, left + size[0], top + size[1]))


def plan_video(
    template: VideoTemplate,
    size: tuple[int, int],
    *,
    products: Sequence[VideoProduct],
    copy: AdCopy,
    palette: Palette,
    fonts: FontRegistry,
    assets: Mapping[str, Image.Image],
) -> VideoPlan:
    """Draw every overlay once and work out where and when it shows."""
    width, height = size
    if width % 2 or height % 2 or not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise VideoError(f"Video size {width}x{height}: sides must be even and between {MIN_SIDE} and {MAX_SIDE}")
    if not products:
        raise VideoError("A product video needs at least one product")
    video_aspect(size)
    overlays: list[Overlay] = []
    warnings: list[str] = []
    end_card: Rendered | None = None
    shadowed: dict[tuple[int, PixelBox], tuple[Image.Image, int, int, int]] = {}
    for slot in template.slots:
        box = slot_box(template, slot, size)
        enter = min(ENTER_SECONDS, slot.duration / 3)
        fade = template.transition_duration if slot.transition == "crossfade" else 0.0
        fade = min(fade, slot.duration / 2, template.duration - slot.end)
        fade_in = max(fade, enter if slot.motion == "fade" else 0.0) if slot.start > 0 else 0.0
        fade_out = fade if slot.end < template.duration - 1e-6 else 0.0
        common = {"slot": slot, "fade_in": fade_in, "fade_out": fade_out, "enter": enter}
        index = slot.product % len(products)
        item = products[index]

        if slot.type == "product" and item.product.scene:
            # A photo with no clean cut-out fills the frame for its slot, never a framed card over the footage,
            # cropped round its subject as an image ad's is (a centred crop of a 720x1280 frame cut a
            # motorcycle's rear wheel and a robin's head).
            img = scene_crop(item.product, size)[0]
            overlays.append(Overlay(image=img, x=0, y=0, content=item.sku, product_index=index, **common))
        elif slot.type == "product":
            # Drawn at its settled size; a zoom-in starts smaller and ends at this size, so it is never enlarged.
            if (index, box) not in shadowed:  # a product shown in several slots of one region is drawn once
                img, px, py, _ = contain(item.product.image, box, 3.0 / item.product.source_scale, valign="middle")
                shadowed[index, box] = (*_shadowed(img), px, py)
            img, pad, px, py = shadowed[index, box]
            overlays.append(Overlay(image=img, x=px - pad, y=py - pad, content=item.sku, product_index=index, **common))
        elif slot.type in ("highlight", "price"):
            if slot.type == "price":
                text = copy.price
            else:
                text = item.highlights[slot.highlight] if slot.highlight < len(item.highlights) else ""
            if not text.strip():
                warnings.append(f"{slot.type} slot at {slot.start:g} s skipped: the product has no {slot.type} text")
                continue
            plate = _text_plate(text, box, size, font=slot.font, plate_role=slot.colour, palette=palette, fonts=fonts)
            if plate is None:
                warnings.append(f"{slot.type} slot at {slot.start:g} s skipped: {text!r} does not fit")
                continue
            img, px, py = plate
            overlays.append(Overlay(image=img, x=px, y=py, content=text, product_index=index, **common))
        elif slot.type == "logo":
            logo = assets.get("logo")
            if logo is None:
                warnings.append("logo slot skipped: no logo asset")
                continue
            img, px, py, _ = contain(logo.convert("RGBA"), box, 4.0, align="left", valign="middle")
            overlays.append(Overlay(image=img, x=px, y=py, content="logo", **common))
        else:  # end_card
            end_card = _end_card(size, products, copy, slot.cta, palette, fonts, assets)
            overlays.append(Overlay(image=end_card.image.convert("RGBA"), x=0, y=0, content=copy.title, **common))

    first_product = next((o for o in overlays if o.slot.type == "product"), overlays[0] if overlays else None)
    poster_time = 0.0
    if first_product is not None:
        s = first_product.slot
        poster_time = min(s.start + max(first_product.enter, first_product.fade_in) + 0.5, (s.start + s.end) / 2)
        # A representative frame: the first product settled, with whatever else is on screen then.
        poster_time = max(s.start, min(poster_time, s.end - 1 / template.fps))
    return VideoPlan(
        template=template,
        size=size,
        overlays=tuple(overlays),
        background=_background(template, size, palette, assets),
        poster_time=poster_time,
        warnings=tuple(warnings),
        end_card=end_card,
    )


def _ease(t0: float, enter: float) -> str:
    """ffmpeg expression: 1 at the slot's start, easing (cubic out) to 0 once it has settled."""
    return f"pow(max(0\\,1-(t-{t0:.4f})/{enter:.4f})\\,3)"


def _position(o: Overlay, size: tuple[int, int]) -> tuple[str, str]:
    width, height = size
    s, motion = o.slot.start, o.slot.motion
    ease = _ease(s, o.enter)
    if motion == "slide-left":  # enters from the right edge, moving left
        return f"{o.x}+{width - o.x}*{ease}", str(o.y)
    if motion == "slide-right":
        return f"{o.x}-{o.x + o.image.width}*{ease}", str(o.y)
    if motion == "slide-up":
        return str(o.x), f"{o.y}+{height - o.y}*{ease}"
    if motion == "slide-down":
        return str(o.x), f"{o.y}-{o.y + o.image.height}*{ease}"
    if motion == "zoom-in":  # scaled about its centre
        cx, cy = o.x + o.image.width / 2, o.y + o.image.height / 2
        return f"{cx:.1f}-overlay_w/2", f"{cy:.1f}-overlay_h/2"
    return str(o.x), str(o.y)


def filter_graph(plan: VideoPlan, *, base_label: str, first_input: int) -> str:
    """The ffmpeg filter graph: the base at [base_label], overlay i read from input first_input + i."""
    t = plan.template
    fps = t.fps
    parts: list[str] = []
    current = base_label
    for i, o in enumerate(plan.overlays):
        s, e = o.slot.start, o.slot.end
        # A crossfade overlaps: the outgoing slot fades out after its end while the next fades in.
        until = min(t.duration, e + o.fade_out)
        frames = max(1, round((until - s) * fps))
        chain = [
            "format=yuva420p",  # converted once; the loop repeats the converted frame
            f"loop=loop={frames - 1}:size=1:start=0",
            f"setpts=N/{fps}/TB+{s:.4f}/TB",
        ]
        if o.slot.motion == "zoom-in":
            z = f"(1/{ZOOM}+(1-1/{ZOOM})*(t-{s:.4f})/{e - s:.4f})"
            chain.append(f"scale=w='2*trunc(iw*{z}/2)':h='2*trunc(ih*{z}/2)':eval=frame:flags=bilinear")
        if o.fade_in > 0:
            chain.append(f"fade=t=in:st={s:.4f}:d={o.fade_in:.4f}:alpha=1")
        if o.fade_out > 0:
            chain.append(f"fade=t=out:st={e:.4f}:d={until - e:.4f}:alpha=1")
        parts.append(f"[{first_input + i}:v]{','.join(chain)}[o{i}]")
        x, y = _position(o, plan.size)
        out = f"v{i}"
        parts.append(f"[{current}][o{i}]overlay=x='{x}':y='{y}':eof_action=pass:format=yuv420:eval=frame[{out}]")
        current = out
    poster_frame = min(t.frame_count - 1, round(plan.poster_time * fps))
    # The poster is one frame of the same stream; it alone is converted to full-range JPEG levels.
    parts.append(f"[{current}]format=yuv420p,split=2[vout][vp]")
    parts.append(f"[vp]select='eq(n\\,{poster_frame})',scale=out_range=full,format=yuvj420p[poster]")
    return ";".join(parts)


_FRAME = re.compile(r"frame=\s*(\d+)")

FIT_PASSES = 3  # re-encodings tried after the first, each capped lower, before a video is flagged too big
MIN_VIDEO_KBPS = 8  # a cap below this leaves no watchable picture: flag the video rather than try
FIT_AUDIO_KBPS = (32, 128)  # AAC bitrate range while fitting: a quarter of the budget, within these
ORPHAN_TRACK_SECONDS = 3600  # a half-written sound track untouched this long lost its worker: removed


@dataclass(frozen=True)
class RateControl:
    """One encoding's rate control: constant quality, optionally capped by a VBV bitrate limit."""

    crf: int
    maxrate_kbps: int | None = None  # with bufsize = maxrate / 2: half a second of buffer
    audio_kbps: int = 128

    def args(self) -> list[str]:
        """The video's rate arguments; the sound comes encoded at `audio_kbps` from `soundtrack`."""
        out = ["-crf", str(self.crf)]
        if self.maxrate_kbps:
            out += ["-maxrate", f"{self.maxrate_kbps}k", "-bufsize", f"{max(1, self.maxrate_kbps // 2)}k"]
        return out

    def describe(self) -> dict[str, object]:
        return {"crf": self.crf, "maxrate_kbps": self.maxrate_kbps, "audio_kbps": self.audio_kbps}


def capped_rate(
    crf: int, *, max_bytes: int, duration: float, frames: int, with_audio: bool, scale: float = 1.0
) -> RateControl | None:
    """The rate control whose worst case fits `max_bytes` (times `scale`), or None when none can.

    The budget is the limit less the MP4's own bytes (about 2 KB plus 16 per frame for its
    sample tables) and the audio's; the video's VBV cap is then set so that the cap over the
    whole duration plus the half-second buffer stays inside it.
    """
    budget_bits = (max_bytes * scale - 2048 - 16 * frames) * 8
    audio_kbps = 0
    if with_audio:
        low, high = FIT_AUDIO_KBPS
        audio_kbps = int(min(high, max(low, budget_bits / duration / 1000 / 4)))
        budget_bits -= audio_kbps * 1000 * duration
    maxrate = int(budget_bits / (duration + 0.5) / 1000)
    if maxrate < MIN_VIDEO_KBPS:
        return None
    return RateControl(crf=crf, maxrate_kbps=maxrate, audio_kbps=audio_kbps or FIT_AUDIO_KBPS[1])


def _footage_checked(template: VideoTemplate, footage: Path | None, *, timeout: float) -> MediaInfo | None:
    """The footage's streams when the template is drawn over footage; None for a generated base.

    Raises FootageError when the footage is missing, unreadable or shorter than the template.
    """
    if template.base.type != "footage":
        return None
    if footage is None:
        raise FootageError(f"The template needs footage {template.base.asset!r} and none was supplied")
    info = probe(Path(footage), timeout=min(timeout, 30.0))
    if info.duration + 0.5 / template.fps < template.duration:
        raise FootageError(
            f"Footage {Path(footage).name} lasts {info.duration:.2f} s; the template needs {template.duration:g} s"
        )
    return info


def _orphan_tracks_removed(directory: Path) -> None:
    cutoff = time.time() - ORPHAN_TRACK_SECONDS
    for partial in directory.glob(".sound-*.m4a"):
        try:
            if partial.stat().st_mtime < cutoff:
                partial.unlink()
        except FileNotFoundError:  # another worker removed it first
            pass


def soundtrack(
    template: VideoTemplate, footage: Path, directory: Path, *, audio_kbps: int, timeout: float, threads: int = 0
) -> Path:
    """The template's sound from `footage` (trimmed to its duration, padded, faded out) as AAC at
    `audio_kbps` in an M4A in `directory`, encoded only when that file is not there yet.

    A video's sound depends on the footage and the template's timing, never on its products, so the
    videos of a campaign drawn over one footage stream-copy one encoding instead of each encoding
    the same sound again (AAC is about a tenth of a render's CPU). The file's name holds the
    footage's path, size and modification time and the trim, fade and bitrate; it is written under
    a temporary name and renamed, so a worker never reads another's half-written track; one a
    killed worker left behind is removed by the next encoding once it is ORPHAN_TRACK_SECONDS old
    (ffmpeg writes a live one as it goes, and a track takes about a second).

    Raises FootageError when the footage's sound cannot be decoded, VideoTimeout after `timeout`.
    """
    footage = Path(footage)
    stat = footage.stat()
    duration = template.duration
    fade = min(template.base.audio_fade, duration / 2)
    key = f"{footage.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{duration:.4f}|{fade:.4f}|{audio_kbps}"
    track = Path(directory) / f"sound-{hashlib.sha256(key.encode()).hexdigest()[:32]}.m4a"
    if track.exists():
        return track
    track.parent.mkdir(parents=True, exist_ok=True)
    _orphan_tracks_removed(track.parent)
    handle, name = tempfile.mkstemp(prefix=".sound-", suffix=".m4a", dir=track.parent)
    os.close(handle)
    partial = Path(name)
    sound = (
        f"atrim=0:{duration:.4f},asetpts=PTS-STARTPTS,apad=whole_dur={duration:.4f},"
        f"afade=t=out:st={duration - fade:.4f}:d={fade:.4f}"
    )
    try:
        run = run_ffmpeg(
            ["-y", "-t", f"{duration + 1:.3f}", "-i", str(footage), "-vn", "-af", sound]
            + ["-c:a", "aac", "-b:a", f"{audio_kbps}k", *(["-threads", str(threads)] if threads else []), str(partial)],
            timeout=timeout,
            what=f"Encoding the sound of {footage.name}",
        )
        if run.returncode != 0:
            message = last_error_line(run.stderr)
            raise FootageError(f"The sound of footage {footage.name} could not be decoded ({message})")
        os.replace(partial, track)
    finally:
        partial.unlink(missing_ok=True)
    return track


def _raw_input(image: Image.Image, path: Path) -> list[str]:
    """Write `image` (RGB or RGBA) as raw pixels and return the `-i` arguments that read it.

    Raw, not PNG: the same pixels reach ffmpeg without a compress and a decompress of every
    overlay (the end card alone is a full frame), which cost more than the rest of the plan.
    """
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA")
    path.write_bytes(image.tobytes())
    pix_fmt = "rgb24" if image.mode == "RGB" else "rgba"
    return ["-f", "rawvideo", "-pixel_format", pix_fmt, "-video_size", f"{image.width}x{image.height}", "-i", str(path)]


def _ffmpeg_inputs(plan: VideoPlan, work: Path, info: MediaInfo | None, footage: Path | None) -> tuple[list[str], str]:
    """The `-i` arguments and the filter graph that reads them (a generated base and the overlays saved in `work`).

    One function, not two: the graph names its inputs by position (the base is input 0, overlay i
    input 1 + i), so the arguments and the graph are only right built side by side. The sound is
    not in the graph: each pass adds the encoded `soundtrack` as the last input and copies it.
    """
    t = plan.template
    width, height = plan.size
    args: list[str] = []
    if info is not None:
        args += ["-t", f"{t.duration + 1:.3f}", "-i", str(footage)]
        base = (
            f"[0:v]fps={t.fps},scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic,"
            f"crop={width}:{height},setsar=1,format=yuv420p[base]"
        )
    else:
        assert plan.background is not None
        args += _raw_input(plan.background.convert("RGB"), work / "background.rgb")
        base = f"[0:v]format=yuv420p,loop=loop={t.frame_count - 1}:size=1:start=0,setpts=N/{t.fps}/TB,setsar=1[base]"
    for i, o in enumerate(plan.overlays):
        args += _raw_input(o.image, work / f"overlay-{i}.rgba")
    return args, base + ";" + filter_graph(plan, base_label="base", first_input=1)


def _encoder_args(
    template: VideoTemplate, graph_file: Path, *, preset: str, x264_params: str, threads: int
) -> list[str]:
    """What every pass passes after the inputs: the graph, the video it maps out, the H.264 settings."""
    args = ["-/filter_complex", str(graph_file)]  # read from a file: no argv length limit
    if threads:
        args += ["-filter_complex_threads", str(threads)]
    args += ["-map", "[vout]"]
    args += [
        "-c:v", "libx264", "-preset", preset, "-x264-params", x264_params, "-pix_fmt", "yuv420p",
        "-r", str(template.fps), "-frames:v", str(template.frame_count), "-movflags", "+faststart",
    ]  # fmt: skip
    if threads:
        args += ["-threads", str(threads)]
    return args


@dataclass(frozen=True)
class _Encoding:
    """What the passes of one render share; each pass adds only its rate control and its file name."""

    inputs: tuple[str, ...]  # the footage (or generated base) and the overlays
    encoder: tuple[str, ...]  # the graph, the video mapped out, the H.264 settings
    poster: Path  # each pass writes its poster frame here, in the scratch directory
    template: VideoTemplate
    output: Path  # the finished video's path, named in progress and errors
    footage: Path | None
    info: MediaInfo | None  # the footage's streams when the video is drawn over it
    with_audio: bool
    sound_dir: Path  # where the sound is encoded once per bitrate (`soundtrack`)
    threads: int
    started: float  # time.perf_counter() when the render began: `timeout` covers every pass
    timeout: float


@dataclass(frozen=True)
class _Encoded:
    """One pass's encoding, still in the scratch directory."""

    video: Path
    size: int  # bytes
    rate: RateControl


def _encode_pass(job: _Encoding, rate: RateControl, video: Path) -> int:
    """One ffmpeg run of the whole graph at `rate` into `video` (and the poster); the encoding's size in bytes.

    Raises VideoTimeout (the render's time is spent, or ffmpeg overran it), FootageError (the
    footage fails to decode or ends early) or VideoError (any other ffmpeg failure).
    """
    t = job.template
    remaining = job.timeout - (time.perf_counter() - job.started)
    if remaining <= 0:
        raise VideoTimeout(f"Rendering {job.output.name} did not fit its size within {job.timeout:g} s")
    sound_in: list[str] = []
    sound_out: list[str] = []
    if job.with_audio:
        assert job.footage is not None
        track = soundtrack(
            t, job.footage, job.sound_dir, audio_kbps=rate.audio_kbps, timeout=remaining, threads=job.threads
        )
        remaining = job.timeout - (time.perf_counter() - job.started)
        sound_in = ["-i", str(track)]
        sound_out = ["-map", f"{job.inputs.count('-i')}:a", "-c:a", "copy"]
    run = run_ffmpeg(
        ["-y", *job.inputs, *sound_in, *job.encoder, *sound_out, *rate.args(), str(video)]
        + ["-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-update", "1", str(job.poster)],
        timeout=remaining,
        what=f"Rendering {job.output.name}",
    )
    if run.returncode != 0:
        message = last_error_line(run.stderr)
        if job.info is not None and ("Invalid data" in message or "corrupt" in message.lower()):
            raise FootageError(f"Footage {Path(job.footage).name} could not be decoded ({message})")
        raise VideoError(f"ffmpeg failed rendering {job.output.name}: {message}")
    frames = [int(n) for n in _FRAME.findall(run.stderr)]
    made = frames[-1] if frames else 0
    if made < t.frame_count:
        raise FootageError(
            f"Footage {Path(job.footage).name if job.footage else ''} ended after {made / t.fps:.2f} s of the "
            f"{t.duration:g} s the template needs (a truncated or damaged file)"
        )
    if not job.poster.exists():
        raise VideoError(f"ffmpeg wrote no poster frame for {job.output.name}")
    return video.stat().st_size


def _fitted(job: _Encoding, work: Path, *, crf: int, max_bytes: int | None) -> tuple[_Encoded, int]:
    """The smallest encoding made, and how many passes it took.

    The first pass is at constant quality; while the smallest is over `max_bytes`, up to
    FIT_PASSES more run under a bitrate cap, each aimed lower by how far the last overshot.
    """
    t = job.template
    video = work / "video-0.mp4"
    rate = RateControl(crf=crf)
    best = _Encoded(video, _encode_pass(job, rate, video), rate)
    passes, scale = 1, 1.0
    while max_bytes is not None and best.size > max_bytes and passes <= FIT_PASSES:
        capped = capped_rate(
            crf, max_bytes=max_bytes, duration=t.duration, frames=t.frame_count, with_audio=job.with_audio, scale=scale
        )
        if capped is None:  # the limit leaves too little for any picture
            break
        video = work / f"video-{passes}.mp4"
        size = _encode_pass(job, capped, video)
        passes += 1
        if size < best.size:
            best = _Encoded(video, size, capped)
        scale *= min(0.9, 0.95 * max_bytes / size)  # aim the next cap below by the overshoot
    return best, passes


def _publish(work: Path, output: Path, *, video: Path, poster: Path, manifest: dict) -> Path:
    """Move the kept encoding, its poster and the manifest from `work` to `output` and beside it; the poster's path.

    Each file appears under its final name only complete: a rename within one filesystem, as
    `work` is a directory beside `output`.
    """
    final_poster = output.with_suffix(".jpg")
    manifest_tmp = work / "manifest.json"
    manifest_tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    os.replace(poster, final_poster)
    os.replace(manifest_tmp, output.with_suffix(".json"))
    os.replace(video, output)
    return final_poster


def render_video(
    plan: VideoPlan,
    output: Path,
    *,
    footage: Path | None = None,
    timeout: float = 300.0,
    threads: int = 0,
    preset: str = "superfast",
    x264_params: str = X264_PARAMS,
    crf: int = 23,
    products: Sequence[VideoProduct] = (),
    max_bytes: int | None = None,
    soundtrack_dir: Path | None = None,
) -> VideoResult:
    """Encode `plan` to an H.264 MP4 at `output` with a poster JPEG and a JSON manifest beside it.

    The video is encoded at constant quality (`crf`). With `max_bytes` (a placement's file-size
    limit) an encoding over it is redone with a bitrate cap worked out from the duration, lowered
    on each of up to FIT_PASSES tries by how far the last one overshot; when none fits, the
    smallest is kept with `fits=False` so the caller can flag it. `timeout` covers every pass.
    The footage's sound is encoded once per bitrate by `soundtrack` into `soundtrack_dir` (a
    directory the caller keeps, so later videos over the same footage reuse it) or, without one,
    into the render's scratch directory, and stream-copied into every pass.

    Raises FootageError (unreadable, empty, no video stream, too short, ends early),
    VideoTimeout (ffmpeg stopped, its process group killed) or VideoError. On any error
    nothing is left at `output`, the poster's or the manifest's path.
    """
    started = time.perf_counter()
    t = plan.template
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    info = _footage_checked(t, footage, timeout=timeout)
    with_audio = bool(info and info.has_audio and t.base.audio)

    # Everything is made in a scratch directory beside `output`, which goes with whatever an error leaves.
    with tempfile.TemporaryDirectory(prefix="video-", dir=output.parent) as tmp:
        work = Path(tmp)
        inputs, graph = _ffmpeg_inputs(plan, work, info, footage)
        graph_file = work / "graph.txt"
        graph_file.write_text(graph)
        job = _Encoding(
            inputs=tuple(inputs),
            encoder=tuple(_encoder_args(t, graph_file, preset=preset, x264_params=x264_params, threads=threads)),
            poster=work / "poster.jpg",
            template=t,
            output=output,
            footage=footage,
            info=info,
            with_audio=with_audio,
            sound_dir=Path(soundtrack_dir) if soundtrack_dir is not None else work,
            threads=threads,
            started=started,
            timeout=timeout,
        )
        best, passes = _fitted(job, work, crf=crf, max_bytes=max_bytes)
        fits = max_bytes is None or best.size <= max_bytes
        encoding = {**best.rate.describe(), "passes": passes, "max_bytes": max_bytes, "fits": fits}
        if not with_audio:
            encoding["audio_kbps"] = None
        manifest = video_manifest(plan, audio=with_audio, products=products)
        poster = _publish(work, output, video=best.video, poster=job.poster, manifest=manifest)
    return VideoResult(output, poster, manifest, time.perf_counter() - started, best.size, fits, encoding)


def video_manifest(plan: VideoPlan, *, audio: bool, products: Sequence[VideoProduct] = ()) -> dict:
    t = plan.template
    return {
        "template": t.name,
        "duration": t.duration,
        "fps": t.fps,
        "frames": t.frame_count,
        "width": plan.size[0],
        "height": plan.size[1],
        "audio": audio,
        "poster_time": round(plan.poster_time, 3),
        "timeline": [
            {
                "type": o.slot.type,
                "start": o.slot.start,
                "end": o.slot.end,
                "box": list(o.box),
                "motion": o.slot.motion,
                "content": o.content,
                **({"product": o.product_index} if o.product_index is not None else {}),
                **(
                    {"sku": products[o.product_index].sku}
                    if o.product_index is not None and o.product_index < len(products)
                    else {}
                ),
            }
            for o in plan.overlays
        ],
        "warnings": list(plan.warnings),
    }
