"""
The engine conformance suite: volumes.
"""

import json
from urllib.parse import quote

from twisted.internet.defer import inlineCallbacks


class VolumeConformance:
    """
    The volume routes (raw calls), as every engine answers them.
    """

    @inlineCallbacks
    def volume(self, name=None, **body):
        """
        Create a volume, removed after the test.

        @return: a L{Deferred} firing with the created volume.
        """
        body["Name"] = name or self.unique("vol")
        _, created = yield self.call_json("POST", "/volumes/create", body, status=201)
        self.volumes_made.append(created["Name"])
        return created

    @inlineCallbacks
    def test_volume_create_inspect_remove(self):
        """
        A named volume is made (again: the same one), inspected, listed, then removed.
        """
        events = yield self.watch({"type": ["volume"]})
        name = self.unique("vol")
        created = yield self.volume(name, Labels={"conf": "yes"})
        self.assertEqual((created["Name"], created["Driver"], created["Scope"],
                          created["Labels"], created["Options"]),
                         (name, "local", "local", {"conf": "yes"}, None))
        self.assertTrue(created["Mountpoint"].endswith("/volumes/%s/_data" % (name,)))
        self.assertRegex(created["CreatedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        again = yield self.volume(name, Labels={"conf": "other"})
        self.assertEqual(again, created)
        _, inspected = yield self.call_json("GET", "/volumes/" + name, status=200)
        self.assertEqual(inspected, created)
        listed = yield self.client.list_volumes()
        self.assertIn(name, [v["Name"] for v in listed])
        code, _, data = yield self.call("DELETE", "/volumes/" + name)
        self.assertEqual((code, data), (204, b""))
        message = yield self.refused("GET", "/volumes/" + name, status=404)
        self.assertEqual(message, "get %s: no such volume" % (name,))
        message = yield self.refused("DELETE", "/volumes/" + name, status=404)
        self.assertEqual(message, "get %s: no such volume" % (name,))
        code, _, _ = yield self.call("DELETE", "/volumes/%s?force=1" % (name,))
        self.assertEqual(code, 204)
        found = yield self.seen(events, [("volume", "create", name),
                                         ("volume", "create", name),
                                         ("volume", "destroy", name)])
        self.assertEqual(found[0]["Actor"]["Attributes"], {"driver": "local"})

    @inlineCallbacks
    def test_volume_names(self):
        """
        No name makes an anonymous volume; short, odd or badly typed names are refused.
        """
        _, anonymous = yield self.call_json("POST", "/volumes/create", {}, status=201)
        self.volumes_made.append(anonymous["Name"])
        self.assertRegex(anonymous["Name"], r"^[0-9a-f]{64}$")
        message = yield self.refused("POST", "/volumes/create", {"Name": "x"}, status=400)
        self.assertEqual(message, "create x: volume name is too short, names should be at "
                                  "least two alphanumeric characters")
        message = yield self.refused("POST", "/volumes/create", {"Name": "conf/a"}, status=400)
        self.assertEqual(message, 'create conf/a: "conf/a" includes invalid characters for a '
                                  'local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are '
                                  'allowed. If you intended to pass a host directory, use '
                                  'absolute path')
        message = yield self.refused("POST", "/volumes/create", {"Name": 3}, status=400)
        self.assertEqual(message, "json: cannot unmarshal number into Go struct field "
                                  "VolumeCreateBody.Name of type string")
        name = self.unique("vol")
        message = yield self.refused("POST", "/volumes/create",
                                     {"Name": name, "Driver": "conf-nfs"}, status=404)
        self.assertEqual(message, 'create %s: error looking up volume plugin conf-nfs: plugin '
                                  '"conf-nfs" not found' % (name,))
        message = yield self.refused("POST", "/volumes/create",
                                     {"Name": name, "DriverOpts": {"bogus": "1"}}, status=400)
        self.assertEqual(message, 'create %s: invalid option: "bogus"' % (name,))
        message = yield self.refused("POST", "/volumes/create", status=400)
        self.assertEqual(message, "got EOF while reading request body")

    @inlineCallbacks
    def test_volume_in_use(self):
        """
        A volume a container mounts is not removed, even forced (409), until the container goes.
        """
        name = (yield self.volume())["Name"]
        cid, _ = yield self.create(["true"], HostConfig={"Binds": [name + ":/data"]})
        inspected = yield self.client.inspect_container(cid)
        self.assertEqual([(m["Type"], m["Name"], m["Destination"])
                          for m in inspected["Mounts"]], [("volume", name, "/data")])
        for query in ("", "?force=1"):
            message = yield self.refused("DELETE", "/volumes/" + name + query, status=409)
            self.assertEqual(message, "remove %s: volume is in use - [%s]" % (name, cid))
        yield self.client.remove_container(cid)
        code, _, _ = yield self.call("DELETE", "/volumes/" + name)
        self.assertEqual(code, 204)

    @inlineCallbacks
    def test_volume_prune(self):
        """
        Prune removes the unused volumes its label filter selects, with no destroy events.
        """
        events = yield self.watch({"type": ["volume"]})
        label = self.unique("prune")
        idle = (yield self.volume(Labels={"conf-prune": label}))["Name"]
        used = (yield self.volume(Labels={"conf-prune": label}))["Name"]
        other = (yield self.volume())["Name"]
        yield self.create(["true"], HostConfig={"Binds": [used + ":/data"]})
        filters = quote(json.dumps({"label": ["conf-prune=" + label]}))
        _, answer = yield self.call_json("POST", "/volumes/prune?filters=" + filters,
                                         status=200)
        self.assertEqual(answer, {"VolumesDeleted": [idle], "SpaceReclaimed": 0})
        _, answer = yield self.call_json("POST", "/volumes/prune?filters=" + filters,
                                         status=200)
        self.assertEqual(answer, {"VolumesDeleted": [], "SpaceReclaimed": 0})
        listed = [v["Name"] for v in (yield self.client.list_volumes())]
        self.assertNotIn(idle, listed)
        self.assertIn(used, listed)
        self.assertIn(other, listed)
        message = yield self.refused("POST", "/volumes/prune?filters=" + quote(json.dumps(
            {"until": ["10m"]})), status=400)
        self.assertEqual(message, "Invalid filter 'until'")
        yield self.seen(events, [("volume", "create", idle), ("volume", "prune", "")])
        self.assertNotIn(("volume", "destroy", idle),
                         [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in events])

    @inlineCallbacks
    def test_list_volumes(self):
        """
        The volume list is a list.
        """
        self.assertIsInstance((yield self.client.list_volumes()), list)
