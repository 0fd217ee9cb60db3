"""The instructor and author side: the one `onebyone` command line, the strict book build and
its offline Sphinx extension, the release of the exercises, grading, the benchmarks.

Layers (tests/test_layering.py enforces them): tools import the checks and the course library;
nothing in `onebyone.checks` or the course library imports a tool.
"""

import sys

# nbformat (read by the book build, the release, grading, and myst_nb's glue in every chapter's
# kernel) imports jsonschema, which imports at once every optional package it could check a
# string "format" with. No notebook schema uses a format, and some cost a lot: rfc3987_syntax
# compiles ~40 grammars (measured: 1.4 s per process, up to 7 s on a loaded machine),
# isoduration imports arrow and dateutil (~40 ms), rfc3986_validator compiles a large regular
# expression (10-90 ms). Declaring these optional packages absent skips them; jsonschema then
# leaves those formats unchecked, which is what nbformat asks of it anyway.
for _optional in ("rfc3987_syntax", "rfc3986_validator", "rfc3339_validator", "isoduration",
                  "webcolors", "uri_template", "fqdn"):
    sys.modules.setdefault(_optional, None)
