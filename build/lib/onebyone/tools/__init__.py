"""The instructor and author side: the one `onebyone` command line, the strict book build and
its offline Sphinx extension, the release of the exercises, grading, the benchmarks.

Layers (tests/test_layering.py enforces them): tools import the checks and the course library;
nothing in `onebyone.checks` or the course library imports a tool.
"""
