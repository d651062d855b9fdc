"""
A lab of real Docker engines on this machine, for functional tests,
benchmarks and demos.

Each engine is a real C{dockerd} (Debian's docker.io) with its own bridge,
data and exec roots, pidfile, unix socket and a TCP listener; it runs in its
own UTS namespace with host name C{nI} (so C{docker info} names differ), has
its own key file (so engine IDs differ), the labels C{node=nI} plus extra
ones (by default C{storage=ssd} for odd I, C{storage=disk} for even I), and a
C{busybox:latest} image built from the host's static busybox (no registry is
needed).  Facts and traps: C{shared/docs/real-engines.md}.

From Python (blocking calls, for C{setUp} or a module fixture)::

    lab = Lab(n=2).start()
    lab.engines[0].docker("run", "--rm", "busybox", "echo", "hi")
    manager_discovery = lab.discovery()      # nodes://127.0.0.1:P1,127.0.0.1:P2
    lab.stop()

From a shell::

    python -m swarmd.testing.lab start -n 3 [--base DIR] [--netns] [--tls] [--resume]
    python -m swarmd.testing.lab status --base DIR
    python -m swarmd.testing.lab suspend --base DIR   # stop, keeping its data
    python -m swarmd.testing.lab stop --base DIR      # stop and delete its data

Options:
  - C{netns=True}: each engine lives in its own network namespace, reached at
    C{10.78.S.2:2375} over a veth, so several engines can publish the same
    host port.
  - C{tls=True}: the TCP listeners demand client certificates signed by the
    lab's own CA (see L{LabEngine.tls}); the unix sockets stay plain.

Labs never collide, whichever process starts them: host-wide names (bridge,
subnet, port, cgroup, namespace) come from slots claimed in
L{swarmd.testing.lab._host.REGISTRY}; the engine names C{nI} are per lab.
Everything is stopped by pid (recorded in C{state.json} in the lab's folder),
never by process name, and C{stop} works from any process and twice.

A lab started from Python is I{not persistent}: if the process that started it
dies without stopping it, the next lab started on this machine stops it.  The
command line's labs are persistent.

L{Lab.stop} deletes everything the engines hold.  L{Lab.suspend} stops their
dockerds and keeps their data, bridges and slots; L{Lab.resume} (or C{start
--resume}) starts them again on it, with their containers, images, volumes
and networks, as a restarted Docker host would.
"""

from swarmd.testing.lab._command import main
from swarmd.testing.lab._engine import (
    STATE,
    DockerCommandError,
    LabEngine,
    LabError,
    default_labels,
    ensure_installed,
)
from swarmd.testing.lab._lab import Lab
from swarmd.testing.lab._teardown import lab_status, reap_orphans, stop_lab
from swarmd.testing.lab._tls import LabTLS

__all__ = [
    "STATE",
    "DockerCommandError",
    "Lab",
    "LabEngine",
    "LabError",
    "LabTLS",
    "default_labels",
    "ensure_installed",
    "lab_status",
    "main",
    "reap_orphans",
    "stop_lab",
]
