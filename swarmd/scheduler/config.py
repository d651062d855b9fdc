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
import re
from functools import cached_property

import attr

from swarmd.scheduler.errors import ExpressionError
from swarmd.scheduler.expressions import parse_expression, parse_expressions

__all__ = ["LABELS", "PINNED_VOLUMES", "RESCHEDULE_POLICIES", "ContainerConfig",
           "named_volumes"]

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


#: The top-level create body key through which
#: L{swarmd.api._networks_placement.pin_create_body} tells the scheduler
#: which volumes were given with a node prefix (C{-v n1/data:/d}): the
#: user chose their node, so they bring no volume dependency.  Removed by
#: L{ContainerConfig.from_create_body}; never sent to an engine.
PINNED_VOLUMES = "SwarmPinnedVolumes"

#: A volume name as Docker accepts it.
_VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")

_SCALARS = (str, int, float, bool, type(None))


def _local_driver(name):
    return name in (None, "", "local")


def named_volumes(body):
    """
    The named volumes of the local driver a create body mounts: sources of
    C{HostConfig.Binds} (C{name:/path[:mode]}) that are volume names, not
    paths, and C{HostConfig.Mounts} of type C{volume} with a C{Source}.

    @param body: a create body.
    @return: a C{list} of names, each once, in order.
    """
    host_config = body.get("HostConfig") if isinstance(body, dict) else None
    if not isinstance(host_config, dict):
        return []
    names = []
    binds = host_config.get("Binds")
    if isinstance(binds, list) and _local_driver(host_config.get("VolumeDriver")):
        for bind in binds:
            if isinstance(bind, str):
                source, sep, _ = bind.partition(":")
                if sep and _VOLUME_NAME.match(source):
                    names.append(source)
    mounts = host_config.get("Mounts")
    if isinstance(mounts, list):
        for mount in mounts:
            if not isinstance(mount, dict) or (mount.get("Type") or "volume") != "volume":
                continue
            options = mount.get("VolumeOptions")
            driver = options.get("DriverConfig") if isinstance(options, dict) else None
            if isinstance(driver, dict) and not _local_driver(driver.get("Name")):
                continue
            mounted = mount.get("Source")
            if isinstance(mounted, str) and _VOLUME_NAME.match(mounted):
                names.append(mounted)
    return list(dict.fromkeys(names))


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
    except (TypeError, ValueError) as e:
        raise ExpressionError(_label_error(name, text, e)) from None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ExpressionError("invalid label %s=%s: expected a JSON array of strings"
                              % (name, text))
    return values


def _label_error(name, text, error):
    """
    The message for a label that is not JSON: its text, where it fails,
    and the usual cause.  (Classic Swarm ignored such a label silently and
    placed the container anywhere; the manager refuses it.)
    """
    message = "invalid label %s=%s: expected a JSON array of strings" % (name, text)
    position = getattr(error, "pos", None)
    if not isinstance(text, str) or position is None:
        return message
    why = getattr(error, "msg", "not JSON")
    message += ", %s%s at character %d (%s)" % (
        why[:1].lower(), why[1:], position + 1,
        text[position:position + 12] or "the end of the text")
    if not text.lstrip().startswith("["):
        message += ". The label holds a JSON array, as in %s=%s" % (name, json.dumps([text]))
    elif text[position:position + 1] == "\\":
        fixed = text[:position] + text[position + 1:]
        message += (". A shell left a backslash before %s (bash keeps it inside double"
                    " quotes): quote the label with single quotes, as in --label '%s=%s'"
                    % (text[position + 1:position + 2], name, fixed.replace("\\!", "!")))
    return message


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
    @ivar pinned_volumes: the C{frozenset} of volume names the request gave
        with a node prefix (see L{PINNED_VOLUMES}).
    @ivar volume_nodes: where the named volumes that only some nodes hold
        are: a C{dict} of volume name to C{(node IDs, node names)} (a
        C{frozenset} and a sorted C{tuple}); L{None} until
        L{locate_volumes} looked.
    """

    body: dict = attr.ib()
    name: str | None = attr.ib()
    cpus: int = attr.ib()
    memory: int = attr.ib()
    constraints: list = attr.ib()
    affinities: list = attr.ib()
    whitelists: list = attr.ib()
    reschedule_policies: list = attr.ib()
    pinned_volumes: frozenset = attr.ib(default=frozenset())
    volume_nodes: dict | None = attr.ib(default=None)

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
        pinned = body.pop(PINNED_VOLUMES, None) or ()
        labels = body.get("Labels")
        if labels is None:
            labels = body["Labels"] = {}
        if not isinstance(labels, dict):
            raise ExpressionError("invalid Labels: expected a JSON object")
        env = body.get("Env")
        if env:
            if not isinstance(env, list):
                raise ExpressionError("invalid Env: expected a JSON array")
            found: dict[str, list[str]] = {kind: [] for kind in LABELS}
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
        config = cls._parse(body, name)
        if pinned:
            config.pinned_volumes = frozenset(v for v in pinned if isinstance(v, str))
        return config

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

    @property
    def volumes(self):
        """
        The named volumes of the local driver the container mounts without
        a node prefix: the ones it depends on where they exist.
        """
        return [name for name in named_volumes(self.body) if name not in self.pinned_volumes]

    def locate_volumes(self, nodes):
        """
        Find the nodes holding the volumes the container mounts.

        A volume some of C{nodes} hold, but not all, ties the container to
        them (a new, empty volume would be made anywhere else); a volume no
        node holds is made by the engine wherever the container goes.

        @param nodes: every L{swarmd.scheduler.Node} of the decision
            (unhealthy ones too: a volume on a node that is down is still
            there).
        @return: a L{ContainerConfig} whose L{volume_nodes} says where they
            are (this one when there is nothing to say).
        """
        wanted = self.volumes
        if not wanted:
            return self
        found = {}
        for name in wanted:
            holders = [node for node in nodes if name in node.volume_names]
            if holders and len(holders) < len(nodes):
                found[name] = (frozenset(node.id for node in holders),
                               tuple(sorted(node.name for node in holders)))
        if found == self.volume_nodes:
            return self
        return attr.evolve(self, volume_nodes=found)

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
        return attr.evolve(self._parse(body, self.name), pinned_volumes=self.pinned_volumes)
