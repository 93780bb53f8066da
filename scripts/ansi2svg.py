#!/usr/bin/env python3
"""Turns a terminal capture with SGR colour codes (`tmux capture-pane -e -p`) into an SVG.

usage: ansi2svg.py [--bg #rrggbb] [--fg #rrggbb] [--title TEXT] < capture.ansi > screen.svg

Every cell keeps its column: runs of equal style are placed at `column × cell width` and
stretched to their exact width, so box drawing lines up whatever font the viewer has.
"""
import argparse
import html
import re
import sys

CELL_W = 9.0
CELL_H = 18
FONT = 15
PAD = 12

BASE16 = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
]


def xterm(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (v, v, v)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = self.strike = False

    def key(self):
        return (self.fg, self.bg, self.bold, self.dim, self.italic, self.underline, self.reverse, self.strike)

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 9:
                self.strike = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif c == 29:
                self.strike = False
            elif 30 <= c <= 37:
                self.fg = BASE16[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASE16[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = BASE16[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASE16[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour = xterm(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    colour = None
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def parse(text):
    rows = []
    style = Style()
    for line in text.split("\n"):
        cells = []
        pos = 0
        for m in SGR.finditer(line):
            for ch in line[pos:m.start()]:
                cells.append((ch, style.key()))
            style.apply(m.group(1))
            pos = m.end()
        for ch in line[pos:]:
            cells.append((ch, style.key()))
        rows.append(cells)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def mix(a, b, t):
    pa = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    pb = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#%02x%02x%02x" % tuple(round(x + (y - x) * t) for x, y in zip(pa, pb))


def render(rows, fg0, bg0, title):
    width = max((len(r) for r in rows), default=0)
    w = PAD * 2 + width * CELL_W
    top = PAD + (28 if title else 0)
    h = top + len(rows) * CELL_H + PAD
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h}" viewBox="0 0 {w:.0f} {h}">',
        f'<rect width="100%" height="100%" rx="8" fill="{bg0}"/>',
        f'<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT}px" xml:space="preserve">',
    ]
    if title:
        out.append(f'<text x="{PAD}" y="{PAD + 14}" fill="{mix(fg0, bg0, 0.5)}">{html.escape(title)}</text>')
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            key = row[x][1]
            end = x
            while end < len(row) and row[end][1] == key:
                end += 1
            text = "".join(ch for ch, _ in row[x:end])
            fg, bg, bold, dim, italic, underline, reverse, strike = key
            fg, bg = fg or fg0, bg or bg0
            if reverse:
                fg, bg = bg, fg
            if dim:
                fg = mix(fg, bg, 0.45)
            px, py = PAD + x * CELL_W, top + y * CELL_H
            if bg != bg0:
                out.append(f'<rect x="{px:.1f}" y="{py}" width="{(end - x) * CELL_W:.1f}" height="{CELL_H}" fill="{bg}"/>')
            if text.strip():
                attrs = [f'x="{px:.1f}"', f'y="{py + CELL_H - 5}"', f'fill="{fg}"',
                         f'textLength="{(end - x) * CELL_W:.1f}"', 'lengthAdjust="spacingAndGlyphs"']
                if bold:
                    attrs.append('font-weight="bold"')
                if italic:
                    attrs.append('font-style="italic"')
                deco = " ".join(d for d, on in (("underline", underline), ("line-through", strike)) if on)
                if deco:
                    attrs.append(f'text-decoration="{deco}"')
                out.append(f'<text {" ".join(attrs)}>{html.escape(text)}</text>')
            x = end
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fg", default="#cdd6f4")
    ap.add_argument("--bg", default="#1e1e2e")
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    rows = parse(sys.stdin.read())
    sys.stdout.write(render(rows, args.fg, args.bg, args.title))


if __name__ == "__main__":
    main()
