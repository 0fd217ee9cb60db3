"""`python -m onebyone.tools.bench._counted ARGS...`: the `onebyone` command line run in this
process (as the `onebyone` command runs it), then one last line on stderr, `CPU {json}`: the CPU
seconds of this process (the main process of a grading run) and of every process it waited for
(the hub, its workers, student fork servers and students, bubblewrap). bench/grading.py reads it.
"""

import json
import resource
import sys

from onebyone.tools import cli


def _seconds(usage):
    return round(usage.ru_utime + usage.ru_stime, 3)


if __name__ == "__main__":
    code = cli.main(sys.argv[1:])
    spent = {"main": _seconds(resource.getrusage(resource.RUSAGE_SELF)),
             "others": _seconds(resource.getrusage(resource.RUSAGE_CHILDREN))}
    sys.stderr.write(f"\nCPU {json.dumps(spent)}\n")
    sys.exit(code)
