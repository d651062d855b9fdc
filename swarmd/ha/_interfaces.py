"""
Interfaces of leader election between managers (C{--replication}).
"""

from zope.interface import Attribute, Interface


class ILeaderStore(Interface):
    """
    One manager's handle on the leader key of a key-value store
    (C{<prefix>/docker/swarm/leader}), held under a lease (etcd), an
    ephemeral node (ZooKeeper) or a session (Consul) that the store lets
    expire C{ttl} seconds after the last renewal.

    Every method may fail with any exception when the store cannot be
    reached; the election counts such a failure, it never trusts it.
    """

    key = Attribute("The leader key, for messages.")

    def acquire(value, ttl):
        """
        Try to hold the leader key with C{value}: write it if nobody holds
        the key, or take it back if it already holds C{value} (a lease of
        this manager that it lost track of, e.g. across a restart).

        @param value: this manager's advertised address.
        @param ttl: seconds the store keeps the key without a renewal.
        @return: a L{Deferred} firing with the value of the holder after the
            attempt (C{value} itself when this manager now holds the key) or
            L{None} when the key is free but could not be taken.
        """

    def renew():
        """
        Extend the lease of the key this store's last L{acquire} took.

        @return: a L{Deferred} firing with L{None} once the store extended
            it, failing with L{LeadershipLost} when the key is no longer
            held by this manager (or anything else the store raised).
        """

    def resign():
        """
        Give the key up now, if this manager holds it (best effort).

        @return: a L{Deferred} firing with L{None}.
        """

    def leader():
        """
        Read who holds the key.

        @return: a L{Deferred} firing with the holder's value or L{None}.
        """

    def close():
        """
        Release the store's connections.

        @return: a L{Deferred} firing with L{None}.
        """


class IElectionListener(Interface):
    """
    Told by an L{swarmd.ha.election.Election} when this manager's role or
    the known primary changes.
    """

    def role_changed(role, primary):
        """
        @param role: C{"primary"} or C{"replica"}.
        @param primary: the primary's advertised address, L{None} when no
            primary is known.
        """
