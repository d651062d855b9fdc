"""
Tests for L{swarmd.scheduler._index.ViewIndex} and for the filters that
use it: over decisions where views persist, are replaced and die, indexed
filters keep exactly the nodes a direct check of every node keeps.
"""

import gc

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from swarmd.scheduler import AffinityFilter, ConstraintFilter, ContainerConfig, PortFilter
from swarmd.scheduler._index import ViewIndex, keep
from swarmd.scheduler.container_filters import port_requests
from swarmd.testing.nodes import image_summary, inspect_container, make_node


class ViewIndexTests(SynchronousTestCase):
    """
    Keys and answers are remembered per view, and forgotten with the view.
    """

    def test_having(self):
        """Tracked views are found by the keys they hold; other views are not named."""
        index = ViewIndex(keys_of=lambda node: node.labels.items())
        a = make_node("a", labels={"zone": "1"})
        b = make_node("b", labels={"zone": "2"})
        index.track([a, b])
        self.assertEqual(index.having(("zone", "1")), {id(a)})
        self.assertEqual(keep([a, b], index.having(("zone", "2"))), [b])
        self.assertEqual(keep([a, b], index.having(("zone", "2")), negated=True), [a])
        self.assertEqual(index.having(("zone", "3")), set())

    def test_dead_views_forgotten(self):
        """A view that is garbage leaves the index, so its id can never answer for another."""
        index = ViewIndex(keys_of=lambda node: node.labels.items(),
                          ask=lambda node, q: q in node.labels)
        a, b = make_node("a", labels={"zone": "1"}), make_node("b", labels={"zone": "1"})
        index.track([a, b])
        self.assertEqual(index.answering("zone"), {id(a), id(b)})
        dead = id(b)
        del b
        gc.collect()
        self.assertEqual(len(index), 1)
        self.assertEqual(index.having(("zone", "1")), {id(a)})
        self.assertEqual(index.answering("zone"), {id(a)})
        self.assertNotIn(dead, index.having(("zone", "1")))

    def test_answers_remembered(self):
        """A question is put to each view once; new views are asked the recent questions."""
        asked = []

        def ask(node, question):
            asked.append((node.name, question))
            return node.labels.get("zone") == question

        index = ViewIndex(ask=ask)
        a, b = make_node("a", labels={"zone": "1"}), make_node("b", labels={"zone": "2"})
        index.track([a, b])
        self.assertEqual(index.answering("1"), {id(a)})
        self.assertEqual(index.answering("1"), {id(a)})
        self.assertEqual(sorted(asked), [("a", "1"), ("b", "1")])
        c = make_node("c", labels={"zone": "1"})
        index.track([a, b, c])
        self.assertEqual(asked[-1], ("c", "1"))
        self.assertEqual(index.answering("1"), {id(a), id(c)})
        self.assertEqual(len(asked), 3)

    def test_least_recent_question_dropped(self):
        """Beyond its limit the index forgets the least recently asked question."""
        asked = []
        index = ViewIndex(ask=lambda node, q: asked.append(q) or False, questions=2)
        a = make_node("a")
        index.track([a])
        for question in ("q1", "q2", "q1", "q3"):
            index.answering(question)
        self.assertEqual(asked, ["q1", "q2", "q3"])
        index.answering("q1")
        index.answering("q2")
        self.assertEqual(asked, ["q1", "q2", "q3", "q2"])

    def test_failing_view_not_recorded(self):
        """When working out a view's keys fails, nothing of it is kept and it is tried again."""
        broken = [True]

        def keys_of(node):
            if broken[0]:
                raise ValueError("bad view")
            return [node.name]

        index = ViewIndex(keys_of=keys_of)
        a = make_node("a")
        self.assertRaises(ValueError, index.track, [a])
        self.assertEqual(len(index), 0)
        broken[0] = False
        index.track([a])
        self.assertEqual(index.having("a"), {id(a)})


# -- indexed filters against a direct check ---------------------------------------------


def direct_constraints(config, nodes, soft):
    kept = []
    for node in nodes:
        for c in config.constraints:
            if c.soft and not soft:
                continue
            if c.key == "node":
                values = (node.id, node.name)
            else:
                value = node.labels.get(c.key)
                values = () if value is None else (value,)
            if not c.matches(values):
                break
        else:
            kept.append(node)
    return kept


def direct_affinities(config, nodes, soft):
    kept = []
    for node in nodes:
        for a in config.affinities:
            if a.soft and not soft:
                continue
            if a.key == "container":
                values = node.container_refs
            elif a.key == "image":
                values = node.image_refs
            else:
                values = node.container_label_values(a.key)
            if not a.matches(values):
                break
        else:
            kept.append(node)
    return kept


def direct_ports(config, nodes, soft):
    requests = port_requests(config)
    blocked = {node.ip for node in nodes
               if any(all(node.port_taken(protocol, port, address) for port in ports)
                      for _, protocol, ports, address in requests)}
    return [node for node in nodes if node.ip not in blocked]


NAMES = ["web", "db", "cache"]
IMAGES = ["busybox", "redis:7", "nginx:1.25"]
PORTS = ["8080", "8081", "9000-9001"]

containers = st.builds(
    lambda name, image, port, team, running: inspect_container(
        name, image=image, labels={"team": team},
        ports={"80/tcp": port} if port else None, running=running),
    st.sampled_from(NAMES), st.sampled_from(IMAGES),
    st.sampled_from(["", "8080", "8081", "9000"]), st.sampled_from(["a", "b"]), st.booleans())

constraint_texts = st.sampled_from(
    ["zone==1", "zone!=1", "zone==~2", "zone==*", "node==n1", "node!=n2", "zone==/[12]/",
     "storage==ssd", "storage!=ssd"])
affinity_texts = st.sampled_from(
    ["container==web", "container!=db", "container==~cache", "image==redis:7",
     "image!=busybox", "image==nginx*", "team==a", "team!=b", "container==/we./"])

# A decision: replace node i with a new view (with one more container, or
# rebuilt with other labels), then run a request.
steps = st.lists(st.tuples(
    st.integers(0, 3), st.one_of(containers, st.sampled_from(["1", "2", "3"])),
    st.lists(constraint_texts, max_size=2), st.lists(affinity_texts, max_size=2),
    st.lists(st.sampled_from(PORTS), max_size=2), st.booleans()), min_size=1, max_size=12)


def fresh_nodes():
    return [make_node("n%d" % i, ip="10.0.0.%d" % (i // 2), labels={"zone": str(i % 3),
                      "storage": "ssd" if i % 2 else "hdd"},
                      images=[image_summary(IMAGES[i % 3])]) for i in range(4)]


def request(constraints, affinities, ports):
    env = (["constraint:" + c for c in constraints] + ["affinity:" + a for a in affinities])
    bindings = {"%d/tcp" % (80 + i): [{"HostPort": port}] for i, port in enumerate(ports)}
    return ContainerConfig.from_create_body(
        {"Image": "busybox", "Env": env, "HostConfig": {"PortBindings": bindings}})


class IndexedFiltersTests(SynchronousTestCase):
    """
    Filters that remember views between decisions keep what a direct check keeps.
    """

    @settings(max_examples=150, deadline=None)
    @given(steps)
    def test_same_as_direct(self, decisions):
        """Over changing views and requests, indexed filters equal a node-by-node check."""
        filters = [(ConstraintFilter(), direct_constraints), (AffinityFilter(), direct_affinities),
                   (PortFilter(), direct_ports)]
        for indexed, _ in filters:
            # Few questions kept, so that forgetting is exercised too.
            indexed._index.questions = 2
        nodes = fresh_nodes()
        for i, change, constraints, affinities, ports, soft in decisions:
            if isinstance(change, str):
                old = nodes[i]
                nodes[i] = make_node(old.name, ip=old.ip, labels={"zone": change},
                                     containers=old.containers, images=old.images)
            else:
                nodes[i] = nodes[i].with_container(change)
            config = request(constraints, affinities, ports)
            for indexed, direct in filters:
                self.assertEqual([n.name for n in indexed.filter(config, nodes, soft)],
                                 [n.name for n in direct(config, nodes, soft)],
                                 (indexed.name, constraints, affinities, ports, soft))
