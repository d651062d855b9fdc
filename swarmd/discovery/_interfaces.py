"""
Interfaces of node discovery.
"""

from zope.interface import Attribute, Interface


class IDiscoveryWatch(Interface):
    """
    A running watch started by L{IDiscovery.watch}.
    """

    failing = Attribute(
        "Whether the watch's last read of its source failed (true from an "
        "errback until the source is read again, whether or not the list "
        "changed): while it is, the watcher holds the last list it got.")

    def stop():
        """
        Stop watching: no more callbacks are made after this returns, and
        nothing of the watch stays scheduled on the provider's clock.
        Calling it again does nothing.
        """


class IDiscovery(Interface):
    """
    A source of Docker engine addresses (classic Swarm's C{discovery.Backend}).

    An address is C{"host:port"} or C{"unix:///path/to/docker.sock"}.
    Lists of addresses are de-duplicated and keep the order of the source.
    """

    scheme = Attribute("The URL scheme this provider serves, e.g. C{'nodes'}.")

    def fetch():
        """
        Read the current list of engine addresses once.

        @return: a L{Deferred} firing with a C{list} of address strings, or
            failing with L{DiscoveryError} when the source cannot be read.
        """

    def watch(callback, errback):
        """
        Watch the source for changes.

        C{callback} is called with the whole address list after the first
        successful read and then each time the list changes (never twice in
        a row with the same list; a source that recovers from failing with
        the list it had is not called back).  C{errback} is called with a
        L{Failure} (usually of L{DiscoveryError}) each time a read fails;
        watching goes on.

        Callers must not rely on C{callback} being called before or after
        C{watch} returns: the providers of L{swarmd.discovery} make the
        first call on a later turn of their clock.  Exceptions raised by
        C{callback} or C{errback} are logged, not propagated.

        @param callback: one-argument callable taking a C{list} of addresses.
        @param errback: one-argument callable taking a L{Failure}.
        @return: an L{IDiscoveryWatch} provider.
        """

    def register(address):
        """
        Register (or refresh the registration of) one engine address, as
        C{swarm join} does every heartbeat.

        @param address: C{"host:port"} of the engine.
        @return: a L{Deferred} firing with L{None}, or failing with
            L{DiscoveryNotSupported} for backends that cannot register
            (static lists and files) or L{DiscoveryError} on failure.
        """
