"""
Interfaces of placement: strategies rank nodes, filters drop them.
"""

from zope.interface import Attribute, Interface


class IStrategy(Interface):
    """
    A placement strategy (C{--strategy}): orders the nodes that passed the
    filters, best first.
    """

    name = Attribute("The name C{--strategy} selects it by, e.g. C{'spread'}.")

    def rank(config, nodes):
        """
        Rank the nodes that can take a container, best first.

        Runs synchronously; neither C{config} nor C{nodes} is changed.

        @param config: the L{swarmd.scheduler.ContainerConfig} to place.
        @param nodes: a C{list} of L{swarmd.scheduler.Node}.
        @return: a new non-empty C{list} of some of C{nodes} (each at most
            once), best first; nodes without room for the requested CPUs or
            memory are left out by strategies that check resources.
        @raise swarmd.scheduler.SchedulerError: (L{NoResources}) when no node
            is left, C{nodes} empty included.
        """


class IFilter(Interface):
    """
    A scheduling filter (C{--filter}): keeps the nodes a container may run on.
    """

    name = Attribute("The name C{--filter} selects it by, e.g. C{'constraint'}.")

    def filter(config, nodes, soft):
        """
        Keep the nodes that satisfy this filter's conditions for C{config}.

        Runs synchronously; neither C{config} nor C{nodes} is changed.

        @param config: the L{swarmd.scheduler.ContainerConfig} to place.
        @param nodes: a C{list} of L{swarmd.scheduler.Node}.
        @param soft: whether soft expressions (C{==~}, C{!=~}) count too;
            when false they are ignored.
        @return: a new C{list} of the nodes kept, in their given order;
            empty when none is left (never raises for that).
        """

    def expressions(config):
        """
        The conditions this filter checks for C{config}, as listed in the
        "Unable to find a node that satisfies the following conditions"
        message, in classic Swarm's words: C{["storage==ssd"]} for a
        constraint, C{["container==web (soft=true)"]} for an affinity or a
        whitelist (no C{kind:} prefix, no C{~}).

        @param config: the L{swarmd.scheduler.ContainerConfig} to place.
        @return: a C{list} of C{str}, maybe empty.
        """
