"""Child processes that do not outlive their parent.

`autoheal up` and `demo` start a Prefect server, `flows.serve` (whose fork server forks the flow
runs) and sometimes a receiver. Killed with SIGKILL, a parent runs no cleanup: its children once
lived on as orphans, holding ports and Prefect's database (issue 13). Linux delivers a chosen
signal to a process when its parent dies (prctl PR_SET_PDEATHSIG); each child asks for SIGTERM,
which it handles as a stop. Elsewhere this is a no-op, and a stop by SIGTERM or SIGINT (which
runs the parent's cleanup) is the way.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies. For ``preexec_fn`` (it
    runs in the child between fork and exec) or a forked child's first line. Note the "parent" is
    the thread that forked: start children from a thread that lives as long as the process."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() == 1:  # the parent died before the request took effect
        os.kill(os.getpid(), sig)


def run_process_name(flow_run_id: object) -> str:
    """The name a flow run's process takes: "run-" and the first 11 hex digits of the flow run's id
    (Linux keeps 15 bytes), so that `ps -o pid,comm` and `top` tell which process runs which run."""
    return "run-" + str(flow_run_id).replace("-", "")[:11]


def name_process(name: str) -> None:
    """Set this process's name (/proc/PID/comm, what ps and top show); a no-op off Linux."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
