"""
L{EngineListener}: what a cluster hears from its engines.
"""


class EngineListener:
    """
    What a cluster hears from its engines.  This base class ignores
    everything; the cluster overrides what it needs.
    """

    def engine_state_changed(self, engine, old, new):
        """
        C{engine.state} went from C{old} to C{new}.
        """

    def engine_event(self, engine, event):
        """
        The engine sent C{event} (a Docker events C{dict}), or the manager
        made one about the engine (C{Type} C{"swarm"}).
        """

    def container_changed(self, engine, old, new):
        """
        A cached container appeared (C{old} is L{None}), changed, or went
        away (C{new} is L{None}).
        """

    def engine_view_changed(self, engine):
        """
        Something the scheduler's view of C{engine} depends on changed: its
        C{revision} (cached state), C{state} or C{failures}.
        """

    def engine_busy(self, engine):
        """
        A call to C{engine} started while none was under way: until it has
        none again (L{Engine.watch} says), it is to be watched for a hang.
        """

    def engine_failed(self, engine, error):
        """
        A call to C{engine} failed with C{error} (L{Engine.failed}).
        """

    def engine_refreshed(self, engine, seconds, ok):
        """
        One run of C{engine}'s refresh loop took C{seconds}; C{ok} says
        whether it completed.
        """
