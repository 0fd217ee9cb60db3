"""How an error shows in a notebook: the learner's frames only, never the checks' source.

A failing check raises CheckFailure from deep inside the kit; IPython's usual traceback would
print the checks' lines, and with them the formula or construction they test. Importing the
checks in IPython installs a handler that drops every frame of the `onebyone` package (and the
chained errors' frames in it) before IPython formats the traceback: what is left is the test
cell's line and the learner's own code.
"""

import pathlib
import sys
import types

PACKAGE_DIR = str(pathlib.Path(__file__).resolve().parent.parent)


def learner_frames(tb):
    """The traceback `tb` without the frames of files in the onebyone package."""
    kept = []
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(PACKAGE_DIR):
            kept.append(tb)
        tb = tb.tb_next
    result = None
    for entry in reversed(kept):
        result = types.TracebackType(result, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return result


def _strip_chain(error, seen=None):
    """Drop the kit's frames from `error` and from the errors chained to it."""
    seen = seen if seen is not None else set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.__traceback__ = learner_frames(error.__traceback__)
        error = error.__cause__ or error.__context__


def _show(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler: show `value` with the learner's frames only (IPython
    leaves the showing to the handler; in a kernel, _showtraceback sends the error output that
    marks the cell as failed)."""
    _strip_chain(value)
    stb = shell.InteractiveTB.structured_traceback(etype, value, learner_frames(tb),
                                                   tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)
    return stb


def install():
    """In IPython (a notebook), show every error without the kit's frames; elsewhere nothing."""
    # a running IPython was imported by whatever started it: elsewhere (a grading worker, a
    # script) importing IPython only to learn that no shell runs costs ~0.1 s of each process
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((Exception,), _show)
