"""The plumbing hidden in every chapter page: myst_nb's `glue`, which hands a number or a figure
computed on the page to its text, and `show`, which places a diagram as a numbered figure with its
computed alt text; `show_figure` does the same for a matplotlib figure. Each chapter's hidden
plumbing cells import them from here.
"""

import matplotlib.pyplot as plt
from IPython.display import Image, Markdown, display
from myst_nb import glue

from onebyone import diagrams

__all__ = ["glue", "show", "show_figure"]


def show(diagram, name, caption):
    """Show `diagram` (from onebyone.diagrams) as the numbered figure `name`, with its alt text."""
    glue(name, Image(diagram.png()), display=False)
    display(Markdown(diagrams.figure_directive(name, name, diagram.alt, caption)))


def show_figure(fig, name, alt, caption):
    """Show a matplotlib figure as the numbered figure `name`, with `alt` (written from computed
    numbers) as its alt text."""
    glue(name, fig, display=False)
    plt.close(fig)  # shown once, by the directive, not again as the cell's output
    display(Markdown(diagrams.figure_directive(name, name, alt, caption)))
