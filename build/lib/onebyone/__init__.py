"""One by One: the course's helper package, in three layers (imports point down only).

- the course library (`layers models cost data plots train timing`): what chapters and
  students import;
- `onebyone.checks`: what exercise test cells call; imports the course library only;
- `onebyone.tools`: the instructor's and author's side (the `onebyone` command line, the book
  build, the release, grading, benchmarks); never imported by the layers below.

The student kit installs the first two with numpy, torch and matplotlib; the tools' own
dependencies are the extras `onebyone[book]` and `onebyone[grade]`.
"""
