"""
What placement can fail with.

L{SchedulerError} messages are the texts classic Swarm answers with (the API
returns them with status 500); L{ExpressionError} is a bad request (400).
"""

from typing import Any


class SchedulerError(Exception):
    """
    No node can take the container; C{str(error)} is the API's message.

    @ivar decision: the L{swarmd.scheduler.scheduler.Decision} (no nodes)
        saying which filter removed how many nodes, when the scheduler
        raised it; else L{None}.
    """

    decision: Any = None

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class NoHealthyNode(SchedulerError):
    """
    The health filter left no node.
    """

    MESSAGE = "No healthy node available in the cluster"

    def __init__(self):
        super().__init__(self.MESSAGE)


class NoMatchingNode(SchedulerError):
    """
    A filter other than health left no node.

    @ivar filter_name: the name of the filter that left none.
    @ivar conditions: a C{list} of C{list}s of condition texts, one per
        filter up to and including that one (filters without conditions left
        out), as listed in the message.
    """

    PREFIX = "Unable to find a node that satisfies the following conditions "

    def __init__(self, filter_name, conditions, notes=()):
        """
        @param notes: lines explaining the conditions, after them.
        """
        self.filter_name = filter_name
        self.conditions = conditions
        listed = "".join("\n[%s]" % (" ".join(texts),) for texts in conditions)
        listed += "".join("\n" + note for note in notes)
        super().__init__(self.PREFIX + listed)


class NoResources(SchedulerError):
    """
    The strategy found no node with room for the requested CPUs and memory.

    The message's first line is classic Swarm's whole message (scripts match
    it); the lines after it, if any, say which resource is short on which
    nodes and by how much.

    @ivar details: those further lines, a C{list} of C{str}.
    """

    MESSAGE = "no resources available to schedule container"

    def __init__(self, details=()):
        self.details = list(details)
        super().__init__("\n".join([self.MESSAGE] + self.details))


class ExpressionError(ValueError):
    """
    A constraint, affinity, whitelist or reschedule policy that cannot be
    parsed; the message names it (the API answers 400).
    """


class UnknownStrategy(ValueError):
    """
    No strategy has this name.
    """


class UnknownFilter(ValueError):
    """
    No filter has this name.
    """
