"""The instructor and author side: the one `onebyone` command line, the strict book build and
its offline Sphinx extension, the release of the exercises, grading, the benchmarks.

Layers (tests/test_layering.py enforces them): tools import the checks and the course library;
nothing in `onebyone.checks` or the course library imports a tool.
"""

import sys

# nbformat (read by the book build, the release, grading, and myst_nb's glue in every chapter's
# kernel) imports jsonschema, which compiles ~40 grammars of the optional package rfc3987_syntax
# at import time (measured: 1.4 s per process, up to 7 s on a loaded machine) to validate IRI
# formats that no notebook schema uses. Declaring that optional package absent skips it.
sys.modules.setdefault("rfc3987_syntax", None)
