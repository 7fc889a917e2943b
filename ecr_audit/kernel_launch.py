"""Start a report notebook's kernel so that it dies with `ecr-audit report` (Linux).

`report` starts every kernel as `python -I kernel_launch.py PARENT_PID -- KERNEL_COMMAND...`
(run by path: nothing of the package is imported). On Linux this asks the kernel to receive
SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), checks that the parent did not die before
the request, and execs the kernel command: the same process, and the setting survives exec.

Why not ipykernel's own parent poller: it is a Python thread, so a kernel stuck in C code that
holds the GIL (a catastrophic regex, a long pandas operation) never runs it and keeps spinning
after `ecr-audit report` is killed. The kernel's death signal is delivered by the OS instead.

Linux delivers it when the *thread* that started the child ends: jupyter_client starts kernels
from the thread running its event loop, which is the thread inside `report.run` (or, when an
event loop is already running there, jupyter_core's long-lived runner thread), so the signal
comes when `report` ends, not earlier. Elsewhere the command is exec'd unchanged.
"""

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    parent, sep, cmd = int(argv[1]), argv[2], argv[3:]
    if sep != "--" or not cmd:
        sys.exit("usage: kernel_launch.py PARENT_PID -- KERNEL_COMMAND...")
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            print(
                f"ecr-audit: prctl(PR_SET_PDEATHSIG) failed ({os.strerror(ctypes.get_errno())}); "
                "this kernel may outlive a killed report",
                file=sys.stderr,
            )
        if os.getppid() != parent:  # the report died before the request: nothing to run for
            os._exit(1)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv)
