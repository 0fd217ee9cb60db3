"""The class report's chart: a histogram of scores as a small SVG, drawn by hand.

Why not matplotlib: importing it and drawing a first figure took about 0.7 s of CPU in every
run's main process, on the two cores the run's own grading needs (the fixed cost of a run of one
submission is the target). The chart is a few rectangles, ticks and labels; an SVG is also
sharper than a PNG at any zoom, and stays one self-contained `data:` URI.

Bars are one point wide, centred on whole scores, counted as numpy.histogram counts them (each
bin holds its left edge; the last also its right edge).
"""

import base64
import bisect
import html
import math

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 18, 34, 50  # margins: axis labels and the title live there
BAR, TEXT, AXIS = "#2563eb", "#1f2937", "#6b7280"


def bins(max_score: float) -> list[float]:
    """Bar edges one point wide (half a point below and above each whole score); wider bars,
    a whole number of points each, past 40 points (20 bars or so)."""
    top = max(int(max_score + 0.999), 1)
    step = 1 if top <= 40 else -(-top // 20)
    return [x - 0.5 for x in range(0, top + step + 1, step)]


def counts(scores: list[float], edges: list[float]) -> list[int]:
    """How many scores fall in each bin (numpy.histogram's rule, out-of-range ones left out)."""
    found = [0] * (len(edges) - 1)
    for score in scores:
        if edges[0] <= score <= edges[-1]:
            found[min(bisect.bisect_right(edges, score) - 1, len(found) - 1)] += 1
    return found


def nice_step(span: float, most: int) -> int:
    """The smallest whole step of 1, 2 or 5 times a power of ten that cuts `span` into at most
    `most` parts."""
    rough = max(span / most, 1)
    power = 10 ** math.floor(math.log10(rough))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= rough))


def histogram_svg(scores: list[float], max_score: float, title: str) -> str:
    """The SVG document of the histogram of `scores` (out of `max_score`) titled `title`."""
    edges = bins(max_score)
    found = counts(scores, edges)
    tallest = max(max(found), 1)
    y_step = nice_step(tallest, 5)
    y_top = -(-tallest // y_step) * y_step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(value):  # a score -> pixels
        return LEFT + (value - edges[0]) / (edges[-1] - edges[0]) * plot_w

    def y(count):  # a count -> pixels
        return TOP + plot_h - count / y_top * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP - 12}" text-anchor="middle" '
             f'font-size="14" fill="{TEXT}">{html.escape(title)}</text>']
    for count in range(0, y_top + 1, y_step):  # the count axis: whole numbers only
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(count):.1f}" '
                     f'y2="{y(count):.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{LEFT - 6}" y="{y(count) + 4:.1f}" text-anchor="end" '
                     f'fill="{TEXT}">{count}</text>')
    for left, right, count in zip(edges, edges[1:], found):
        if count:
            parts.append(f'<rect class="bar" data-count="{count}" x="{x(left) + 0.5:.1f}" '
                         f'y="{y(count):.1f}" width="{x(right) - x(left) - 1:.1f}" '
                         f'height="{y(0) - y(count):.1f}" fill="{BAR}"/>')
    whole = [edges[0] + 0.5 + i for i in range(int(edges[-1] - edges[0]))]
    x_step = nice_step(len(whole), 10)
    for score in whole[::x_step]:  # the score axis: a whole score under its bar's middle
        parts.append(f'<text x="{x(score):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
                     f'fill="{TEXT}">{score:g}</text>')
    parts += [f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
              f'stroke="{AXIS}"/>',
              f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{y(0):.1f}" stroke="{AXIS}"/>',
              f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle" '
              f'fill="{TEXT}">score (out of {max_score:g})</text>',
              f'<text transform="translate(16 {TOP + plot_h / 2:.1f}) rotate(-90)" '
              f'text-anchor="middle" fill="{TEXT}">submissions</text>',
              "</svg>"]
    return "".join(parts)


def data_uri(svg: str) -> str:
    """The SVG as a self-contained data: URI (for an <img>)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
