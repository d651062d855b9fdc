"""
What the manager measures: every metric's name, type, labels and meaning
(L{METRICS}), the label values and histogram buckets they use, and the
reference page written from them (L{reference}, C{docs/metrics.md}).
"""

from __future__ import annotations

__all__ = ["METRICS", "meaning", "reference"]

#: Container states as Docker names them (anything else counts as
#: C{unknown}, so an engine cannot make up label values).
CONTAINER_STATES = frozenset(["created", "restarting", "running", "removing", "paused",
                              "exited", "dead"])

#: Event types as Docker names them (others count as C{other}).
EVENT_TYPES = frozenset(["container", "image", "network", "volume", "daemon", "plugin",
                         "service", "node", "secret", "config", "builder", "swarm"])

#: HTTP methods counted by name (others count as C{other}).
METHODS = frozenset(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])

#: The route label of a request no route matched (a 404, a request refused
#: before routing, one a replica tunnelled to the primary).
UNMATCHED = "unmatched"

#: Engine states (L{swarmd.cluster.engine}), each always reported.
ENGINE_STATES = ("Pending", "Healthy", "Unhealthy", "Disconnected")

#: Buckets of the API latency histogram, in seconds: the cache answers in
#: well under a millisecond, creates and proxied calls take up to seconds.
API_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
               5.0, 10.0, 30.0)

#: Buckets of the scheduling latency histogram, in seconds (a decision over
#: 1,000 nodes takes a few milliseconds).
SCHEDULING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                      0.25, 1.0)

#: Buckets of the engine refresh histogram, in seconds.
REFRESH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: Every metric: C{(name as exposed, type, labels, meaning)}.  Counters
#: are exposed with C{_total}, histograms as C{_bucket}, C{_sum} and
#: C{_count} series.
METRICS = (
    ("swarm_engines", "gauge", ("state",),
     "Engines discovery names, by state (Pending, Healthy, Unhealthy, Disconnected)."),
    ("swarm_containers", "gauge", ("node", "state"),
     "Containers the manager caches, by node and Docker state (created, running, paused, "
     "restarting, removing, exited, dead; unknown for anything else). Series of zero are "
     "left out."),
    ("swarm_node_cpus", "gauge", ("node",),
     "CPUs of a node the scheduler may reserve (overcommit applied), as docker info shows."),
    ("swarm_node_cpus_reserved", "gauge", ("node",),
     "CPUs reserved on a node by its containers (CPU shares turned back into CPUs)."),
    ("swarm_node_memory_bytes", "gauge", ("node",),
     "Memory of a node the scheduler may reserve (overcommit applied), in bytes."),
    ("swarm_node_memory_reserved_bytes", "gauge", ("node",),
     "Memory reserved on a node by its containers' limits, in bytes."),
    ("swarm_scheduling_decisions_total", "counter", ("outcome",),
     "Scheduling decisions by outcome: scheduled, no_healthy_node, no_matching_node, "
     "no_resources, error."),
    ("swarm_scheduling_duration_seconds", "histogram", ("outcome",),
     "Time the scheduler took to decide (filters and strategy), by outcome."),
    ("swarm_api_requests_total", "counter", ("route", "method", "code"),
     "API requests answered, by route template (e.g. /containers/{name}/json, the same with "
     "or without /vX.Y; unmatched when no route matched or a replica forwarded the request to "
     "the primary), method (other for unknown ones) and HTTP status."),
    ("swarm_api_request_duration_seconds", "histogram", ("route", "method"),
     "Time from a request's arrival to the end of its answer, by route template and method; "
     "streams (logs -f, events, attach) count until they end."),
    ("swarm_hijacked_sessions", "gauge", (),
     "Hijacked connections open (attach, exec start), in this process."),
    ("swarm_hijacked_sessions_opened_total", "counter", (),
     "Hijacked connections opened since the process started."),
    ("swarm_events_relayed_total", "counter", ("type",),
     "Events published to /events subscribers (engines' and the manager's own), by Docker "
     "event type (other for unknown ones)."),
    ("swarm_event_subscribers", "gauge", (),
     "Clients streaming /events now."),
    ("swarm_engine_errors_total", "counter", ("node", "kind"),
     "Failed calls to engines by node (its name, or its address before the first "
     "connection) and kind: unreachable (no answer) or error (an error answer to the "
     "manager's own bookkeeping)."),
    ("swarm_engine_refresh_duration_seconds", "histogram", ("outcome",),
     "Time of one run of an engine's refresh loop, by outcome (ok or failed)."),
    ("swarm_discovery_errors_total", "counter", (),
     "Errors of the discovery watch."),
    ("swarm_manager_primary", "gauge", (),
     "1 when this manager is the primary, 0 when a replica; only with --replication."),
)


def meaning(name):
    """
    The meaning of C{swarm_<name>} from L{METRICS}.
    """
    full = "swarm_" + name
    for exposed, _, _, meaning in METRICS:
        if exposed == full or exposed == full + "_total":
            return meaning
    raise KeyError(name)


def reference():
    """
    The metrics reference page (C{docs/metrics.md}), from L{METRICS}.

    @return: Markdown text.
    """
    lines = [
        "# Metrics reference",
        "",
        "<!-- Written by swarmd.metrics.reference(); tests/unit/test_metrics.py fails when",
        "     it differs from the registry or from this page. Regenerate with:",
        "     python -m swarmd.metrics > docs/metrics.md -->",
        "",
        "`swarm manage` serves its metrics in Prometheus's text format at `/metrics` on every",
        "API listener (`-H`, behind the same TLS), and, with `--metrics-addr host:port`, on a",
        "plain-HTTP listener of its own that serves nothing else (keep it on loopback or a",
        "private network). Each manager reports its own numbers: scrape every manager of a",
        "replicated set.",
        "",
        "Labels are bounded: `node` is a node's name (its address before it first",
        "connected), `route` a route template of the API, never a raw path; no label holds a",
        "container ID. Counts of containers and reserved resources are kept current as the",
        "manager's cache changes, so a scrape walks the engines, never the containers.",
        "",
        "Example scrape configuration:",
        "",
        "```yaml",
        "scrape_configs:",
        "  - job_name: swarm",
        "    static_configs:",
        "      - targets: ['127.0.0.1:9323']   # --metrics-addr 127.0.0.1:9323",
        "```",
        "",
        "| Metric | Type | Labels | Meaning |",
        "|---|---|---|---|",
    ]
    for name, kind, labels, meaning in METRICS:
        lines.append("| `%s` | %s | %s | %s |" % (
            name, kind, ", ".join("`%s`" % (label,) for label in labels) or "-", meaning))
    lines += [
        "",
        "Histograms are exposed as `<name>_bucket{le=...}`, `<name>_sum` and `<name>_count`",
        "(no `_created` series: they would double the series and Prometheus does not need",
        "them).",
        "",
    ]
    return "\n".join(lines)

