"""Product pictures and shop logos drawn with Pillow: no network, no downloaded fonts.

Each picture is a gradient in its top category's colours, a simple product outline (a dress,
a phone, a cup…) and the English caption (the bundled font has no CJK glyphs). The same
arguments always give the same bytes, and one picture takes a few milliseconds.
"""

from __future__ import annotations

import io
import random
import textwrap
from collections.abc import Callable
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from mercato.demo.data import FAMILY_BY_KEY

RGB = tuple[int, int, int]
Point = tuple[float, float]

PRODUCT_COLORS: tuple[RGB, ...] = (
    (214, 69, 80),
    (52, 101, 164),
    (46, 139, 87),
    (230, 145, 56),
    (142, 68, 173),
    (44, 62, 80),
    (236, 112, 160),
    (22, 160, 133),
    (190, 150, 90),
    (120, 120, 130),
)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _shade(color: RGB, factor: float) -> RGB:
    r, g, b = (max(0, min(255, int(c * factor))) for c in color)
    return (r, g, b)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    r, g, bl = (int(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


@lru_cache(maxsize=64)
def _gradient(top: RGB, bottom: RGB, size: int) -> Image.Image:
    mask = Image.linear_gradient("L").resize((size, size))
    return Image.composite(
        Image.new("RGB", (size, size), bottom), Image.new("RGB", (size, size), top), mask
    )


class _Pen:
    """Draws in a unit frame: (-1, -1) top left to (1, 1) bottom right of the product area."""

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, cy: float, scale: float) -> None:
        self.draw, self.cx, self.cy, self.s = draw, cx, cy, scale

    def p(self, x: float, y: float) -> Point:
        return (self.cx + x * self.s, self.cy + y * self.s)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        (a, b), (c, d) = self.p(x0, y0), self.p(x1, y1)
        return (a, b, c, d)

    def poly(self, points: list[Point], fill: RGB, outline: RGB | None = None) -> None:
        self.draw.polygon([self.p(x, y) for x, y in points], fill=fill, outline=outline, width=3)

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB, r: float = 0) -> None:
        if r:
            self.draw.rounded_rectangle(self.box(x0, y0, x1, y1), radius=r * self.s, fill=fill)
        else:
            self.draw.rectangle(self.box(x0, y0, x1, y1), fill=fill)

    def ellipse(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: RGB | None = None,
        outline: RGB | None = None,
        width: float = 0,
    ) -> None:
        self.draw.ellipse(
            self.box(x0, y0, x1, y1), fill=fill, outline=outline, width=int(width * self.s)
        )

    def line(self, points: list[Point], fill: RGB, width: float) -> None:
        self.draw.line([self.p(x, y) for x, y in points], fill=fill, width=int(width * self.s))

    def arc(
        self, box: tuple[float, float, float, float], start: float, end: float, fill: RGB, w: float
    ) -> None:
        self.draw.arc(self.box(*box), start, end, fill=fill, width=int(w * self.s))


def _dress(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.line([(-0.22, -1.0), (-0.2, -0.7)], d, 0.03)
    pen.line([(0.22, -1.0), (0.2, -0.7)], d, 0.03)
    body = [(-0.28, -0.72), (0.28, -0.72), (0.22, -0.2), (0.8, 0.95), (-0.8, 0.95), (-0.22, -0.2)]
    pen.poly(body, c, d)
    pen.rect(-0.24, -0.26, 0.24, -0.16, d)
    for _ in range(14):  # the florals
        y = rng.uniform(-0.05, 0.85)
        half = 0.22 + (y + 0.2) * 0.55
        x = rng.uniform(-half * 0.85, half * 0.85)
        pen.ellipse(x - 0.04, y - 0.04, x + 0.04, y + 0.04, fill=(255, 255, 255))


def _tshirt(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    body = [
        (-0.35, -0.85), (-0.12, -0.9), (0.12, -0.9), (0.35, -0.85), (0.9, -0.45),
        (0.7, -0.15), (0.48, -0.3), (0.48, 0.95), (-0.48, 0.95), (-0.48, -0.3),
        (-0.7, -0.15), (-0.9, -0.45),
    ]  # fmt: skip
    pen.poly(body, c, d)
    pen.arc((-0.16, -1.02, 0.16, -0.72), 0, 180, d, 0.04)
    if rng.random() < 0.5:  # stripes
        for y in (-0.1, 0.2, 0.5, 0.8):
            pen.rect(-0.48, y, 0.48, y + 0.08, _shade(c, 1.3))


def _shirt(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    body = [
        (-0.35, -0.85), (0.35, -0.85), (0.85, -0.5), (0.95, 0.6), (0.72, 0.62), (0.5, -0.2),
        (0.48, 0.95), (-0.48, 0.95), (-0.5, -0.2), (-0.72, 0.62), (-0.95, 0.6), (-0.85, -0.5),
    ]  # fmt: skip
    pen.poly(body, c, d)
    white = (255, 255, 255)
    pen.poly([(-0.2, -0.9), (0.0, -0.62), (-0.05, -0.55), (-0.3, -0.78)], white, d)
    pen.poly([(0.2, -0.9), (0.0, -0.62), (0.05, -0.55), (0.3, -0.78)], white, d)
    pen.line([(0.0, -0.6), (0.0, 0.95)], d, 0.012)
    for i in range(5):
        y = -0.45 + i * 0.3
        pen.ellipse(0.03, y - 0.03, 0.09, y + 0.03, fill=white)


def _jeans(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    legs = [(-0.45, -0.9), (0.45, -0.9), (0.58, 0.95), (0.1, 0.95), (0.0, -0.2), (-0.1, 0.95),
            (-0.58, 0.95)]  # fmt: skip
    pen.poly(legs, c, d)
    pen.rect(-0.45, -0.9, 0.45, -0.78, d)
    pen.line([(0.0, -0.78), (0.0, -0.25)], d, 0.015)
    pen.arc((-0.35, -0.8, -0.05, -0.5), 0, 90, d, 0.015)
    pen.arc((0.05, -0.8, 0.35, -0.5), 90, 180, d, 0.015)


def _shoe(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    upper = [(-0.9, 0.3), (-0.88, -0.25), (-0.45, -0.3), (-0.15, -0.6), (0.15, -0.55),
             (0.35, -0.1), (0.85, 0.02), (0.95, 0.3)]  # fmt: skip
    pen.poly(upper, c, d)
    pen.rect(-0.93, 0.28, 0.98, 0.45, (245, 245, 245), r=0.08)
    for i in range(4):
        x = -0.05 + i * 0.1
        pen.line([(x - 0.05, -0.45 + i * 0.1), (x + 0.08, -0.35 + i * 0.1)], (255, 255, 255), 0.02)


def _phone(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(-0.45, -0.95, 0.45, 0.95, d, r=0.12)
    pen.rect(-0.4, -0.88, 0.4, 0.88, _mix(c, (255, 255, 255), 0.35), r=0.08)
    pen.ellipse(-0.04, -0.84, 0.04, -0.76, fill=d)
    for i in range(3):
        pen.rect(-0.3, -0.5 + i * 0.35, 0.3, -0.3 + i * 0.35, _shade(c, 0.9 + 0.1 * i), r=0.04)


def _headphones(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.arc((-0.7, -0.9, 0.7, 0.6), 180, 360, d, 0.1)
    pen.rect(-0.85, -0.1, -0.45, 0.6, c, r=0.15)
    pen.rect(0.45, -0.1, 0.85, 0.6, c, r=0.15)
    pen.rect(-0.75, 0.0, -0.6, 0.5, d, r=0.05)
    pen.rect(0.6, 0.0, 0.75, 0.5, d, r=0.05)


def _charger(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(-0.18, -0.85, -0.08, -0.45, (200, 200, 200))
    pen.rect(0.08, -0.85, 0.18, -0.45, (200, 200, 200))
    pen.rect(-0.45, -0.5, 0.45, 0.45, c, r=0.12)
    pen.rect(-0.2, 0.3, 0.2, 0.38, d, r=0.03)
    pen.line([(0.0, 0.45), (0.0, 0.7), (0.5, 0.85), (0.9, 0.7)], d, 0.04)


def _laptop(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(-0.72, -0.8, 0.72, 0.3, d, r=0.05)
    pen.rect(-0.65, -0.73, 0.65, 0.23, _mix(c, (255, 255, 255), 0.4))
    pen.poly([(-0.85, 0.32), (0.85, 0.32), (0.98, 0.5), (-0.98, 0.5)], _shade(d, 1.5), d)


def _cup(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.ellipse(-0.85, 0.6, 0.85, 0.9, fill=_shade(c, 0.85))
    pen.ellipse(0.3, -0.25, 0.85, 0.35, outline=c, width=0.09)
    pen.poly([(-0.6, -0.4), (0.5, -0.4), (0.38, 0.7), (-0.48, 0.7)], c, d)
    pen.ellipse(-0.6, -0.5, 0.5, -0.3, fill=(150, 110, 60))
    for x in (-0.3, 0.0, 0.3):
        pen.arc((x - 0.1, -1.0, x + 0.1, -0.6), 90, 270, (255, 255, 255), 0.03)


def _bag(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    top = [(-0.55 + i * 0.1, -0.85 if i % 2 else -0.78) for i in range(12)]
    pen.poly([*top, (0.6, 0.9), (-0.6, 0.9)], c, d)
    pen.ellipse(-0.3, -0.2, 0.3, 0.4, fill=(255, 255, 255))
    pen.ellipse(-0.18, -0.08, 0.18, 0.28, fill=_shade(c, 0.8))


def _jar(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(-0.42, -0.85, 0.42, -0.6, d, r=0.05)
    pen.rect(-0.55, -0.62, 0.55, 0.92, _mix(c, (255, 255, 255), 0.25), r=0.15)
    pen.rect(-0.55, -0.15, 0.55, 0.45, (255, 255, 255))
    for _ in range(10):
        x, y = rng.uniform(-0.45, 0.45), rng.uniform(0.5, 0.85)
        pen.ellipse(x - 0.07, y - 0.05, x + 0.07, y + 0.05, fill=(150, 100, 50))


def _pillow(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(-0.95, 0.1, 0.95, 0.8, _shade(c, 0.9), r=0.1)
    pen.rect(-0.85, -0.55, 0.85, 0.25, c, r=0.3)
    pen.rect(-0.72, -0.42, 0.72, 0.12, _mix(c, (255, 255, 255), 0.3), r=0.22)
    for x in range(-8, 9, 2):
        pen.line([(x / 10, 0.35), (x / 10 + 0.05, 0.75)], _shade(c, 0.75), 0.015)


def _pot(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(0.55, -0.12, 1.0, 0.0, (120, 80, 50), r=0.05)
    pen.draw.chord(pen.box(-0.8, -0.7, 0.6, 0.7), 0, 180, fill=d)
    pen.ellipse(-0.8, -0.12, 0.6, 0.12, fill=_shade(d, 1.6))


def _box(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.poly([(-0.7, -0.4), (0.5, -0.4), (0.8, -0.7), (-0.4, -0.7)], _shade(c, 1.2), d)
    pen.poly([(0.5, -0.4), (0.8, -0.7), (0.8, 0.55), (0.5, 0.85)], _shade(c, 0.8), d)
    pen.rect(-0.7, -0.4, 0.5, 0.85, c)
    pen.rect(-0.3, -0.1, 0.1, 0.0, d, r=0.04)


def _bottle(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.ellipse(-0.15, -1.0, 0.15, -0.7, fill=d)
    pen.rect(-0.1, -0.8, 0.1, -0.5, d)
    pen.rect(-0.35, -0.5, 0.35, 0.95, _mix(c, (255, 255, 255), 0.3), r=0.12)
    pen.rect(-0.28, 0.0, 0.28, 0.5, (255, 255, 255))
    pen.rect(-0.18, 0.15, 0.18, 0.22, c)


def _lipstick(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.poly([(-0.18, -0.3), (0.18, -0.5), (0.18, -0.05), (-0.18, -0.05)], c, _shade(c, 0.7))
    pen.rect(-0.24, -0.05, 0.24, 0.25, (212, 175, 55))
    pen.rect(-0.28, 0.25, 0.28, 0.95, (30, 30, 30), r=0.04)


def _dumbbell(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(-0.6, -0.06, 0.6, 0.06, (170, 170, 170))
    for x in (-0.75, 0.45):
        pen.rect(x, -0.45, x + 0.3, 0.45, c, r=0.06)
        pen.rect(x + 0.05, -0.35, x + 0.25, 0.35, d, r=0.04)


def _tent(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.poly([(0.0, -0.85), (0.95, 0.75), (-0.95, 0.75)], c, d)
    pen.poly([(0.0, -0.2), (0.3, 0.75), (-0.3, 0.75)], d)
    pen.line([(-1.0, 0.78), (1.0, 0.78)], (90, 140, 80), 0.04)


def _mat(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(-0.7, -0.3, 0.6, 0.3, c)
    pen.ellipse(0.4, -0.3, 0.8, 0.3, fill=_shade(c, 0.8))
    pen.ellipse(0.52, -0.15, 0.68, 0.15, fill=_shade(c, 0.6))
    pen.ellipse(-0.9, -0.3, -0.5, 0.3, fill=c)
    pen.line([(-0.4, 0.3), (-0.4, 0.5), (0.4, 0.5), (0.4, 0.3)], d, 0.02)


def _book(pen: _Pen, c: RGB, d: RGB, rng: random.Random) -> None:
    pen.rect(-0.5, -0.85, 0.6, 0.9, (250, 248, 240))
    pen.rect(-0.55, -0.9, 0.5, 0.85, c)
    pen.rect(-0.55, -0.9, -0.42, 0.85, d)
    pen.rect(-0.3, -0.6, 0.35, -0.5, (255, 255, 255))
    pen.rect(-0.3, -0.42, 0.2, -0.37, (255, 255, 255))
    pen.ellipse(-0.2, 0.0, 0.25, 0.45, outline=(255, 255, 255), width=0.03)


SHAPES: dict[str, Callable[[_Pen, RGB, RGB, random.Random], None]] = {
    "dress": _dress,
    "tshirt": _tshirt,
    "shirt": _shirt,
    "jeans": _jeans,
    "shoe": _shoe,
    "phone": _phone,
    "headphones": _headphones,
    "charger": _charger,
    "laptop": _laptop,
    "cup": _cup,
    "bag": _bag,
    "jar": _jar,
    "pillow": _pillow,
    "pot": _pot,
    "box": _box,
    "bottle": _bottle,
    "lipstick": _lipstick,
    "dumbbell": _dumbbell,
    "tent": _tent,
    "mat": _mat,
    "book": _book,
}


def product_image(
    *, family: str, shape: str, caption: str, seed: int, size: int = 600, quality: int = 80
) -> bytes:
    """A JPEG product picture; the same arguments always give the same bytes."""
    rng = random.Random(f"{family}/{shape}/{seed}")
    top, bottom = FAMILY_BY_KEY[family].colors
    jitter = rng.uniform(-0.12, 0.12)
    img = _gradient(_shade(top, 1 + jitter / 3), _shade(bottom, 1 + jitter), size).copy()
    draw = ImageDraw.Draw(img)
    k = size / 600
    # A soft spotlight behind the product.
    spot = _mix(top, (255, 255, 255), 0.55)
    draw.ellipse((110 * k, 40 * k, 490 * k, 420 * k), fill=spot)
    color = rng.choice(PRODUCT_COLORS)
    pen = _Pen(draw, (300 + rng.uniform(-20, 20)) * k, 235 * k, rng.uniform(150, 175) * k)
    SHAPES[shape](pen, color, _shade(color, 0.6), rng)
    _caption(draw, caption, size)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, optimize=False)
    return out.getvalue()


def _caption(draw: ImageDraw.ImageDraw, caption: str, size: int) -> None:
    k = size / 600
    lines = textwrap.wrap(caption, width=26)[:2] or [""]
    font = _font(max(10, int(34 * k)))
    band_top = size - (52 + 40 * len(lines)) * k
    draw.rectangle((0, band_top, size, size), fill=(255, 255, 255))
    draw.rectangle((0, band_top, size, band_top + 4 * k), fill=(255, 80, 0))
    y = band_top + 24 * k
    for line in lines:
        draw.text((size / 2, y), line, font=font, fill=(40, 40, 40), anchor="mt")
        y += 40 * k


def initials(name: str) -> str:
    """Up to two capital letters: "Jiangnan Weaving" -> "JW"."""
    letters = [w[0] for w in name.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(letters[:2]).upper() or "M"


def shop_logo(*, name: str, seed: int, size: int = 200) -> bytes:
    """A PNG logo: the name's initials on a coloured disc."""
    rng = random.Random(f"logo/{name}/{seed}")
    color = rng.choice(PRODUCT_COLORS)
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    pad = size // 16
    draw.ellipse((pad, pad, size - pad, size - pad), fill=color)
    ring = (pad * 2, pad * 2, size - pad * 2, size - pad * 2)
    draw.ellipse(ring, outline=(255, 255, 255), width=max(1, size // 60))
    font = _font(size * 2 // 5)
    draw.text((size / 2, size / 2), initials(name), font=font, fill=(255, 255, 255), anchor="mm")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
