"""A fresh, fenced-in process for one submission's code.

The grading worker has numpy, torch and IPython imported already; each submission gets a child
made with fork(), so it starts in milliseconds. Before it runs any student code the child:
- starts its own session (a timeout kills it and everything it started, in one go);
- closes every inherited file descriptor but its pipe to the worker (nothing to write into);
- when the grader runs as root: enters new mount and network namespaces, covers the course folder
  (solutions with the hidden tests), the output folder (gradebook), the submissions and the shared
  /tmp with empty read-only tmpfs mounts (keeping Python, the course package and its own folder
  visible), and drops to an unused unprivileged uid of its own. Student code then cannot read the
  hidden tests or other students' work, cannot write to any of the course's files, cannot
  signal other processes, and has no network;
- sets resource limits: address space (memory), file size, open files, no core dumps;
- works in a temporary folder holding only a copy of the notebook, with stdout/stderr discarded.
Without root, the namespaces and the user switch are skipped (the run's summary says so); the
limits and the separate process still apply.
"""

import ctypes
import ctypes.util
import dataclasses
import functools
import os
import pathlib
import resource
import shutil
import signal
import socket
import stat
import sys
import tempfile

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND = 1, 2, 4, 32, 4096
MS_REC, MS_PRIVATE, MNT_DETACH = 0x4000, 0x40000, 2
PR_SET_PDEATHSIG = 1
FIRST_UID = 100_000  # each sandbox gets its own unused uid: children cannot signal each other
SYSTEM_FOLDERS = {"/", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/dev", "/proc", "/sys",
                  "/var", "/home", "/opt", "/run"}  # never covered, whatever the options say
PACKAGE_DIR = str(pathlib.Path(__file__).resolve().parents[2])  # the `onebyone` package


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one submission may use. Memory is the address-space cap (RLIMIT_AS) of its process:
    importing torch alone takes ~0.7 GB of address space, so the default leaves ~1.3 GB to spare."""

    seconds: float = 60.0  # wall-clock budget for the whole submission (cells and tests)
    item_seconds: float | None = None  # each test cell's share; None: seconds / test cells
    memory_mb: int = 2048
    file_mb: int = 64  # largest file the student's code may write in its folder
    message_mb: int = 64  # largest result that may cross to the grader


def can_isolate():
    """True when this process may create namespaces and switch users (running as root)."""
    return os.geteuid() == 0


@functools.cache  # finding libc reads the linker's cache: ~1.5 ms, and a fence makes ~20 calls
def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def warm_up():
    """Once per grading worker, before its first submission: what every forked child would
    otherwise load again (the shell's imports, the handle on libc the fence calls)."""
    from onebyone.tools.grading import agent

    agent.warm_up()
    _libc()


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _encoded(value):
    return None if value is None else os.fsencode(value)


def _mount(source, target, fstype, flags, data=None):
    _check(_libc().mount(_encoded(source), _encoded(target), _encoded(fstype), flags,
                         _encoded(data)),
           f"mount {source} on {target}")


def _under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def _cover(top, keep, stage):
    """Cover folder `top` with an empty tmpfs; the folders of `keep` under it stay visible.
    `keep` maps folder -> writable. Each kept folder is bind-mounted aside (in `stage`), the
    tmpfs goes on, the folder is bound back at its old path, read-only unless writable."""
    inside = sorted(k for k in keep if _under(k, top) and k != top)
    inside = [k for k in inside if not any(_under(k, o) and k != o for o in inside)]
    staged = []
    for path in inside:
        aside = os.path.join(stage, str(len(os.listdir(stage))))
        os.mkdir(aside)
        _mount(path, aside, None, MS_BIND | MS_REC)
        staged.append((path, aside))
    _mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    for path, aside in staged:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(aside, path, None, MS_BIND | MS_REC)
        if not keep[path]:
            _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
        _check(_libc().umount2(os.fsencode(aside), MNT_DETACH), f"umount {aside}")
    _mount(None, top, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k,mode=755")


def _blocked_ancestors(path):
    """Folders above `path` that other users may not enter (like /root, mode 700)."""
    found, parts = [], pathlib.PurePath(path).parts
    for i in range(2, len(parts)):
        folder = str(pathlib.PurePath(*parts[:i]))
        if os.path.isdir(folder) and not os.stat(folder).st_mode & stat.S_IXOTH:
            found.append(folder)
    return found


def _fence_files(folder, hidden):
    """New mount and network namespaces in which the instructor's folders (`hidden`), the shared
    temporary folder and unreachable parents of the Python installation are covered by empty
    tmpfs mounts; Python, the course package and the submission's own folder stay visible."""
    keep = {folder: True}
    covers = {os.path.realpath(p) for p in hidden if p and os.path.isdir(p)}
    for path in [sys.prefix, sys.base_prefix, PACKAGE_DIR, *sys.path]:
        if not path or not os.path.isdir(path):
            continue
        path = os.path.realpath(path)
        # A search-path entry that holds a hidden folder (`python -m` puts the working
        # directory, often the course folder, on sys.path) must not keep it visible.
        if path not in (PACKAGE_DIR, sys.prefix) and any(_under(c, path) for c in covers):
            continue
        keep.setdefault(path, False)
    files = [os.path.realpath(p) for p in hidden if p and os.path.isfile(p)]
    covers.add(os.path.realpath(tempfile.gettempdir()))
    for path in list(keep):
        covers.update(_blocked_ancestors(path))
    _check(_libc().unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    # keep our mounts to ourselves: make every mount private in this namespace first
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    for path in files:  # a zip of submissions, a gradebook file: an empty file over each
        _mount(os.devnull, path, None, MS_BIND)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    stage = tempfile.mkdtemp(prefix="onebyone-stage-", dir=shm)  # outside every covered folder
    for top in sorted(covers, key=len):
        if os.path.isdir(top) and top not in keep and top not in SYSTEM_FOLDERS:
            _cover(top, keep, stage)
    for name in os.listdir(stage):
        os.rmdir(os.path.join(stage, name))
    os.rmdir(stage)
    if shm:  # shared memory is a shared folder too
        _cover(shm, keep, None)


def _set_limits(limits):
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def uid_of(pid):
    """The uid a sandbox with this pid runs as: unique among running sandboxes."""
    return FIRST_UID + pid


def _kill_uid(uid):
    """Kill every process of `uid` (what the student's code started and detached, too): as that
    uid, kill(-1) reaches exactly its own processes."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _drop_privileges(folder):
    """Become an unused, unprivileged uid (no capabilities, owns nothing but `folder`)."""
    uid = uid_of(os.getpid())
    for root, dirs, files in os.walk(folder):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    # a fork bomb stops here; threads count as processes, torch runs with one thread
    resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))


def _child_main(sock, folder, limits, hidden, parent):
    """Fence this process in, then serve the grader (never returns)."""
    from onebyone.tools.grading import agent, wire  # imported by the worker already

    code, limited, serving = 0, False, False
    try:
        os.setsid()
        keep = sock.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, 65536)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        # the inherited sys.std* may wrap descriptors closed above (pytest's capture, say)
        sys.stdin = sys.__stdin__ = open(0, closefd=False)
        sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)
        sys.stderr = sys.__stderr__ = open(2, "w", closefd=False)
        os.environ.update(HOME=folder, TMPDIR=folder, MPLBACKEND="Agg", PYTHONHASHSEED="0")
        if can_isolate():
            _fence_files(folder, hidden)
        _set_limits(limits)
        limited = True
        if can_isolate():
            _drop_privileges(folder)
        # die with the worker (a killed run leaves no student code running); set after the
        # user switch, which clears it
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            raise RuntimeError("the grading worker is gone")
        os.chdir(folder)
        sys.setprofile(None)  # a profiler or debugger of the grader is not the student's
        sys.settrace(None)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        server = agent.Agent(sock, limits.message_mb * 1024 * 1024)
        serving = True
        server.serve()
    except BaseException as error:  # say why this process stops, then stop
        code = 1
        # under the memory cap, starting the shell itself may fail: that is the cap's doing
        memory = limited and isinstance(error, (MemoryError, SystemError, ImportError))
        try:
            wire.send(sock, {"fatal": f"{type(error).__name__}: {error}"[:500],
                             "memory": memory, "student": serving})
        except BaseException:
            pass
    finally:
        os._exit(code)


class Child:
    """One sandboxed process holding one submission; `sock` is the worker's end of its pipe."""

    def __init__(self, notebook_path, notebook_name, limits, hidden):
        import torch  # here, not at the top: `Limits` is read by processes that never grade

        # torch's thread pool does not survive fork(): with one thread it is never started, in
        # the worker or in the child (and workers already run side by side, one per core)
        torch.set_num_threads(1)
        self.folder = tempfile.mkdtemp(prefix="onebyone-grade-")
        if notebook_path is not None:
            shutil.copyfile(notebook_path, os.path.join(self.folder, notebook_name))
        self.sock, child_sock = socket.socketpair()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:
            self.sock.close()
            _child_main(child_sock, self.folder, limits, hidden, parent)
        child_sock.close()
        self.exit_status = None

    def alive(self):
        if self.exit_status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_status = status
        return self.exit_status is None

    def stop(self):
        """Kill the process and everything it started; remove its folder."""
        self.sock.close()
        if self.exit_status is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if can_isolate():
            _kill_uid(uid_of(self.pid))
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.exit_status is None:
            # reaped last: until then its pid, and so its uid, cannot be reused, and the kernel
            # frees its memory meanwhile (measured: ~9 ms of every submission otherwise)
            _, self.exit_status = os.waitpid(self.pid, 0)
