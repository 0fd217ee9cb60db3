"""A grading worker's warm-up: numpy, torch, IPython and the grader imported, the sandbox's shell
and libc handle made ready, all frozen (grading.collector_paused). Importing this module does it.

With two or more local workers (pool.py), the fork server they are forked from imports this
module once, before it forks any of them: each worker starts warm, and the imports are paid once
instead of once per worker, side by side with the main process preparing the gradebook.
"""

import functools

from onebyone.tools.grading import collector_paused


@functools.cache
def warm():
    """Once per process (a worker forked from a warm process inherits it done)."""
    with collector_paused():
        from onebyone.tools.grading import runner, sandbox  # noqa: F401  (imported to be warm)

        sandbox.warm_up()


warm()
