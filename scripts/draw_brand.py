"""Draw HearthCam's brand images (icon and logo) into custom_components/hearthcam/brand/.

Run with `scripts/run python scripts/draw_brand.py`; the PNGs are committed, this is their source.
Drawn at 4x and downsampled, so edges are smooth without an anti-aliasing API.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).parents[1] / "custom_components" / "hearthcam" / "brand"
EMBER = (232, 93, 4)
GLOW = (250, 163, 7)
NIGHT = (33, 37, 41)
WHITE = (255, 255, 255)
SUPERSAMPLE = 4


def _gradient(size: int) -> Image.Image:
    """Return a vertical ember-to-glow gradient, the colours of a hearth."""
    column = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / (size - 1)
        column.putpixel(
            (0, y), tuple(round(g + (e - g) * t) for g, e in zip(GLOW, EMBER, strict=True))
        )
    return column.resize((size, size))


def draw_icon(size: int) -> Image.Image:
    """Draw a house whose window is a camera lens, on a rounded ember tile."""
    big = size * SUPERSAMPLE
    tile = Image.new("L", (big, big), 0)
    ImageDraw.Draw(tile).rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=255)
    icon = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    icon.paste(_gradient(big), (0, 0), tile)

    draw = ImageDraw.Draw(icon)
    u = big / 16  # drawing unit: the icon is a 16 x 16 grid
    stroke = round(1.1 * u)
    roof = [(3 * u, 8 * u), (8 * u, 3.2 * u), (13 * u, 8 * u)]
    draw.line(roof, fill=WHITE, width=stroke, joint="curve")
    draw.rounded_rectangle(
        (4.4 * u, 7.2 * u, 11.6 * u, 13 * u), radius=u, outline=WHITE, width=stroke
    )
    # The lens: white ring, dark pupil, a small highlight.
    cx, cy = 8 * u, 10 * u
    draw.ellipse((cx - 2.2 * u, cy - 2.2 * u, cx + 2.2 * u, cy + 2.2 * u), fill=WHITE)
    draw.ellipse((cx - 1.3 * u, cy - 1.3 * u, cx + 1.3 * u, cy + 1.3 * u), fill=NIGHT)
    draw.ellipse((cx - 0.9 * u, cy - 0.9 * u, cx - 0.2 * u, cy - 0.2 * u), fill=WHITE)
    return icon.resize((size, size), Image.Resampling.LANCZOS)


def draw_logo(height: int) -> Image.Image:
    """Draw the icon followed by the name, on a transparent background."""
    font = ImageFont.load_default(size=round(height * 0.42))
    text = "HearthCam"
    left, top, right, bottom = font.getbbox(text)
    gap = height // 5
    logo = Image.new("RGBA", (height + gap + (right - left) + gap // 2, height), (0, 0, 0, 0))
    logo.paste(draw_icon(height), (0, 0))
    y = (height - (bottom - top)) // 2 - top
    ImageDraw.Draw(logo).text((height + gap - left, y), text, font=font, fill=NIGHT)
    return logo


def main() -> None:
    """Write every brand image."""
    BRAND.mkdir(parents=True, exist_ok=True)
    draw_icon(256).save(BRAND / "icon.png", optimize=True)
    draw_icon(512).save(BRAND / "icon@2x.png", optimize=True)
    draw_logo(256).save(BRAND / "logo.png", optimize=True)
    draw_logo(512).save(BRAND / "logo@2x.png", optimize=True)
    print(f"brand images written to {BRAND}")


if __name__ == "__main__":
    main()
