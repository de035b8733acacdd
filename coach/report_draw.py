"""Report stage, drawing: a tiny canvas of shapes rendered to PNG (Pillow) or inline SVG, one layout for both."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

# Pillow anchors: horizontal l/m/r, vertical a (top) / m (middle) / s (baseline).
_SVG_ANCHOR = {"l": "start", "m": "middle", "r": "end"}
_SVG_BASELINE = {"a": "hanging", "m": "central", "s": "alphabetic"}
FONT_FAMILY = "DejaVu Sans, Verdana, system-ui, sans-serif"


def hex_rgb(color: str) -> tuple[int, int, int]:
    """"#rrggbb" as an (r, g, b) tuple."""
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def mix(color: str, background: str, amount: float) -> str:
    """``amount`` of ``color`` over ``background``, as an opaque hex (exact pixels, no alpha)."""
    fg, bg = hex_rgb(color), hex_rgb(background)
    return "#" + "".join(f"{round(f * amount + b * (1 - amount)):02x}" for f, b in zip(fg, bg))


@functools.lru_cache(maxsize=16)
def _font(size: int, bold: bool):
    from PIL import ImageFont  # lazy: only PNG rendering needs Pillow
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:  # no DejaVu on this machine: Pillow's bundled scalable font
        return ImageFont.load_default(size=size)


@dataclass
class Canvas:
    """Shapes in pixel coordinates (origin top left), drawn in order.

    Attributes:
        width / height: size in pixels.
        background: page colour.
        title: the accessible title of the SVG.
    """

    width: int
    height: int
    background: str = "#fffdf9"
    title: str = ""
    items: list[tuple] = field(default_factory=list)

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: str) -> None:
        self.items.append(("rect", x0, y0, x1, y1, fill))

    def line(self, x0: float, y0: float, x1: float, y1: float, color: str,
             width: int = 1, dash: int = 0) -> None:
        self.items.append(("line", x0, y0, x1, y1, color, width, dash))

    def polygon(self, points: list[tuple[float, float]], fill: str) -> None:
        self.items.append(("polygon", tuple(points), fill))

    def circle(self, x: float, y: float, r: float, fill: str) -> None:
        self.items.append(("circle", x, y, r, fill))

    def text(self, x: float, y: float, text: str, size: int = 12, color: str = "#3a3632",
             anchor: str = "la", bold: bool = False) -> None:
        self.items.append(("text", x, y, text, size, color, anchor, bold))

    def to_png(self, path: Path) -> None:
        """Render with Pillow and save as PNG."""
        from PIL import Image, ImageDraw
        image = Image.new("RGB", (self.width, self.height), hex_rgb(self.background))
        draw = ImageDraw.Draw(image)
        for item in self.items:
            kind, *a = item
            if kind == "rect":
                x0, y0, x1, y1, fill = a
                if x1 - x0 >= 0.5 and y1 - y0 >= 0.5:
                    draw.rectangle([round(x0), round(y0), round(x1) - 1, round(y1) - 1],
                                   fill=hex_rgb(fill))
            elif kind == "line":
                x0, y0, x1, y1, color, width, dash = a
                if not dash:
                    draw.line([x0, y0, x1, y1], fill=hex_rgb(color), width=width)
                    continue
                length = max(abs(x1 - x0), abs(y1 - y0)) or 1
                pos = 0.0
                while pos < length:  # Pillow has no dashes: draw the "on" pieces one by one
                    f0, f1 = pos / length, min(pos + dash, length) / length
                    draw.line([x0 + (x1 - x0) * f0, y0 + (y1 - y0) * f0,
                               x0 + (x1 - x0) * f1, y0 + (y1 - y0) * f1],
                              fill=hex_rgb(color), width=width)
                    pos += 2 * dash
            elif kind == "polygon":
                points, fill = a
                draw.polygon(list(points), fill=hex_rgb(fill))
            elif kind == "circle":
                x, y, r, fill = a
                draw.ellipse([x - r, y - r, x + r, y + r], fill=hex_rgb(fill))
            elif kind == "text":
                x, y, text, size, color, anchor, bold = a
                draw.text((x, y), text, fill=hex_rgb(color), font=_font(size, bold), anchor=anchor)
        image.save(path, format="PNG", optimize=True)

    def to_svg(self) -> str:
        """The same drawing as a self-contained SVG element (no scripts, no external links)."""
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
               f'width="{self.width}" height="{self.height}" role="img" '
               f'aria-label="{escape(self.title)}" font-family="{FONT_FAMILY}">',
               f"<title>{escape(self.title)}</title>",
               f'<rect width="100%" height="100%" fill="{self.background}"/>']
        for item in self.items:
            kind, *a = item
            if kind == "rect":
                x0, y0, x1, y1, fill = a
                out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{max(0, x1 - x0):.1f}" '
                           f'height="{max(0, y1 - y0):.1f}" fill="{fill}"/>')
            elif kind == "line":
                x0, y0, x1, y1, color, width, dash = a
                extra = f' stroke-dasharray="{dash} {dash}"' if dash else ""
                out.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
                           f'stroke="{color}" stroke-width="{width}"{extra}/>')
            elif kind == "polygon":
                points, fill = a
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                out.append(f'<polygon points="{pts}" fill="{fill}"/>')
            elif kind == "circle":
                x, y, r, fill = a
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}"/>')
            elif kind == "text":
                x, y, text, size, color, anchor, bold = a
                weight = ' font-weight="bold"' if bold else ""
                out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{color}" '
                           f'text-anchor="{_SVG_ANCHOR[anchor[0]]}" '
                           f'dominant-baseline="{_SVG_BASELINE[anchor[1]]}"{weight}>'
                           f"{escape(text)}</text>")
        out.append("</svg>")
        return "\n".join(out)
