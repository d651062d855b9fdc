"""
L{ContainerConfig}: one container create request, parsed for placement.

Users give scheduling expressions as environment entries
(C{-e constraint:storage==ssd}, C{affinity:}, C{whitelist:}, C{reschedule:})
or as JSON-array labels (C{com.docker.swarm.constraints}, ...).  Parsing
moves the entries from C{Env} into the labels, so that the engine stores
them with the container (rescheduling reads them back from there).
"""

from __future__ import annotations

import copy
import json
from functools import cached_property

import attr

from swarmd.scheduler.errors import ExpressionError
from swarmd.scheduler.expressions import parse_expression, parse_expressions

__all__ = ["LABELS", "RESCHEDULE_POLICIES", "ContainerConfig"]

#: The label holding each kind of expression (and the reschedule policies),
#: keyed by the C{Env} prefix that feeds it.
LABELS = {
    "constraint": "com.docker.swarm.constraints",
    "affinity": "com.docker.swarm.affinities",
    "whitelist": "com.docker.swarm.whitelists",
    "reschedule": "com.docker.swarm.reschedule-policies",
}

#: The reschedule policies a container may have (at most one).
RESCHEDULE_POLICIES = ("off", "on-node-failure")


_SCALARS = (str, int, float, bool, type(None))


def _copy(value):
    """
    A deep copy of a JSON value (dicts, lists and scalars), several times
    quicker than C{copy.deepcopy}; anything else is deep-copied as usual.
    """
    if isinstance(value, dict):
        return {key: item if isinstance(item, _SCALARS) else _copy(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [item if isinstance(item, _SCALARS) else _copy(item) for item in value]
    if isinstance(value, _SCALARS):
        return value
    return copy.deepcopy(value)


def _label_list(labels, kind):
    """
    @return: the C{list} of strings in the label of C{kind}, empty when it
        is not set.
    @raise ExpressionError: when the label is not a JSON array of strings.
    """
    name = LABELS[kind]
    text = labels.get(name)
    if text is None or text == "":
        return []
    try:
        values = json.loads(text)
    except (TypeError, ValueError):
        values = None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ExpressionError("invalid label %s=%s: expected a JSON array of strings"
                              % (name, text))
    return values


def _resource(host_config, key):
    value = host_config.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExpressionError("invalid HostConfig.%s %r: expected an integer" % (key, value))
    if value < 0:
        raise ExpressionError("invalid HostConfig.%s %d: must not be negative" % (key, value))
    return value


def _check_reschedule(policies):
    if len(policies) > 1:
        raise ExpressionError("too many reschedule policies")
    for policy in policies:
        if policy not in RESCHEDULE_POLICIES:
            raise ExpressionError("invalid reschedule policy: %s" % (policy,))


@attr.s(eq=False)
class ContainerConfig:
    """
    A parsed create request.

    Build it with L{from_create_body}.

    @ivar body: the Docker create body, scheduling entries moved from C{Env}
        to labels, C{Labels} and C{HostConfig} always present (dicts).
    @ivar name: the requested container name, or L{None}.
    @ivar cpus: CPUs requested: C{HostConfig.CpuShares}, read as a number of
        CPUs (classic Swarm's meaning; see L{engine_body}).
    @ivar memory: bytes of memory requested (C{HostConfig.Memory}).
    @ivar constraints: a C{list} of L{Expression}s.
    @ivar affinities: a C{list} of L{Expression}s.
    @ivar whitelists: a C{list} of L{Expression}s.
    @ivar reschedule_policies: a C{list} of at most one policy name.
    """

    body: dict = attr.ib()
    name: str | None = attr.ib()
    cpus: int = attr.ib()
    memory: int = attr.ib()
    constraints: list = attr.ib()
    affinities: list = attr.ib()
    whitelists: list = attr.ib()
    reschedule_policies: list = attr.ib()

    @classmethod
    def from_create_body(cls, body, name=None):
        """
        Parse a create request.

        The body is copied, never changed.  C{Env} entries
        C{constraint:...}, C{affinity:...}, C{whitelist:...} and
        C{reschedule:...} are removed from C{Env} and appended to the JSON
        arrays in the C{com.docker.swarm.*} labels (after what the labels
        already hold).  A legacy top-level C{Memory} or C{CpuShares} is
        copied into C{HostConfig} when set.

        @param body: the JSON body of C{POST /containers/create}.
        @param name: the C{name} query argument, or L{None}.
        @return: a L{ContainerConfig}.
        @raise ExpressionError: naming the first bad expression, label,
            reschedule policy or resource value.
        """
        if not isinstance(body, dict):
            raise ExpressionError("the create body must be a JSON object")
        body = _copy(body)
        labels = body.get("Labels")
        if labels is None:
            labels = body["Labels"] = {}
        if not isinstance(labels, dict):
            raise ExpressionError("invalid Labels: expected a JSON object")
        env = body.get("Env")
        if env:
            if not isinstance(env, list):
                raise ExpressionError("invalid Env: expected a JSON array")
            found = {kind: [] for kind in LABELS}
            kept = []
            for entry in env:
                if not isinstance(entry, str):
                    kept.append(entry)
                    continue
                kind, colon, value = entry.partition(":")
                if colon and kind in found:
                    found[kind].append(value)
                else:
                    kept.append(entry)
            body["Env"] = kept
            for kind, values in found.items():
                if values:
                    labels[LABELS[kind]] = json.dumps(_label_list(labels, kind) + values,
                                                      separators=(",", ":"))
        host_config = body.get("HostConfig")
        if host_config is None:
            host_config = body["HostConfig"] = {}
        if not isinstance(host_config, dict):
            raise ExpressionError("invalid HostConfig: expected a JSON object")
        for key in ("Memory", "CpuShares"):
            if body.get(key):
                host_config[key] = body[key]
        return cls._parse(body, name)

    @classmethod
    def _parse(cls, body, name):
        labels = body["Labels"]
        policies = _label_list(labels, "reschedule")
        _check_reschedule(policies)
        return cls(
            body=body,
            name=name,
            cpus=_resource(body["HostConfig"], "CpuShares"),
            memory=_resource(body["HostConfig"], "Memory"),
            constraints=parse_expressions("constraint", _label_list(labels, "constraint")),
            affinities=parse_expressions("affinity", _label_list(labels, "affinity")),
            whitelists=parse_expressions("whitelist", _label_list(labels, "whitelist")),
            reschedule_policies=policies,
        )

    @property
    def image(self):
        """
        The C{Image} asked for (C{""} if none).
        """
        return self.body.get("Image") or ""

    @property
    def expressions(self):
        """
        Every constraint, affinity and whitelist expression.
        """
        return self.constraints + self.affinities + self.whitelists

    @cached_property
    def has_soft(self):
        """
        Whether any expression is soft.
        """
        return any(e.soft for e in self.expressions)

    @property
    def has_node_constraint(self):
        """
        Whether a hard constraint on C{node} pins the container (classic
        Swarm then never retries elsewhere with an image affinity).
        """
        return any(e.key == "node" and e.operator == "==" and not e.soft
                   for e in self.constraints)

    def engine_body(self, engine_cpus):
        """
        The body to send to the chosen engine: a copy of L{body} where the
        requested CPUs become CPU shares of that engine,
        C{ceil(cpus * 1024 / engine_cpus)}.

        @param engine_cpus: the engine's own CPU count (C{NCPU}).
        @return: a new C{dict}.
        """
        body = _copy(self.body)
        if self.cpus and engine_cpus and engine_cpus > 0:
            shares = -(-self.cpus * 1024 // engine_cpus)
            body["HostConfig"]["CpuShares"] = shares
            if "CpuShares" in body:
                body["CpuShares"] = shares
        return body

    def add_affinity(self, expression):
        """
        A copy with one more affinity, e.g. C{"image==busybox"}.

        @param expression: an affinity without the C{affinity:} prefix.
        @return: a new L{ContainerConfig}; this one is unchanged.
        @raise ExpressionError: when C{expression} is invalid.
        """
        parse_expression("affinity", expression)
        body = _copy(self.body)
        labels = body["Labels"]
        labels[LABELS["affinity"]] = json.dumps(
            _label_list(labels, "affinity") + [expression], separators=(",", ":"))
        return self._parse(body, self.name)
