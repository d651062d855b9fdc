"""
Tests for L{swarmd.scheduler.ContainerConfig}: the env -> label rewrite,
validation, requested resources and the CPU-shares conversion.
"""

import copy
import json

from twisted.trial.unittest import SynchronousTestCase

from swarmd.scheduler import LABELS, ContainerConfig, ExpressionError

CONSTRAINTS = "com.docker.swarm.constraints"
AFFINITIES = "com.docker.swarm.affinities"
WHITELISTS = "com.docker.swarm.whitelists"
RESCHEDULE = "com.docker.swarm.reschedule-policies"


def parse(body, name=None):
    return ContainerConfig.from_create_body(body, name)


class EnvRewriteTests(SynchronousTestCase):
    """
    Scheduling entries move from Env to the com.docker.swarm.* labels.
    """

    def test_label_names(self):
        """
        Each Env prefix feeds its classic label.
        """
        self.assertEqual(LABELS, {"constraint": CONSTRAINTS, "affinity": AFFINITIES,
                                  "whitelist": WHITELISTS, "reschedule": RESCHEDULE})

    def test_moved(self):
        """
        Scheduling entries leave Env for JSON-array labels; other entries stay in order.
        """
        config = parse({"Image": "busybox", "Env": [
            "A=1", "constraint:storage==ssd", "affinity:container!=web", "B=constraint:x",
            "constraint:node==~n1", "whitelist:node==n1|n2", "reschedule:on-node-failure",
            "constraint", "C=3"]}, "web")
        self.assertEqual(config.body["Env"], ["A=1", "B=constraint:x", "constraint", "C=3"])
        self.assertEqual(config.body["Labels"], {
            CONSTRAINTS: '["storage==ssd","node==~n1"]',
            AFFINITIES: '["container!=web"]',
            WHITELISTS: '["node==n1|n2"]',
            RESCHEDULE: '["on-node-failure"]',
        })
        self.assertEqual([str(e) for e in config.constraints],
                         ["constraint:storage==ssd", "constraint:node==~n1"])
        self.assertEqual([str(e) for e in config.affinities], ["affinity:container!=web"])
        self.assertEqual([str(e) for e in config.whitelists], ["whitelist:node==n1|n2"])
        self.assertEqual(config.reschedule_policies, ["on-node-failure"])
        self.assertEqual(config.name, "web")

    def test_merged_after_labels(self):
        """
        Expressions already in labels come first, Env ones after; other labels stay.
        """
        config = parse({"Image": "busybox", "Env": ["constraint:zone==a"],
                        "Labels": {CONSTRAINTS: '["storage==ssd"]', "tier": "front"}})
        self.assertEqual(json.loads(config.body["Labels"][CONSTRAINTS]),
                         ["storage==ssd", "zone==a"])
        self.assertEqual(config.body["Labels"]["tier"], "front")
        self.assertEqual([e.text for e in config.constraints], ["storage==ssd", "zone==a"])

    def test_labels_only(self):
        """
        Expressions given only as labels are parsed and left as written.
        """
        config = parse({"Image": "busybox", "Labels": {AFFINITIES: '[ "image==redis" ]'}})
        self.assertEqual(config.body["Labels"][AFFINITIES], '[ "image==redis" ]')
        self.assertEqual([e.text for e in config.affinities], ["image==redis"])

    def test_nothing_to_move(self):
        """
        A body without scheduling entries keeps its Env and gains no labels.
        """
        config = parse({"Image": "busybox", "Env": ["A=1"], "Labels": None,
                        "HostConfig": None})
        self.assertEqual(config.body["Env"], ["A=1"])
        self.assertEqual(config.body["Labels"], {})
        self.assertEqual(config.body["HostConfig"], {})
        self.assertEqual((config.constraints, config.affinities, config.whitelists,
                          config.reschedule_policies), ([], [], [], []))

    def test_input_unchanged(self):
        """
        The given body is copied, never changed.
        """
        body = {"Image": "busybox", "Env": ["constraint:a1==b"], "Labels": {"x": "y"},
                "HostConfig": {"CpuShares": 2}}
        before = copy.deepcopy(body)
        parse(body)
        self.assertEqual(body, before)


    def test_copies_share_nothing(self):
        """
        The config's body, and each engine body, share no nested dict or list with their source.
        """
        body = {"Image": "busybox", "Cmd": ["sleep", "1"], "Labels": {"x": "y"},
                "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]},
                               "Binds": ["/a:/a"]}, "Healthcheck": {"Interval": 1.5}}
        before = copy.deepcopy(body)
        config = parse(body)
        config.body["Cmd"].append("x")
        config.body["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] = "1"
        self.assertEqual(body, before)
        engine_body = config.engine_body(4)
        engine_body["HostConfig"]["Binds"].append("/b:/b")
        engine_body["Labels"]["x"] = "z"
        self.assertEqual(config.body["HostConfig"]["Binds"], ["/a:/a"])
        self.assertEqual(config.body["Labels"]["x"], "y")
        self.assertEqual(engine_body["Healthcheck"], {"Interval": 1.5})


class ValidationTests(SynchronousTestCase):
    """
    Bad expressions, labels and values are refused with a message naming them.
    """

    def test_bad_expression(self):
        """
        An invalid expression from Env or labels names the expression.
        """
        for body, named in [
            ({"Env": ["constraint:storage=ssd"]}, '"constraint:storage=ssd"'),
            ({"Env": ["affinity:c==web"]}, '"affinity:c==web"'),
            ({"Env": ["whitelist:node<>n1"]}, '"whitelist:node<>n1"'),
            ({"Labels": {CONSTRAINTS: '["zone==a", "bad key==x"]'}},
             '"constraint:bad key==x"'),
        ]:
            e = self.assertRaises(ExpressionError, parse, dict(body, Image="busybox"))
            self.assertIn(named, str(e))
            self.assertIsInstance(e, ValueError)

    def test_bad_label(self):
        """
        A scheduling label that is not a JSON array of strings names the label.
        """
        for text in ["storage==ssd", "{}", "[1]", '"a==b"']:
            e = self.assertRaises(ExpressionError, parse,
                                  {"Image": "busybox", "Labels": {CONSTRAINTS: text}})
            self.assertIn(CONSTRAINTS, str(e))

    def test_reschedule(self):
        """
        At most one reschedule policy, off or on-node-failure.
        """
        for policy in ["off", "on-node-failure"]:
            self.assertEqual(parse({"Env": ["reschedule:" + policy]}).reschedule_policies,
                             [policy])
        e = self.assertRaises(ExpressionError, parse, {"Env": ["reschedule:always"]})
        self.assertEqual(str(e), "invalid reschedule policy: always")
        e = self.assertRaises(ExpressionError, parse,
                              {"Env": ["reschedule:off", "reschedule:on-node-failure"]})
        self.assertEqual(str(e), "too many reschedule policies")

    def test_bad_shapes(self):
        """
        Bodies, labels, Env and resources of the wrong type are refused.
        """
        for body in [[], {"Labels": []}, {"Env": "A=1"}, {"HostConfig": []},
                     {"HostConfig": {"Memory": "1g"}}, {"HostConfig": {"CpuShares": 1.5}},
                     {"HostConfig": {"CpuShares": True}}, {"HostConfig": {"Memory": -1}}]:
            self.assertRaises(ExpressionError, parse, body)


class ResourceTests(SynchronousTestCase):
    """
    CPUs and memory asked for.
    """

    def test_host_config(self):
        """
        CpuShares is read as CPUs, Memory as bytes; missing or null is 0.
        """
        config = parse({"HostConfig": {"CpuShares": 2, "Memory": 1 << 30}})
        self.assertEqual((config.cpus, config.memory), (2, 1 << 30))
        self.assertEqual((parse({}).cpus, parse({}).memory), (0, 0))
        config = parse({"HostConfig": {"CpuShares": None, "Memory": None}})
        self.assertEqual((config.cpus, config.memory), (0, 0))

    def test_legacy_top_level(self):
        """
        Top-level Memory and CpuShares (old API versions) count when set.
        """
        config = parse({"Memory": 512, "CpuShares": 1, "HostConfig": {"Memory": 256}})
        self.assertEqual((config.cpus, config.memory), (1, 512))
        self.assertEqual(config.body["HostConfig"], {"Memory": 512, "CpuShares": 1})
        config = parse({"Memory": 0, "HostConfig": {"Memory": 256}})
        self.assertEqual(config.memory, 256)


class EngineBodyTests(SynchronousTestCase):
    """
    The body sent to the chosen engine turns CPUs into that engine's shares.
    """

    def test_conversion(self):
        """
        shares = ceil(cpus * 1024 / engine CPUs).
        """
        for cpus, engine_cpus, shares in [(1, 4, 256), (1, 3, 342), (3, 8, 384),
                                          (2, 2, 1024), (1, 1, 1024), (5, 4, 1280),
                                          (1, 2048, 1)]:
            body = parse({"HostConfig": {"CpuShares": cpus}}).engine_body(engine_cpus)
            self.assertEqual(body["HostConfig"]["CpuShares"], shares, (cpus, engine_cpus))

    def test_round_trip(self):
        """
        Turned back into CPUs as the scheduler counts them, the shares give the CPUs.
        """
        for engine_cpus in (1, 2, 3, 4, 6, 7, 8, 12, 16, 24, 32, 48, 64, 96, 128, 1000):
            for cpus in range(1, engine_cpus + 1):
                shares = parse({"HostConfig": {"CpuShares": cpus}}).engine_body(
                    engine_cpus)["HostConfig"]["CpuShares"]
                self.assertEqual(shares * engine_cpus // 1024, cpus, (cpus, engine_cpus))

    def test_no_cpus(self):
        """
        Without CPUs asked for, the body is sent as is.
        """
        config = parse({"Image": "busybox", "HostConfig": {"Memory": 5}})
        self.assertEqual(config.engine_body(4), config.body)
        self.assertEqual(config.engine_body(0), config.body)

    def test_copy(self):
        """
        The engine body is a converted copy, legacy top-level CpuShares included.
        """
        config = parse({"CpuShares": 2, "Env": ["A=1"]})
        body = config.engine_body(8)
        self.assertEqual((body["CpuShares"], body["HostConfig"]["CpuShares"]), (256, 256))
        self.assertEqual(config.body["HostConfig"]["CpuShares"], 2)
        body["Env"].append("B=2")
        self.assertEqual(config.body["Env"], ["A=1"])


class AffinityCopyTests(SynchronousTestCase):
    """
    add_affinity makes a copy with one more affinity (the image retry).
    """

    def test_add(self):
        """
        The copy has the affinity in its label and list; the original has not.
        """
        config = parse({"Image": "busybox", "Env": ["affinity:container==web"]}, "x")
        more = config.add_affinity("image==busybox")
        self.assertEqual(json.loads(more.body["Labels"][AFFINITIES]),
                         ["container==web", "image==busybox"])
        self.assertEqual([e.text for e in more.affinities],
                         ["container==web", "image==busybox"])
        self.assertEqual([e.text for e in config.affinities], ["container==web"])
        self.assertEqual(more.name, "x")

    def test_digest(self):
        """
        Image references with digests are valid affinity values.
        """
        more = parse({}).add_affinity("image==busybox@sha256:" + "a" * 64)
        self.assertEqual(more.affinities[0].value, "busybox@sha256:" + "a" * 64)

    def test_invalid(self):
        """
        An invalid affinity is refused.
        """
        self.assertRaises(ExpressionError, parse({}).add_affinity, "image=busybox")


class QueryTests(SynchronousTestCase):
    """
    Questions the cluster asks of a request.
    """

    def test_node_constraint(self):
        """
        Only a hard node== constraint pins the container.
        """
        for env, pinned in [(["constraint:node==n1"], True), (["constraint:node==~n1"], False),
                            (["constraint:node!=n1"], False), (["constraint:zone==a"], False),
                            ([], False)]:
            self.assertEqual(parse({"Env": env}).has_node_constraint, pinned, env)

    def test_soft_and_image(self):
        """
        has_soft spots any soft expression; image is the Image asked for.
        """
        self.assertTrue(parse({"Env": ["whitelist:node==~n1"]}).has_soft)
        self.assertFalse(parse({"Env": ["whitelist:node==n1"]}).has_soft)
        self.assertEqual(parse({"Image": "redis:7"}).image, "redis:7")
        self.assertEqual(parse({}).image, "")
        config = parse({"Env": ["constraint:a1==b", "affinity:c1==d", "whitelist:e1==f"]})
        self.assertEqual([e.kind for e in config.expressions],
                         ["constraint", "affinity", "whitelist"])
