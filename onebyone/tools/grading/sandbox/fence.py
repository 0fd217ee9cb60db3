"""The fence around student code, as an allow-list, with no root needed.

The student fork server (server.py) is started by bubblewrap (`bwrap`, Debian's `bubblewrap`)
in new user, mount, pid, network, IPC and UTS namespaces. Its file system is an empty tmpfs on
which bubblewrap binds, read-only, only what Python needs: /usr (the system's libraries), the
Python installation (sys.base_prefix, sys.prefix), its standard and site-packages folders, and
the `onebyone` package folder (not the folder it sits in: a course checkout holds solutions/).
Nothing else exists in there: no home folder, no /root, /srv, /opt or /work, no course folder,
no output folder, no submissions, no /tmp of the host. The network namespace is empty (no
interface but a loopback of its own), and the environment holds a few fixed variables only.

Each student process forked from the server then makes, with the kernel calls below (the server
keeps CAP_SYS_ADMIN in its own user namespace for this only), a mount namespace with its own
empty /tmp (its working folder) and /dev/shm, no /proc, and a pid namespace of its own: it
cannot see or signal the server, the grader or another student, and when it ends, everything it
started ends.
Then it drops every capability and sets no_new_privs. The server is not dumpable, so even a
process of the same uid cannot read its memory or ptrace it.

Where the kernel refuses unprivileged user namespaces, or bwrap is missing, `problem()` says so in
one line and how to fix it; `onebyone grade --no-fence` grades anyway, unfenced.
"""

import ctypes
import ctypes.util
import functools
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from typing import IO

CLONE_NEWNS, CLONE_NEWPID = 0x00020000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND = 1, 2, 4, 8, 4096
MS_REC, MS_PRIVATE, MNT_DETACH = 0x4000, 0x40000, 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
CAPABILITY_VERSION_3 = 0x20080522
FIRST_UID = 100_000  # root's fences run as FIRST_UID + the grading worker's pid
PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[3]  # the `onebyone` package folder
ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "MPLBACKEND": "Agg",
               "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
HOW_TO_ENABLE = ("install bubblewrap (apt-get install bubblewrap) and allow unprivileged user "
                 "namespaces (sysctl -w user.max_user_namespaces=15000; on Debian/Ubuntu also "
                 "kernel.unprivileged_userns_clone=1 and "
                 "kernel.apparmor_restrict_unprivileged_userns=0), or pass --no-fence to grade "
                 "with student code running as you, able to read what you can read")


class FenceUnavailable(Exception):
    """Student code cannot be fenced in on this machine (the message says why and what to do)."""


def bwrap():
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap")
                                     else None)


def python_folders():
    """The folders a Python process of this installation reads: the installation itself and its
    standard and site-packages folders (real paths, outermost first)."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for scheme_vars in ({"base": sys.prefix, "platbase": sys.prefix},
                        {"base": sys.base_prefix, "platbase": sys.base_prefix}):
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            folders.add(sysconfig.get_path(key, vars=scheme_vars))
    real = sorted({os.path.realpath(f) for f in folders if f and os.path.isdir(f)}, key=len)
    return [f for i, f in enumerate(real)
            if not any(f == o or f.startswith(o.rstrip("/") + "/") for o in real[:i])]


def _system_binds():
    """/usr read-only, and the merged-/usr links (/lib -> usr/lib) or folders of the top level."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts"):
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def sandbox_uid() -> int:
    """The uid the fence runs as: the grader's own, or, for root, an unused one per grading worker
    (RLIMIT_NPROC never holds root's processes back; an unused uid's are only the sandbox's)."""
    return FIRST_UID + os.getpid() if os.getuid() == 0 else os.getuid()


def start(argv: list[str], pass_fds: Sequence[int] = (), **popen: object) -> subprocess.Popen:
    """Start `argv` fenced in (subprocess.Popen), `pass_fds` inherited. Run by root, the fence
    runs as sandbox_uid() (see _become)."""
    if os.getuid() == 0:  # fork(), then this in the child, before it runs bubblewrap
        popen["preexec_fn"] = functools.partial(_become, sandbox_uid())
    return subprocess.Popen([*_args(), "--", *argv], pass_fds=pass_fds, env=dict(ENVIRONMENT),
                            cwd="/", stdin=subprocess.DEVNULL, **popen)


def start_main(module: str, fd: int, fenced: bool, errors: IO[bytes]) -> subprocess.Popen:
    """Start a fresh `python -I` running `module.main(fd, fenced)`, only `fd` inherited, its
    stderr into the file `errors`: inside the fence, or (`fenced` False) with the fence's
    environment only. How the student fork server (child.py) and the hub (engines/hub.py) start."""
    package, _, name = module.rpartition(".")
    code = (f"import sys; sys.path[:0] = [{str(PACKAGE_DIR.parent)!r}]; "
            f"from {package} import {name}; {name}.main({fd}, {fenced})")
    argv = [sys.executable, "-I", "-c", code]
    if fenced:
        return start(argv, [fd], stdout=subprocess.DEVNULL, stderr=errors)
    return subprocess.Popen(argv, pass_fds=[fd], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=errors, cwd="/",
                            env=dict(ENVIRONMENT))


def _blocked_ancestors(path):
    """Folders above `path` that other users may not pass through (like /root, mode 700)."""
    parents = pathlib.PurePath(path).parents
    return [str(p) for p in reversed(parents) if str(p) != "/"
            and not os.stat(p).st_mode & stat.S_IXOTH]


def _become(uid):
    """Root's way into the fence: in a mount namespace of its own, each folder `uid` could not
    pass through on the way to the Python folders (/root, mode 700) is covered by a tmpfs on
    which only those folders are bound back (bubblewrap, run as `uid`, must reach them); then
    become `uid`, with no group."""
    _check(_libc().unshare(CLONE_NEWNS), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    needed = [*python_folders(), str(PACKAGE_DIR)]
    blocked = sorted({b for path in needed for b in _blocked_ancestors(path)}, key=len)
    for top in blocked:
        if any(top.startswith(outer + "/") for outer in blocked if outer != top):
            continue  # covered with its outer folder
        inside = [n for n in needed if n.startswith(top + "/")]
        aside = []
        for number, path in enumerate(inside):  # bound aside first, then back on the tmpfs
            spot = f"/dev/shm/.onebyone-fence-{os.getpid()}-{number}"
            os.mkdir(spot, 0o700)
            _mount(path, spot, None, MS_BIND | MS_REC)
            aside.append((path, spot))
        _mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        for path, spot in aside:
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(spot, path, None, MS_BIND | MS_REC)
            _check(_libc().umount2(os.fsencode(spot), MNT_DETACH), "umount")
            os.rmdir(spot)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _args():
    """bubblewrap's options."""
    args = [bwrap(), "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net",
            "--unshare-uts", "--unshare-cgroup-try", "--disable-userns", "--die-with-parent",
            "--new-session", "--cap-add", "CAP_SYS_ADMIN", "--clearenv",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", *_system_binds()]
    for folder in [*python_folders(), str(PACKAGE_DIR)]:
        args += ["--ro-bind", folder, folder]
    args += ["--chdir", "/tmp"]
    for name, value in ENVIRONMENT.items():
        args += ["--setenv", name, value]
    return args


@functools.cache
def problem() -> str | None:
    """None when student code can be fenced in here, else one line saying why and what to do."""
    if bwrap() is None:
        return f"bubblewrap (bwrap) is not installed: {HOW_TO_ENABLE}"
    try:
        probe = start([sys.executable, "-I", "-c", "pass"], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        _, stderr = probe.communicate(timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return f"bubblewrap cannot run ({error}): {HOW_TO_ENABLE}"
    if probe.returncode != 0:
        reason = (stderr.strip().splitlines() or [f"exit code {probe.returncode}"])[-1]
        return f"the kernel refused the fence's namespaces ({reason[:200]}): {HOW_TO_ENABLE}"
    return None


# --- kernel calls a student process makes on itself (inside the server's namespaces) ---------


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    def encoded(value):
        return None if value is None else os.fsencode(value)

    _check(_libc().mount(encoded(source), encoded(target), encoded(fstype), flags, encoded(data)),
           f"mount {target}")


def own_namespaces(tmp_mb: int) -> None:
    """Before forking the student's process: new mount and pid namespaces (its child will be
    pid 1 of the new one), an empty private /tmp of `tmp_mb` and an empty /dev/shm."""
    _check(_libc().unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)  # our mounts stay ours
    # A course (and its .venv) may live under /tmp: the allowed folders there are held open,
    # then bound back, read-only as bubblewrap bound them, on the empty private /tmp.
    kept = [f for f in [*python_folders(), str(PACKAGE_DIR)] if f.startswith("/tmp/")]
    held = [os.open(f, os.O_PATH | os.O_DIRECTORY) for f in kept]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=700")
    for folder, handle in zip(kept, held):
        os.makedirs(folder, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{handle}", folder, None, MS_BIND | MS_REC)
        os.close(handle)
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=700")
    # No /proc: the server's one lists the server, and the kernel refuses a new proc mount in a
    # namespace whose only proc has parts covered (bubblewrap covers /proc/sys and others).
    _mount("tmpfs", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
           "size=4k,mode=555")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_privileges() -> None:
    """No capability left, none to gain (no_new_privs)."""
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(_libc().capset(ctypes.byref(header), data), "capset")
    _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def not_dumpable() -> None:
    """This process's memory cannot be read or traced by others of its uid."""
    _check(_libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")


def dumpable() -> None:
    _check(_libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")


def die_with_parent(signal_number: int) -> None:
    _check(_libc().prctl(PR_SET_PDEATHSIG, signal_number, 0, 0, 0), "pdeathsig")
