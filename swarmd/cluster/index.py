"""
L{ContainerIndex}: every cached container of the cluster, found by ID, name
or Swarm ID the way classic Swarm looks them up.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swarmd.cluster.containers import Container


class AmbiguousContainer(Exception):
    """
    A reference matches several containers.
    """

    def __init__(self, reference, matches):
        Exception.__init__(self, reference)
        self.reference = reference
        self.matches = matches

    def __str__(self):
        return "multiple containers match %r: %s" % (
            self.reference, ", ".join(sorted("%s/%s" % (c.engine.name, c.name)
                                             for c in self.matches)))


def _created(container):
    return container.created


class ContainerIndex:
    """
    Containers by ID, by name and by Swarm ID, kept up to date by the
    cluster as engines report changes.
    """

    def __init__(self):
        self._by_id: dict[str, Container] = {}
        self._by_name = {}
        self._by_swarm_id = {}
        #: Called with C{(container, 1)} when a container joins the index
        #: and C{(container, -1)} when it leaves (the manager's metrics
        #: keep their counts with it), or L{None}.
        self.on_change = None
        self._ordered = None

    def newest_first(self):
        """
        Every container, the most recently created first (the order of
        C{GET /containers/json}; ties in the order they joined the index).
        Kept between calls until the index changes.

        @return: a C{list} the caller must not change.
        """
        ordered = self._ordered
        if ordered is None:
            ordered = self._ordered = sorted(self._by_id.values(), key=_created, reverse=True)
        return ordered

    def __len__(self):
        return len(self._by_id)

    def __iter__(self):
        return iter(list(self._by_id.values()))

    def replace(self, old, new):
        """
        Swap C{old} for C{new}; either may be L{None}.
        """
        if old is not None:
            self._remove(old)
        if new is not None:
            self._add(new)

    def _add(self, container):
        self._ordered = None
        previous = self._by_id.get(container.id)
        self._by_id[container.id] = container
        if self.on_change is not None and previous is not container:
            if previous is not None:
                self.on_change(previous, -1)
            self.on_change(container, 1)
        self._by_name.setdefault(container.name, set()).add(container)
        if container.swarm_id:
            self._by_swarm_id[container.swarm_id] = container

    def _remove(self, container: "Container") -> None:
        self._ordered = None
        if self._by_id.get(container.id) is container:
            del self._by_id[container.id]
            if self.on_change is not None:
                self.on_change(container, -1)
        names = self._by_name.get(container.name)
        if names is not None:
            names.discard(container)
            if not names:
                del self._by_name[container.name]
        swarm_id = container.swarm_id
        if swarm_id and self._by_swarm_id.get(swarm_id) is container:
            del self._by_swarm_id[swarm_id]

    def named(self, name):
        """
        @param name: a container name without the leading C{/}.
        @return: the containers of that name, on any engine.
        """
        return set(self._by_name.get(name, ()))

    def lookup(self, reference):
        """
        Find one container as classic Swarm does: exact or 12-character ID,
        exact Swarm ID, then name (C{name}, C{/name}, C{node/name} with the
        node's name or ID), then unique ID or Swarm ID prefix.

        @return: the L{Container}, or L{None}.
        @raise AmbiguousContainer: when a name or prefix matches several.
        """
        if not reference:
            return None
        found = self._by_id.get(reference) or self._by_swarm_id.get(reference)
        if found is not None:
            return found
        named = self._by_name_reference(reference)
        if len(named) == 1:
            return named.pop()
        if len(named) > 1:
            raise AmbiguousContainer(reference, named)
        matches = {c for c in self._by_id.values() if c.id.startswith(reference)}
        if not matches:
            matches = {c for sid, c in self._by_swarm_id.items() if sid.startswith(reference)}
        if len(matches) == 1:
            return matches.pop()
        if len(matches) > 1:
            raise AmbiguousContainer(reference, matches)
        return None

    def _by_name_reference(self, reference):
        stripped = reference[1:] if reference.startswith("/") else reference
        matches = set(self._by_name.get(stripped, ()))
        node, sep, name = stripped.partition("/")
        if sep and name:
            matches.update(c for c in self._by_name.get(name, ())
                           if node in (c.engine.name, c.engine.id))
        return matches
