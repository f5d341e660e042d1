"""Processes that end with their parent, who holds a port, and which processes live.

A server worker (``shopmind serve --workers N``) and a retrain job's process are children of
a process that watches them. When that parent is killed outright (``kill -9``), nothing tells
its children; they would keep the port, or keep training, with nobody watching. Each child
therefore asks the kernel for a signal when its parent dies (Linux ``PR_SET_PDEATHSIG``) and,
everywhere, watches its parent id in a thread: re-parented means orphaned, and it exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
#: How often the watchdog looks at the parent id, in seconds.
WATCH_SECONDS = 0.5
#: How long an orphan may take to shut down cleanly before it is ended at once.
GRACE_SECONDS = 5.0


def die_with_parent(parent: int, sig: int = signal.SIGTERM) -> None:
    """End this process (``sig``, then at once after :data:`GRACE_SECONDS`) when ``parent``
    dies. Call it first thing in the child; ``parent`` is the pid it was started by."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except OSError as exc:  # no libc to load: the watchdog alone
            log.warning("cannot load libc for prctl (%s); watching the parent only", exc)
    thread = threading.Thread(
        target=_watch, args=(parent, sig), name="shopmind-parent-watch", daemon=True
    )
    thread.start()
    if os.getppid() != parent:  # it died before the signal was armed
        _orphaned(parent, sig)


def _watch(parent: int, sig: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    _orphaned(parent, sig)


def _orphaned(parent: int, sig: int) -> None:
    log.warning("parent process %d is gone: process %d stops", parent, os.getpid())
    os.kill(os.getpid(), sig)
    time.sleep(GRACE_SECONDS)
    os._exit(1)  # the clean shutdown did not finish in time


def port_holders(port: int) -> list[tuple[int, str]]:
    """The processes (pid, command line) listening on TCP ``port``, as far as /proc shows
    them (Linux; empty elsewhere, or for other users' processes)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    holders: list[tuple[int, str]] = []
    if not inodes:
        return holders
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
            if not any(os.readlink(fd) in inodes for fd in fds):
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        holders.append((int(entry.name), command))
    return sorted(holders)


def alive(pid: object) -> bool:
    """Whether process ``pid`` runs (a zombie has died, reaped or not; another user's
    process counts as running)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] != "Z"  # the fields follow the command's last ")"


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, as far as /proc shows them (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)
