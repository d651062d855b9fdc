"""
L{RunningService}: an object with C{start()} and C{stop()} run for as long
as a service runs (the cluster, the replication's election).
"""

from twisted.application.service import Service

__all__ = ["RunningService"]


class RunningService(Service):
    """
    Starts its subject when the service starts and stops it when the
    service stops (twistd waits for the L{Deferred} its C{stop()} returns).

    @ivar subject: the object run: C{start()}, and C{stop()} returning a
        L{Deferred} or L{None}.
    """

    def __init__(self, subject):
        self.subject = subject

    def startService(self):
        Service.startService(self)
        self.subject.start()

    def stopService(self):
        Service.stopService(self)
        return self.subject.stop()
