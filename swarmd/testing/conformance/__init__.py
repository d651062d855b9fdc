"""
Conformance suites: each builds a test case every provider of one
interface must pass, run against the in-memory double in unit tests and
against the real thing in functional tests (flocker's C{testtools}).

  - L{swarmd.testing.conformance.engine.make_iengine_tests}: C{IEngineClient}
    (a real dockerd, L{swarmd.testing.fakeengine});
  - L{swarmd.testing.conformance.discovery.make_idiscovery_tests}:
    C{IDiscovery} (every backend, L{swarmd.testing.fakediscovery});
  - L{swarmd.testing.conformance.scheduler.make_ifilter_tests} and
    C{make_istrategy_tests}: the scheduler's C{IFilter} and C{IStrategy}.

The suite of the HA stores lives with its fake in L{swarmd.testing.ha}.
"""
