"""
L{VolumeOps}: what the volume routes do to a L{FakeEngine}, with dockerd
20.10's answers, statuses, messages and events (checked against a lab
engine): create, inspect, remove and prune, all of the C{local} driver.

A volume is in use while any container (running or not) mounts it.  A
create of a volume that exists answers it as it is (its create event
emitted again, as dockerd does); a prune emits no C{destroy} events, only
its C{prune} event.
"""

import re
import time

from swarmd.testing.fakeengine._errors import bad_request, conflict, not_found
from swarmd.testing.fakeengine._network_ops import labels_match

#: Filters C{POST /volumes/prune} accepts.
VOLUME_PRUNE_FILTERS = frozenset({"label", "label!"})

#: Options the C{local} driver takes.
LOCAL_OPTIONS = frozenset({"type", "device", "o", "size"})

_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


class VolumeOps:
    """
    The volume operations of L{swarmd.testing.fakeengine._engine.FakeEngine}
    (a mixin: it uses the engine's C{volumes}, C{volume_usage},
    C{containers}, C{_hex}, C{_emit} and clock).
    """

    def list_volumes(self):
        """
        @return: C{GET /volumes}.
        """
        return {"Volumes": [dict(v) for v in self.volumes.values()], "Warnings": None}

    def _volume(self, name):
        """
        Make a volume a container mounts, if missing.

        @return: C{name}.
        """
        if name not in self.volumes:
            self._new_volume(name, None, None)
        self._emit("volume", "create", name, {"driver": "local"})
        return name

    def _new_volume(self, name, labels, options):
        self.volumes[name] = {
            "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock.seconds())),
            "Driver": "local", "Labels": labels or None,
            "Mountpoint": "%s/volumes/%s/_data" % (self.root_dir, name),
            "Name": name, "Options": options or None, "Scope": "local",
        }

    def create_volume(self, name=None, driver=None, labels=None, options=None, usage=0):
        """
        C{POST /volumes/create}.

        @param name: L{None} or empty for an anonymous volume (64 hex
            digits).
        @param usage: bytes its data takes (what a prune reclaims), for
            tests.
        @return: the volume as inspected.
        @raise FakeAPIError: 400 bad name or option, 404 another driver.
        """
        if not name:
            name = self._hex()
        if driver and driver != "local":
            raise not_found('create %s: error looking up volume plugin %s: plugin "%s" not '
                            'found' % (name, driver, driver))
        if name not in self.volumes:
            if not _VOLUME_NAME.match(name):
                if len(name) < 2 and re.match(r"^[a-zA-Z0-9]*$", name):
                    raise bad_request("create %s: volume name is too short, names should be at "
                                      "least two alphanumeric characters" % (name,))
                raise bad_request(
                    'create %s: "%s" includes invalid characters for a local volume name, only '
                    '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                    'directory, use absolute path' % (name, name))
            for key in options or {}:
                if key not in LOCAL_OPTIONS:
                    raise bad_request('create %s: invalid option: "%s"' % (name, key))
            self._new_volume(name, labels, options)
        if usage:
            self.volume_usage[name] = usage
        self._emit("volume", "create", name, {"driver": "local"})
        return dict(self.volumes[name])

    def inspect_volume(self, name):
        """
        C{GET /volumes/{name}}.

        @raise FakeAPIError: 404 C{get NAME: no such volume}.
        """
        volume = self.volumes.get(name)
        if volume is None:
            raise not_found("get %s: no such volume" % (name,))
        return dict(volume)

    def volume_users(self, name):
        """
        @return: the IDs of the containers (running or not) mounting it.
        """
        return [c.id for c in self.containers.values() if any(n == name for n, _ in c.volumes)]

    def remove_volume(self, name, force=False):
        """
        C{DELETE /volumes/{name}}: C{force} only forgives a missing volume
        (one in use stays in use).

        @raise FakeAPIError: 404 missing, 409 in use.
        """
        if name not in self.volumes:
            if force:
                return
            raise not_found("get %s: no such volume" % (name,))
        users = self.volume_users(name)
        if users:
            raise conflict("remove %s: volume is in use - [%s]" % (name, " ".join(users)))
        self._drop_volume(name)

    def _drop_volume(self, name, event=True):
        del self.volumes[name]
        self.volume_usage.pop(name, None)
        if event:
            self._emit("volume", "destroy", name, {"driver": "local"})

    def prune_volumes(self, filters):
        """
        C{POST /volumes/prune}: every volume no container mounts, within
        the label filters.

        @return: C{{"VolumesDeleted": [...], "SpaceReclaimed": N}}.
        @raise FakeAPIError: 400 for a filter other than C{label}/C{label!}.
        """
        filters.check_keys(VOLUME_PRUNE_FILTERS)
        deleted = []
        reclaimed = 0
        for name, volume in list(self.volumes.items()):
            if self.volume_users(name) or not labels_match(filters, volume.get("Labels")):
                continue
            reclaimed += self.volume_usage.get(name, 0)
            self._drop_volume(name, event=False)
            deleted.append(name)
        self._emit("volume", "prune", "", {"reclaimed": str(reclaimed)})
        return {"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed}


__all__ = ["VOLUME_PRUNE_FILTERS", "VolumeOps"]
