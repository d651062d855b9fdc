"""
The engine conformance suite: networks.
"""

import json
from urllib.parse import quote

from twisted.internet.defer import inlineCallbacks


class NetworkConformance:
    """
    The network routes (raw calls), as every engine answers them.
    """

    @inlineCallbacks
    def network(self, name=None, **body):
        """
        Create a network, removed after the test.

        @return: a L{Deferred} firing with C{(id, name)}.
        """
        name = name or self.unique("net")
        body.setdefault("CheckDuplicate", True)
        body["Name"] = name
        _, created = yield self.call_json("POST", "/networks/create", body, status=201)
        self.networks_made.append(created["Id"])
        return created["Id"], name

    @inlineCallbacks
    def test_network_create_inspect_remove(self):
        """
        A network is made with its labels and a subnet, found by name, ID and prefix, then removed.
        """
        events = yield self.watch({"type": ["network"]})
        name = self.unique("net")
        _, created = yield self.call_json("POST", "/networks/create", {
            "Name": name, "CheckDuplicate": True, "Labels": {"conf": "yes"}}, status=201)
        network_id = created["Id"]
        self.networks_made.append(network_id)
        self.assertRegex(network_id, r"^[0-9a-f]{64}$")
        self.assertEqual(created["Warning"], "")
        for reference in (name, network_id, network_id[:12]):
            _, inspected = yield self.call_json("GET", "/networks/" + reference, status=200)
            self.assertEqual((inspected["Id"], inspected["Name"]), (network_id, name))
        self.assertEqual((inspected["Driver"], inspected["Scope"], inspected["Labels"],
                          inspected["Containers"], inspected["Internal"]),
                         ("bridge", "local", {"conf": "yes"}, {}, False))
        subnet = inspected["IPAM"]["Config"][0]
        self.assertRegex(subnet["Subnet"], r"^\d+\.\d+\.\d+\.\d+/\d+$")
        self.assertRegex(subnet["Gateway"], r"^\d+\.\d+\.\d+\.\d+$")
        listed = yield self.client.list_networks()
        self.assertIn(network_id, [n["Id"] for n in listed])
        code, _, data = yield self.call("DELETE", "/networks/" + name)
        self.assertEqual((code, data), (204, b""))
        message = yield self.refused("GET", "/networks/" + network_id, status=404)
        self.assertEqual(message, "network %s not found" % (network_id,))
        message = yield self.refused("DELETE", "/networks/" + name, status=404)
        self.assertEqual(message, "network %s not found" % (name,))
        found = yield self.seen(events, [("network", "create", network_id),
                                         ("network", "destroy", network_id)])
        self.assertEqual(found[0]["Actor"]["Attributes"], {"name": name, "type": "bridge"})

    @inlineCallbacks
    def test_network_duplicate_names(self):
        """
        CheckDuplicate refuses a taken name (409); without it a twin is made with a warning.
        """
        first, name = yield self.network()
        message = yield self.refused("POST", "/networks/create",
                                     {"Name": name, "CheckDuplicate": True}, status=409)
        self.assertEqual(message, "network with name %s already exists" % (name,))
        _, twin = yield self.call_json("POST", "/networks/create", {"Name": name}, status=201)
        self.networks_made.append(twin["Id"])
        self.assertEqual(twin["Warning"], "Network with name %s (id : %s) already exists"
                         % (name, first))
        message = yield self.refused("GET", "/networks/" + name, status=400)
        self.assertEqual(message, "2 matches found based on name: network %s is ambiguous"
                         % (name,))
        message = yield self.refused("DELETE", "/networks/" + name, status=400)
        self.assertIn("network %s is ambiguous" % (name,), message)
        _, inspected = yield self.call_json("GET", "/networks/" + twin["Id"], status=200)
        self.assertEqual(inspected["Name"], name)

    @inlineCallbacks
    def test_network_create_refused(self):
        """
        Predefined names, a second host network, unknown drivers and bad bodies are refused.
        """
        for name in ("bridge", "host", "none"):
            message = yield self.refused("POST", "/networks/create", {"Name": name}, status=403)
            self.assertEqual(message, "operation is not permitted on predefined %s network "
                             % (name,))
        message = yield self.refused("POST", "/networks/create",
                                     {"Name": self.unique("net"), "Driver": "host"}, status=403)
        self.assertEqual(message, 'only one instance of "host" network is allowed')
        message = yield self.refused("POST", "/networks/create",
                                     {"Name": self.unique("net"), "Driver": "conf-nope"},
                                     status=404)
        self.assertEqual(message, 'plugin "conf-nope" not found')
        message = yield self.refused("POST", "/networks/create", {"Name": 3}, status=400)
        self.assertEqual(message, "json: cannot unmarshal number into Go struct field "
                                  "NetworkCreateRequest.Name of type string")
        message = yield self.refused("POST", "/networks/create", status=400)
        self.assertEqual(message, "got EOF while reading request body")

    @inlineCallbacks
    def test_network_connect_disconnect(self):
        """
        A running container connected gets an address on it; disconnected it leaves.
        """
        events = yield self.watch({"type": ["network"]})
        network_id, name = yield self.network()
        cid, cname = yield self.started(["sleep", "300"])
        code, _, data = yield self.call("POST", "/networks/%s/connect" % (name,),
                                        {"Container": cname})
        self.assertEqual((code, data), (200, b""))
        inspected = yield self.client.inspect_container(cid)
        entry = inspected["NetworkSettings"]["Networks"][name]
        self.assertEqual(entry["NetworkID"], network_id)
        self.assertRegex(entry["IPAddress"], r"^\d+\.\d+\.\d+\.\d+$")
        self.assertEqual(entry["Aliases"], [cid[:12]])
        self.assertIn("bridge", inspected["NetworkSettings"]["Networks"])
        _, network = yield self.call_json("GET", "/networks/" + network_id, status=200)
        self.assertEqual(list(network["Containers"]), [cid])
        self.assertEqual(network["Containers"][cid]["Name"], cname)
        self.assertEqual(network["Containers"][cid]["IPv4Address"].split("/")[0],
                         entry["IPAddress"])
        message = yield self.refused("POST", "/networks/%s/connect" % (name,),
                                     {"Container": cid}, status=403)
        self.assertEqual(message, "endpoint with name %s already exists in network %s"
                         % (cname, name))
        code, _, _ = yield self.call("POST", "/networks/%s/disconnect" % (network_id,),
                                     {"Container": cid, "Force": False})
        self.assertEqual(code, 200)
        inspected = yield self.client.inspect_container(cid)
        self.assertNotIn(name, inspected["NetworkSettings"]["Networks"])
        _, network = yield self.call_json("GET", "/networks/" + network_id, status=200)
        self.assertEqual(network["Containers"], {})
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": cid}, status=500)
        self.assertEqual(message, "container %s is not connected to network %s" % (cid, name))
        found = yield self.seen(events, [("network", "connect", network_id),
                                         ("network", "disconnect", network_id)])
        self.assertEqual(found[0]["Actor"]["Attributes"],
                         {"container": cid, "name": name, "type": "bridge"})

    @inlineCallbacks
    def test_network_connect_created(self):
        """
        A container not running is connected in its config only; started, it is on the network.
        """
        network_id, name = yield self.network()
        cid, _ = yield self.create(["sleep", "300"])
        code, _, _ = yield self.call("POST", "/networks/%s/connect" % (name,),
                                     {"Container": cid})
        self.assertEqual(code, 200)
        inspected = yield self.client.inspect_container(cid)
        entry = inspected["NetworkSettings"]["Networks"][name]
        self.assertEqual((entry["NetworkID"], entry["IPAddress"]), ("", ""))
        _, network = yield self.call_json("GET", "/networks/" + name, status=200)
        self.assertEqual(network["Containers"], {})
        yield self.client.start_container(cid)
        inspected = yield self.client.inspect_container(cid)
        entry = inspected["NetworkSettings"]["Networks"][name]
        self.assertEqual(entry["NetworkID"], network_id)
        _, network = yield self.call_json("GET", "/networks/" + name, status=200)
        self.assertEqual(list(network["Containers"]), [cid])
        other, _ = yield self.create(["true"])
        yield self.call("POST", "/networks/%s/connect" % (name,), {"Container": other})
        code, _, _ = yield self.call("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": other})
        self.assertEqual(code, 200)
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": other}, status=500)
        self.assertEqual(message, "container %s is not connected to the network %s"
                         % (other, name))

    @inlineCallbacks
    def test_network_connect_refused(self):
        """
        Unknown containers and networks, empty names, host and none networks are refused.
        """
        _, name = yield self.network()
        cid, _ = yield self.started(["sleep", "300"])
        ghost = self.unique("ghost")
        message = yield self.refused("POST", "/networks/%s/connect" % (name,),
                                     {"Container": ghost}, status=404)
        self.assertEqual(message, "No such container: " + ghost)
        missing = self.unique("net")
        message = yield self.refused("POST", "/networks/%s/connect" % (missing,),
                                     {"Container": cid}, status=404)
        self.assertEqual(message, "network %s not found" % (missing,))
        message = yield self.refused("POST", "/networks/%s/connect" % (name,),
                                     {"Container": ""}, status=400)
        self.assertEqual(message, 'invalid name or ID supplied: ""')
        message = yield self.refused("POST", "/networks/host/connect", {"Container": cid},
                                     status=400)
        self.assertEqual(message, "container cannot be disconnected from host network or "
                                  "connected to host network")
        message = yield self.refused("POST", "/networks/none/connect", {"Container": cid},
                                     status=400)
        self.assertEqual(message, "container cannot be connected to multiple networks with "
                                  "one of the networks in private (none) mode")
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": ghost}, status=404)
        self.assertEqual(message, "No such container: " + ghost)
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": ghost, "Force": True}, status=404)
        self.assertEqual(message, "endpoint %s not found" % (ghost,))
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": cid, "Force": "yes"}, status=400)
        self.assertEqual(message, "json: cannot unmarshal string into Go struct field "
                                  "NetworkDisconnect.Force of type bool")

    @inlineCallbacks
    def test_network_remove_refused(self):
        """
        Predefined networks and networks with running containers are not removed (403).
        """
        for name in ("bridge", "host", "none"):
            message = yield self.refused("DELETE", "/networks/" + name, status=403)
            self.assertEqual(message, "%s is a pre-defined network and cannot be removed"
                             % (name,))
        network_id, name = yield self.network()
        cid, _ = yield self.started(["sleep", "300"], HostConfig={"NetworkMode": name})
        message = yield self.refused("DELETE", "/networks/" + name, status=403)
        self.assertEqual(message, "error while removing network: network %s id %s has active "
                                  "endpoints" % (name, network_id))
        yield self.client.kill_container(cid)
        yield self.wait(cid)
        code, _, _ = yield self.call("DELETE", "/networks/" + name)
        self.assertEqual(code, 204)

    @inlineCallbacks
    def test_network_prune(self):
        """
        Prune removes the unused networks its label filter selects, never a used one.
        """
        events = yield self.watch({"type": ["network"]})
        label = self.unique("prune")
        idle_id, idle = yield self.network(Labels={"conf-prune": label})
        used_id, used = yield self.network(Labels={"conf-prune": label})
        yield self.network()
        yield self.started(["sleep", "300"], HostConfig={"NetworkMode": used})
        filters = quote(json.dumps({"label": ["conf-prune=" + label]}))
        _, answer = yield self.call_json("POST", "/networks/prune?filters=" + filters,
                                         status=200)
        self.assertEqual(answer, {"NetworksDeleted": [idle]})
        _, answer = yield self.call_json("POST", "/networks/prune?filters=" + filters,
                                         status=200)
        self.assertEqual(answer, {"NetworksDeleted": None})
        yield self.refused("GET", "/networks/" + idle_id, status=404)
        yield self.call_json("GET", "/networks/" + used_id, status=200)
        message = yield self.refused("POST", "/networks/prune?filters=" + quote(json.dumps(
            {"conf-bogus": ["1"]})), status=400)
        self.assertEqual(message, "Invalid filter 'conf-bogus'")
        found = yield self.seen(events, [("network", "destroy", idle_id),
                                         ("network", "prune", "")])
        self.assertEqual(found[1]["Actor"]["Attributes"], {"reclaimed": "0"})

    # -- listed by the engine API ----------------------------------------

    @inlineCallbacks
    def test_list_networks(self):
        """
        The network list has bridge, host and none with their drivers.
        """
        networks = yield self.client.list_networks()
        drivers = {n["Name"]: n["Driver"] for n in networks}
        self.assertEqual({k: drivers.get(k) for k in ("bridge", "host", "none")},
                         {"bridge": "bridge", "host": "host", "none": "null"})
