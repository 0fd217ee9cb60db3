"""`onebyone grade`: grade a class's notebooks, in parallel, without trusting the students' code.

One idea per module:
- submissions.py  find `<student>/<assignment>/<assignment>.ipynb` (folder or safe zip);
- plan.py         rebuild each submission from the instructor's source notebook: which cells
                  run where (the student's cells in the sandbox, the test cells in the grader);
- sandbox.py      a forked, fenced-in process per submission (namespaces, uid, limits);
- agent.py        the loop in that process: runs the student's cells, answers requests;
- wire.py         what crosses the pipe: plain values and arrays, never a pickle from students;
- remote.py       the grader's stand-ins for the student's functions and objects;
- static.py       the grader's own reading of the student's source (torch / onebyone use);
- runner.py       grade one submission: run its plan, score each test cell;
- records.py      gradebook, journal, feedback pages and CSV tables (main process only);
- feedback.py     the feedback page; progress.py the progress bar;
- batch.py        the whole class: workers side by side, restartable.
"""

import sys

# nbformat imports jsonschema, which compiles ~40 grammars of the optional package
# rfc3987_syntax at import time (about 7 s on a 2-core machine) to validate IRI formats that no
# notebook schema uses. Declaring that optional package absent skips it.
sys.modules.setdefault("rfc3987_syntax", None)
