"""Checks the exercises' test cells call: one module per assignment, on a shared core.

In a test cell: `from onebyone.checks import one_by_one as check`, then
`check.conv1x1(conv1x1, x, weight)`. A failed check raises CheckFailure (an AssertionError)
whose message is written for the learner; in a notebook its traceback shows the learner's
frames only (display.py). A notebook's setup cell may choose the checks' language:
`from onebyone.checks import language`, then `language("zh_CN")` (messages.py).
"""

from onebyone.checks import display
from onebyone.checks.core import CheckFailure, call_learner, check_equal, compare_arrays
from onebyone.checks.messages import language

display.install()  # in a notebook: errors show the learner's frames, never the checks' source

__all__ = ["CheckFailure", "call_learner", "check_equal", "compare_arrays", "language"]
