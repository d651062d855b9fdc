"""
The conformance suites every L{IStrategy} and L{IFilter} provider must
pass, in a test module::

    class SpreadTests(make_istrategy_tests(lambda case: SpreadStrategy())):
        pass

The suites run each provider over L{swarmd.testing.nodes.sample_nodes} and
L{swarmd.testing.nodes.SAMPLE_BODIES}: a few engines (one unhealthy, one
full, two sharing a host IP) and create requests using every kind of
condition.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from swarmd.scheduler import (
    ContainerConfig,
    IFilter,
    IStrategy,
    SchedulerError,
)
from swarmd.testing.nodes import sample_configs, sample_nodes

__all__ = ["make_ifilter_tests", "make_istrategy_tests"]


def _names(nodes):
    return [n.name for n in nodes]


def _is_subsequence(part, whole):
    rest = iter(whole)
    return all(any(x is y for y in rest) for x in part)


# -- conformance suites ---------------------------------------------------------------


def make_ifilter_tests(fixture: Callable[[SynchronousTestCase], IFilter]):
    """
    Build the conformance suite of L{IFilter}.

    @param fixture: called with the running test case, returns the provider
        under test.
    @return: a L{SynchronousTestCase} subclass; subclass it in a test module
        to run it.
    """

    class IFilterTests(SynchronousTestCase):
        """
        Behaviour every L{IFilter} provider shows.
        """

        def setUp(self):
            self.filter = fixture(self)

        def cases(self):
            for what, config in sample_configs():
                for soft in (True, False):
                    yield what, config, soft

        def test_conforms_to_interface(self):
            """
            The provider provides IFilter.
            """
            self.assertTrue(verifyObject(IFilter, self.filter))

        def test_name(self):
            """
            The provider has a non-empty name.
            """
            self.assertIsInstance(self.filter.name, str)
            self.assertTrue(self.filter.name)

        def test_no_nodes(self):
            """
            Filtering no nodes gives an empty list, never an error.
            """
            for what, config, soft in self.cases():
                self.assertEqual(self.filter.filter(config, [], soft), [], what)

        def test_subsequence(self):
            """
            The result is a new list of some of the given nodes, in their order.
            """
            for what, config, soft in self.cases():
                nodes = sample_nodes()
                kept = self.filter.filter(config, nodes, soft)
                self.assertIsInstance(kept, list)
                self.assertIsNot(kept, nodes)
                self.assertTrue(_is_subsequence(kept, nodes), what)

        def test_inputs_unchanged(self):
            """
            Neither the node list, the nodes' data nor the request is changed.
            """
            for what, config, soft in self.cases():
                nodes = sample_nodes()
                before = [(n.name, copy.deepcopy(n.containers), dict(n.labels)) for n in nodes]
                body = copy.deepcopy(config.body)
                self.filter.filter(config, nodes, soft)
                self.filter.expressions(config)
                self.assertEqual(
                    [(n.name, n.containers, n.labels) for n in nodes], before, what)
                self.assertEqual(config.body, body, what)

        def test_soft_narrows(self):
            """
            Counting soft expressions never keeps a node that hard ones alone drop.
            """
            for what, config, _ in self.cases():
                nodes = sample_nodes()
                with_soft = set(_names(self.filter.filter(config, nodes, True)))
                without = set(_names(self.filter.filter(config, nodes, False)))
                self.assertTrue(with_soft <= without, what)

        def test_idempotent(self):
            """
            Filtering the kept nodes again keeps them all.
            """
            for what, config, soft in self.cases():
                kept = self.filter.filter(config, sample_nodes(), soft)
                self.assertEqual(_names(self.filter.filter(config, kept, soft)),
                                 _names(kept), what)

        def test_deterministic(self):
            """
            The same request over the same nodes gets the same answer.
            """
            for what, config, soft in self.cases():
                nodes = sample_nodes()
                self.assertEqual(_names(self.filter.filter(config, nodes, soft)),
                                 _names(self.filter.filter(config, nodes, soft)), what)

        def test_expressions(self):
            """
            expressions() gives a list of strings, the same each time.
            """
            for what, config, _ in self.cases():
                texts = self.filter.expressions(config)
                self.assertIsInstance(texts, list, what)
                self.assertTrue(all(isinstance(t, str) and t for t in texts), what)
                self.assertEqual(texts, self.filter.expressions(config), what)

    return IFilterTests


def make_istrategy_tests(fixture: Callable[[SynchronousTestCase], IStrategy]):
    """
    Build the conformance suite of L{IStrategy}.

    @param fixture: called with the running test case, returns the provider
        under test.
    @return: a L{SynchronousTestCase} subclass; subclass it in a test module
        to run it.
    """

    class IStrategyTests(SynchronousTestCase):
        """
        Behaviour every L{IStrategy} provider shows.
        """

        def setUp(self):
            self.strategy = fixture(self)

        def test_conforms_to_interface(self):
            """
            The provider provides IStrategy.
            """
            self.assertTrue(verifyObject(IStrategy, self.strategy))

        def test_name(self):
            """
            The provider has a non-empty name.
            """
            self.assertIsInstance(self.strategy.name, str)
            self.assertTrue(self.strategy.name)

        def test_no_nodes(self):
            """
            Ranking no nodes raises SchedulerError.
            """
            for _, config in sample_configs():
                self.assertRaises(SchedulerError, self.strategy.rank, config, [])

        def test_ranks_given_nodes(self):
            """
            The answer is a SchedulerError or a new non-empty list of given nodes, once each.
            """
            for what, config in sample_configs():
                nodes = sample_nodes()
                try:
                    ranked = self.strategy.rank(config, nodes)
                except SchedulerError:
                    continue
                self.assertIsInstance(ranked, list)
                self.assertIsNot(ranked, nodes)
                self.assertTrue(ranked, what)
                self.assertEqual(len({id(n) for n in ranked}), len(ranked), what)
                self.assertTrue(all(any(n is m for m in nodes) for n in ranked), what)

        def test_nothing_asked_everything_fits(self):
            """
            A request for no CPUs and no memory fits every node.
            """
            config = ContainerConfig.from_create_body({"Image": "busybox"})
            nodes = sample_nodes()
            self.assertEqual(sorted(_names(self.strategy.rank(config, nodes))),
                             sorted(_names(nodes)))

        def test_inputs_unchanged(self):
            """
            Neither the node list, the nodes' data nor the request is changed.
            """
            for what, config in sample_configs():
                nodes = sample_nodes()
                order = list(nodes)
                before = [copy.deepcopy(n.containers) for n in nodes]
                body = copy.deepcopy(config.body)
                try:
                    self.strategy.rank(config, nodes)
                except SchedulerError:
                    pass
                self.assertEqual(len(nodes), len(order), what)
                self.assertTrue(all(n is m for n, m in zip(nodes, order, strict=True)), what)
                self.assertEqual([n.containers for n in nodes], before, what)
                self.assertEqual(config.body, body, what)

    return IStrategyTests
