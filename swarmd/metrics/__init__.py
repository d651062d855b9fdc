"""
The manager's Prometheus metrics, written by C{prometheus-client}.

One L{ManagerMetrics} per manager, with a registry of its own (never the
client's global default: several managers in one process, tests among them,
do not mix their numbers).  What changes all the time is kept current as it
changes, so a scrape costs a walk over the engines, never over the
containers:

  - the cluster's L{ContainerIndex} reports every container it gains or
    loses (L{ManagerMetrics.container_indexed}); counts by node and state
    and the CPUs and memory containers reserve on each node follow it;
  - the cluster reports engine errors, refresh runs, discovery errors and
    relayed events (L{ClusterObserver}); L{TimedScheduler} counts and
    times each scheduling decision;
  - L{InstrumentedRoot} in front of the API counts requests by the route
    template the handler was found by (C{request.route_template}, set by
    both of the API's lanes), never by the raw path.

A scrape is read at once (L{ManagerMetrics.read}: the kept counts and one
walk over the engines) and formatted piece by piece between other requests
(L{ManagerMetrics.render_pieces}, run by a L{cooperator}).

L{METRICS} documents every metric; C{docs/metrics.md} is written from it
(L{reference}) and a test checks both against the registry.

The parts: C{_definitions} (what is measured), C{_observers} (what the
cluster and scheduler report), C{_manager} (the kept counts and the
reading of a scrape), C{_exposition} (the text format and the HTTP
resources serving it).
"""

from swarmd.metrics._definitions import METRICS, reference
from swarmd.metrics._exposition import InstrumentedRoot, MetricsPage, cooperator, metrics_site
from swarmd.metrics._manager import ManagerMetrics
from swarmd.metrics._observers import ClusterObserver, TimedScheduler

__all__ = ["METRICS", "ClusterObserver", "InstrumentedRoot", "ManagerMetrics", "MetricsPage",
           "TimedScheduler", "cooperator", "metrics_site", "reference"]
