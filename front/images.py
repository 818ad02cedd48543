"""The site's images, drawn in code with Pillow: the icon (SVG, PNG, ICO from one set of
shapes) and the social card (a PNG, for sites that do not show SVG previews).

Nothing here knows a figure: ``front.seo.og_card`` words a model's card, this module only
draws it. Pillow's own font (``ImageFont.load_default``) is used, so no system font is
needed on any machine.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

from django.utils.html import format_html, format_html_join
from PIL import Image, ImageDraw, ImageFont

# --- the icon: a memory module on the brand blue, on a 32-unit grid ------------------------

ICON_GRID = 32
BRAND = "#0b5cad"
# (x, y, width, height, corner radius, colour)
ICON_SHAPES: tuple[tuple[int, int, int, int, int, str], ...] = (
    (0, 0, 32, 32, 6, BRAND),  # tile
    (4, 9, 24, 12, 1, "#ffffff"),  # module board
    (6, 11, 6, 6, 0, BRAND),  # memory chips
    (13, 11, 6, 6, 0, BRAND),
    (20, 11, 6, 6, 0, BRAND),
    (5, 21, 10, 3, 0, "#ffbf47"),  # gold contacts, with the key notch between
    (17, 21, 10, 3, 0, "#ffbf47"),
)
ICO_SIZES = (16, 32, 48)


def icon_svg() -> str:
    shapes = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{}"/>',
        ICON_SHAPES,
    )
    return str(
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {g} {g}">{}</svg>\n',
            shapes,
            g=ICON_GRID,
        )
    )


def _icon_image(size: int) -> Image.Image:
    """Drawn 4× larger and scaled down, so small sizes are smooth."""
    scale = size * 4 / ICON_GRID
    image = Image.new("RGBA", (size * 4, size * 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for x, y, w, h, r, colour in ICON_SHAPES:
        box = (x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1)
        draw.rounded_rectangle(box, radius=r * scale, fill=colour)
    return image.resize((size, size), Image.Resampling.LANCZOS)


@cache
def icon_png(size: int = 180) -> bytes:
    out = io.BytesIO()
    _icon_image(size).save(out, format="PNG", optimize=True)
    return out.getvalue()


@cache
def icon_ico() -> bytes:
    out = io.BytesIO()
    largest = max(ICO_SIZES)
    _icon_image(largest).save(out, format="ICO", sizes=[(s, s) for s in ICO_SIZES])
    return out.getvalue()


# --- the social card -----------------------------------------------------------------------

CARD_WIDTH, CARD_HEIGHT = 1200, 630
CARD_BACKGROUND = "#111111"
CARD_MARGIN = 64


@dataclass(frozen=True)
class CardLine:
    text: str
    size: int  # font size, px
    y: int  # baseline, px from the top
    bold: bool
    colour: str


@dataclass(frozen=True)
class Card:
    """What a 1200×630 social card says, line by line (rendered as SVG or PNG)."""

    label: str  # the whole card in one sentence (alt text)
    lines: tuple[CardLine, ...]


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.BaseImageFont, width: int) -> str:
    """``text``, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def card_png(card: Card) -> bytes:
    image = Image.new("RGB", (CARD_WIDTH, CARD_HEIGHT), CARD_BACKGROUND)
    draw = ImageDraw.Draw(image)
    for line in card.lines:
        font = ImageFont.load_default(size=line.size)
        text = _fit(draw, line.text, font, CARD_WIDTH - 2 * CARD_MARGIN)
        draw.text(
            (CARD_MARGIN, line.y),
            text,
            font=font,
            fill=line.colour,
            anchor="ls",  # x, y is the left end of the baseline, as in SVG
            stroke_width=max(1, line.size // 40) if line.bold else 0,
            stroke_fill=line.colour,
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
