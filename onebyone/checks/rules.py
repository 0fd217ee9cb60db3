"""The one rule every graded item keeps, and its message, in one place.

An item never calls the course's reference package `onebyone` (it holds the answers); a
NumPy-only item never uses torch either. The checks watch a call as it runs (core.call_learner);
the grader also reads the student's source (tools/grading/static.py). Both ask this module what is
forbidden and both raise the failure it words.
"""

from onebyone.checks.messages import _

REFERENCE_PACKAGE = "onebyone"
NUMPY_ONLY_FORBIDS = "torch"


def forbidden_packages(numpy_only):
    """The top-level packages an item may not reach."""
    return {REFERENCE_PACKAGE, NUMPY_ONLY_FORBIDS} if numpy_only else {REFERENCE_PACKAGE}


def broken(item, what, numpy_only, verb="uses"):
    """The learner's message when `item` `verb`s (uses / called) `what`, which the rule forbids."""
    if verb == "called":
        found = _("{item} called {what}.").format(item=item, what=what)
    else:
        found = _("{item} uses {what}.").format(item=item, what=what)
    if numpy_only:
        rule = _("This item must be written NumPy only, without torch or the course's reference "
                 "package `{package}`:\nit scores zero until it does the work itself.")
    else:
        rule = _("This item must be written without the course's reference package "
                 "`{package}`:\nit scores zero until it does the work itself.")
    return found + "\n" + rule.format(package=REFERENCE_PACKAGE)
