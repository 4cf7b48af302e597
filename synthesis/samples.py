"""Product-like studio photos made by code, for the demo, the tests and the benchmarks.

Each photo shows one product in a single base colour with shading, a specular highlight,
a small label and a soft contact shadow, on a white, grey, warm or lightly textured
background: the common e-commerce main image. The true body colour is returned with it,
so colour recognition can be measured against ground truth without downloading anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ProductShape = Literal["jacket", "bottle", "sneaker", "box", "bag"]
Backdrop = Literal["white", "grey", "warm", "textured"]

SHAPES: tuple[ProductShape, ...] = ("jacket", "bottle", "sneaker", "box", "bag")
BACKDROPS: tuple[Backdrop, ...] = ("white", "grey", "warm", "textured")

_BACKDROP_RGB = {
    "white": (250, 250, 250),
    "grey": (236, 236, 238),
    "warm": (246, 240, 230),
    "textured": (242, 241, 238),
}


@dataclass(frozen=True)
class SamplePhoto:
    image: Image.Image
    body_rgb: tuple[int, int, int]
    shape: ProductShape
    backdrop: Backdrop


def _silhouette(shape: ProductShape, size: int) -> Image.Image:
    """A binary mask of the product, roughly centred, covering 30-55% of the frame."""
    mask = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(mask)
    s = size / 100.0

    def poly(points: list[tuple[float, float]]) -> None:
        d.polygon([(x * s, y * s) for x, y in points], fill=255)

    if shape == "jacket":
        poly(
            [
                (35, 18),
                (45, 14),
                (55, 14),
                (65, 18),
                (82, 30),
                (88, 62),
                (78, 64),
                (72, 40),
                (72, 84),
                (28, 84),
                (28, 40),
                (22, 64),
                (12, 62),
                (18, 30),
            ]
        )
    elif shape == "bottle":
        d.rounded_rectangle((36 * s, 32 * s, 64 * s, 86 * s), radius=8 * s, fill=255)
        poly([(42, 33), (45, 22), (55, 22), (58, 33)])
        d.rectangle((45 * s, 12 * s, 55 * s, 23 * s), fill=255)
    elif shape == "sneaker":
        poly([(14, 62), (20, 44), (34, 40), (46, 30), (58, 32), (64, 44), (84, 52), (88, 64), (86, 72), (16, 72)])
    elif shape == "box":
        d.rectangle((24 * s, 28 * s, 76 * s, 80 * s), fill=255)
    elif shape == "bag":
        d.rounded_rectangle((22 * s, 38 * s, 78 * s, 84 * s), radius=6 * s, fill=255)
        d.arc((34 * s, 18 * s, 66 * s, 52 * s), 180, 360, fill=255, width=max(2, int(4 * s)))
    else:  # pragma: no cover - Literal guards the callers
        raise ValueError(f"unknown shape {shape!r}")
    return mask


def _backdrop(kind: Backdrop, size: int, rng: np.random.Generator) -> np.ndarray:
    base = np.array(_BACKDROP_RGB[kind], dtype=np.float32)
    yy = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(base, (size, size, 3)) * (1.0 - 0.03 * yy)  # studio falloff
    if kind == "textured":
        noise = rng.normal(0.0, 1.0, (size // 8 + 1, size // 8 + 1)).astype(np.float32)
        noise = np.kron(noise, np.ones((8, 8), dtype=np.float32))[:size, :size]
        img = img + 4.0 * noise[:, :, None]
    return img


def product_photo(
    body_rgb: tuple[int, int, int],
    *,
    shape: ProductShape = "jacket",
    backdrop: Backdrop = "white",
    size: int = 800,
    seed: int = 0,
    label: bool = True,
) -> SamplePhoto:
    """Draw one studio product photo whose body is `body_rgb` before shading."""
    rng = np.random.default_rng(seed)
    mask_img = _silhouette(shape, size)
    img = _backdrop(backdrop, size, rng)

    # Soft contact shadow under the product.
    shadow = Image.new("L", (size, size), 0)
    bbox = mask_img.getbbox() or (0, 0, size, size)
    ds = ImageDraw.Draw(shadow)
    ds.ellipse((bbox[0], bbox[3] - size * 0.03, bbox[2], bbox[3] + size * 0.04), fill=90)
    shadow_a = np.asarray(shadow.filter(ImageFilter.GaussianBlur(size * 0.02)), dtype=np.float32) / 255.0
    img = img * (1.0 - 0.5 * shadow_a[:, :, None])

    # Body: base colour with a gentle left-to-right and top-to-bottom shading.
    xx = np.linspace(-1.0, 1.0, size, dtype=np.float32)[None, :]
    yy = np.linspace(-1.0, 1.0, size, dtype=np.float32)[:, None]
    shade = 1.0 - 0.10 * xx - 0.06 * yy + rng.normal(0.0, 0.004, (size, size)).astype(np.float32)
    body = np.asarray(body_rgb, dtype=np.float32)[None, None, :] * shade[:, :, None]
    # Specular highlight: a blurred bright streak on the upper left.
    hl = Image.new("L", (size, size), 0)
    dh = ImageDraw.Draw(hl)
    cx, cy = bbox[0] + (bbox[2] - bbox[0]) * 0.3, bbox[1] + (bbox[3] - bbox[1]) * 0.3
    dh.ellipse((cx - size * 0.05, cy - size * 0.09, cx + size * 0.03, cy + size * 0.09), fill=140)
    hl_a = np.asarray(hl.filter(ImageFilter.GaussianBlur(size * 0.025)), dtype=np.float32) / 255.0
    body = body + (255.0 - body) * 0.55 * hl_a[:, :, None]
    # Soft anti-aliased edge, as on a real cut photo.
    soft = np.asarray(mask_img.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32)[:, :, None] / 255.0
    img = img * (1.0 - soft) + body * soft

    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if label:
        d = ImageDraw.Draw(out)
        w, h = bbox[2] - bbox[0], bbox[3] - bbox[1]
        lx, ly = bbox[0] + w * 0.55, bbox[1] + h * 0.55
        d.rectangle((lx, ly, lx + w * 0.14, ly + h * 0.08), fill=(245, 245, 240))
        d.line((lx + w * 0.02, ly + h * 0.03, lx + w * 0.12, ly + h * 0.03), fill=(40, 40, 40), width=2)
        d.line((lx + w * 0.02, ly + h * 0.055, lx + w * 0.09, ly + h * 0.055), fill=(120, 120, 120), width=2)
    return SamplePhoto(image=out, body_rgb=tuple(int(c) for c in body_rgb), shape=shape, backdrop=backdrop)


def random_body_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A saturated or muted product colour, avoiding near-white bodies on white."""
    hue = rng.uniform(0, 1)
    sat = rng.uniform(0.35, 0.9)
    val = rng.uniform(0.3, 0.85)
    i = int(hue * 6) % 6
    f = hue * 6 - int(hue * 6)
    p, q, t = val * (1 - sat), val * (1 - f * sat), val * (1 - (1 - f) * sat)
    r, g, b = [(val, t, p), (q, val, p), (p, val, t), (p, q, val), (t, p, val), (val, p, q)][i]
    return int(r * 255), int(g * 255), int(b * 255)


def _linear_rgb_gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, size[1], dtype=np.float32)[:, None, None]
    row = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return np.broadcast_to(row, (size[1], size[0], 3)).copy()


def sample_assets() -> dict[str, Image.Image]:
    """The assets the shipped templates name, drawn by code: logo, burst, ribbon, scene-podium."""
    import math

    logo = Image.new("RGBA", (400, 160), (0, 0, 0, 0))
    d = ImageDraw.Draw(logo)
    d.rounded_rectangle((0, 0, 399, 159), radius=28, fill=(228, 87, 46, 255))
    d.ellipse((24, 30, 124, 130), fill=(255, 255, 255, 255))
    d.polygon([(58, 52), (58, 108), (102, 80)], fill=(228, 87, 46, 255))
    d.rectangle((150, 58, 370, 74), fill=(255, 255, 255, 255))
    d.rectangle((150, 88, 320, 102), fill=(255, 230, 220, 255))

    burst = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    points = []
    for i in range(32):
        r = 148 if i % 2 == 0 else 118
        a = math.pi * 2 * i / 32
        points.append((150 + r * math.cos(a), 150 + r * math.sin(a)))
    ImageDraw.Draw(burst).polygon(points, fill=(255, 200, 40, 255))

    ribbon = Image.new("RGBA", (360, 120), (0, 0, 0, 0))
    dr = ImageDraw.Draw(ribbon)
    # Plain: the ribbon holds the badge's text (a highlight line would run through it).
    dr.polygon([(0, 20), (330, 20), (360, 60), (330, 100), (0, 100), (30, 60)], fill=(200, 30, 60, 255))

    size = (1600, 1600)
    scene = _linear_rgb_gradient(size, (238, 232, 224), (214, 204, 192))
    floor_top = int(size[1] * 0.68)
    scene[floor_top:] = _linear_rgb_gradient((size[0], size[1] - floor_top), (206, 194, 180), (190, 176, 160))
    img = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8))
    ds = ImageDraw.Draw(img)
    # A round podium, lit from the top left, where the product stands.
    ds.ellipse((380, 1080, 1220, 1260), fill=(246, 242, 236))
    ds.rectangle((380, 1170, 1220, 1330), fill=(232, 226, 218))
    ds.ellipse((380, 1250, 1220, 1410), fill=(224, 216, 206))
    ds.ellipse((380, 1080, 1220, 1260), fill=(250, 247, 243))
    glow = Image.new("L", size, 0)
    ImageDraw.Draw(glow).ellipse((200, 100, 1000, 900), fill=60)
    glow = glow.filter(ImageFilter.GaussianBlur(160))
    img = Image.composite(Image.new("RGB", size, (255, 252, 246)), img, glow)
    return {"logo": logo, "burst": burst, "ribbon": ribbon, "scene-podium": img}


def sample_footage(
    path,
    *,
    seconds: float = 16.0,
    size: tuple[int, int] = (720, 1280),
    fps: int = 25,
    audio: bool = True,
    variable_frame_rate: bool = False,
    timeout: float = 120.0,
    seed: int = 0,
):
    """Write reusable background footage made by ffmpeg (a slowly moving radial gradient, a tone).

    `variable_frame_rate` spaces frames irregularly, as phones record; odd sizes are
    encoded 4:4:4 because 4:2:0 needs even sides. `seed` places the gradient's points: the same
    seed draws the same footage, so a benchmark's runs encode the same pictures. Returns the path.
    """
    from pathlib import Path

    from .ffmpeg import VideoError, last_error_line, run_ffmpeg

    path = Path(path)
    w, h = size
    video = (
        f"gradients=s={w}x{h}:c0=0x1d3557:c1=0x457b9d:c2=0xe9c46a:nb_colors=3:type=radial"
        f":speed=0.03:rate={fps}:duration={seconds}:seed={seed}"
    )
    args = ["-y", "-f", "lavfi", "-i", video]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=44100:duration={seconds}"]
    if variable_frame_rate:
        # Irregular timestamps need a fine time base, or the encoder rounds them back to 1/fps.
        args += ["-vf", f"settb=1/90000,setpts='(N+0.45*mod(N,3))/{fps}/TB'", "-fps_mode", "vfr"]
        args += ["-enc_time_base", "1:90000", "-video_track_timescale", "90000"]
    pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-pix_fmt", pix_fmt]
    if audio:
        args += ["-c:a", "aac", "-b:a", "96k", "-shortest"]
    run = run_ffmpeg([*args, str(path)], timeout=timeout, what="Making sample footage")
    if run.returncode != 0:
        raise VideoError(f"Could not make sample footage: {last_error_line(run.stderr)}")
    return path
