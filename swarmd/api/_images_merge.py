"""
Pure functions behind the image routes: filtering and merging the engines'
image lists, merging fan-out answers (delete, prune), rewriting progress
messages with node names, and the build arguments that steer placement.
"""

import json

from swarmd.api.errors import DockerError, bad_request
from swarmd.api.listfilters import labels_match
from swarmd.references import NONE_DIGEST, NONE_TAG, reference_matches

#: The filters C{GET /images/json} accepts (C{node} is the cluster's own).
IMAGE_FILTERS = frozenset(["dangling", "label", "reference", "before", "since", "node"])

#: Build argument prefixes that steer placement instead of reaching the build.
SCHEDULING_KINDS = ("constraint", "affinity", "whitelist", "reschedule")


# -- GET /images/json -----------------------------------------------------------------


def check_image_filters(filters):
    """
    Refuse filter values an engine refuses.

    @param filters: parsed filters (name to C{list} of values).
    @raise DockerError: 400 for a C{dangling} value other than C{true} or
        C{false}.
    """
    for value in filters.get("dangling", []):
        if value.lower() not in ("true", "false", "1", "0"):
            raise bad_request("Invalid filter 'dangling=%s'" % (value,))


def _dangling_wanted(filters):
    values = {v.lower() for v in filters.get("dangling", [])}
    if not values:
        return None
    return bool(values & {"true", "1"})


def filter_image(image, filters, before=None, since=None):
    """
    Apply the filters of C{GET /images/json} to one engine's entry, as
    dockerd does: the C{reference} filter also narrows the listed tags and
    digests to the matching ones.

    @param filters: parsed filters (C{node} is not applied here).
    @param before: the C{Created} of the C{before} image, or L{None}.
    @param since: the C{Created} of the C{since} image, or L{None}.
    @return: the entry to list (a copy), or L{None} to leave it out.
    """
    created = image.get("Created") or 0
    if before is not None and not created < before:
        return None
    if since is not None and not created > since:
        return None
    if filters.get("label") and not labels_match(filters["label"], image.get("Labels") or {}):
        return None
    tags = [t for t in image.get("RepoTags") or [] if t != NONE_TAG]
    digests = [d for d in image.get("RepoDigests") or [] if d != NONE_DIGEST]
    patterns = filters.get("reference")
    if patterns:
        tags = [t for t in tags if any(reference_matches(p, t) for p in patterns)]
        digests = [d for d in digests if any(reference_matches(p, d) for p in patterns)]
        if not tags and not digests:
            return None
    dangling = _dangling_wanted(filters)
    if dangling is True and tags:
        return None
    if dangling is False and not tags and not digests:
        return None
    entry = dict(image)
    if not tags and not digests:
        entry["RepoTags"], entry["RepoDigests"] = [NONE_TAG], [NONE_DIGEST]
    else:
        entry["RepoTags"], entry["RepoDigests"] = tags, digests
    return entry


def _unique(values, placeholder):
    seen, kept = set(), []
    for value in values:
        if value not in seen:
            seen.add(value)
            kept.append(value)
    real = [v for v in kept if v != placeholder]
    if real:
        return real
    return kept


def merge_images(entries):
    """
    One list from every engine's entries: grouped by image ID, the tags and
    digests of every engine that holds it merged (placeholders dropped when
    a real one exists), newest first.

    @param entries: C{(node name, entry)} pairs, already filtered.
    @return: a C{list} of entries.
    """
    groups: dict = {}
    for _, image in entries:
        image_id = image.get("Id") or ""
        merged = groups.get(image_id)
        if merged is None:
            merged = groups[image_id] = dict(image)
            merged["RepoTags"] = list(image.get("RepoTags") or [])
            merged["RepoDigests"] = list(image.get("RepoDigests") or [])
            continue
        merged["RepoTags"].extend(image.get("RepoTags") or [])
        merged["RepoDigests"].extend(image.get("RepoDigests") or [])
    answer = []
    for merged in groups.values():
        merged["RepoTags"] = _unique(merged["RepoTags"], NONE_TAG)
        merged["RepoDigests"] = _unique(merged["RepoDigests"], NONE_DIGEST)
        answer.append(merged)
    answer.sort(key=lambda i: (-(i.get("Created") or 0), i.get("Id") or ""))
    return answer


# -- docker save of several images -------------------------------------------------------

#: Classic Swarm's answer (404) when no healthy engine holds every image a
#: save names; its list of names follows, as Go prints a C{[]string}.
NO_ENGINE_WITH_ALL = "Unable to find a healthy engine containing all images"

#: How many nodes a line of L{missing_images} names.
SHOWN_NODES = 5


def missing_images(references, lacking):
    """
    The message of a save no single healthy node can answer: classic
    Swarm's line, then which images each node lacks (nodes lacking the same
    ones grouped, at most L{SHOWN_NODES} named a line).

    @param references: the names asked for, in order.
    @param lacking: C{(node name, [names it lacks])} for each healthy node.
    @return: the text.
    """
    lines = ["%s: [%s]" % (NO_ENGINE_WITH_ALL, " ".join(references))]
    groups: dict = {}
    for node, missing in sorted(lacking):
        groups.setdefault(tuple(missing), []).append(node)
    for missing, nodes in groups.items():
        shown = ", ".join(nodes[:SHOWN_NODES])
        if len(nodes) > SHOWN_NODES:
            shown += " and %d more" % (len(nodes) - SHOWN_NODES,)
        lines.append("%s lack%s %s" % (shown, "s" if len(nodes) == 1 else "",
                                       ", ".join(missing)))
    return "\n".join(lines)


# -- fan-out answers ------------------------------------------------------------------


def merge_deletes(answers):
    """
    The answers of C{DELETE /images/NAME} on several engines as one: every
    C{Untagged}/C{Deleted} item once, in order.
    """
    merged, seen = [], set()
    for answer in answers:
        for item in answer or []:
            key = json.dumps(item, sort_keys=True)
            if key not in seen:
                seen.add(key)
                merged.append(item)
    return merged


def merge_prunes(answers):
    """
    The answers of C{POST /images/prune} on several engines as one:
    C{ImagesDeleted} concatenated (each item once; L{None} when nothing
    went), C{SpaceReclaimed} summed.
    """
    deleted = merge_deletes([(a or {}).get("ImagesDeleted") for a in answers])
    space = sum(int((a or {}).get("SpaceReclaimed") or 0) for a in answers)
    return {"ImagesDeleted": deleted or None, "SpaceReclaimed": space}


def failure_error(failures):
    """
    One error for the engines that failed a fan-out.

    @param failures: C{(node name, status, message)} triples.
    @return: a L{DockerError}: the status they share (500 when they differ),
        every node's message as C{"node: message"} in node order, joined by
        C{"; "}.
    """
    statuses = {status for _, status, _ in failures}
    status = statuses.pop() if len(statuses) == 1 else 500
    return DockerError(status, "; ".join("%s: %s" % (node, message)
                                         for node, _, message in sorted(failures)))


# -- progress streams -------------------------------------------------------------------


def prefix_lines(text, node):
    """
    C{"node: "} before every line of C{text}.
    """
    lines = text.split("\n")
    ending = lines[-1] == ""
    if ending:
        lines = lines[:-1]
    return "\n".join("%s: %s" % (node, line) for line in lines) + ("\n" if ending else "")


def message_error(message):
    """
    @return: the error text of a progress message, or L{None}.
    """
    if not isinstance(message, dict):
        return None
    detail = message.get("errorDetail")
    if message.get("error"):
        return str(message["error"])
    if isinstance(detail, dict) and detail.get("message"):
        return str(detail["message"])
    return None


def node_message(message, node):
    """
    Rewrite one engine's progress message so that, merged with the other
    engines' messages, the docker CLI shows one line per node: the node
    name becomes the C{id} (the layer it was about moves into the status)
    and every such message carries a C{progressDetail}.  C{stream} text is
    prefixed by the node name line by line; C{aux} messages pass as they are.

    @return: the message to send.
    """
    if not isinstance(message, dict):
        return {"id": node, "status": str(message), "progressDetail": {}}
    if isinstance(message.get("stream"), str):
        out = dict(message)
        out["stream"] = prefix_lines(message["stream"], node)
        return out
    if "aux" in message:
        return message
    out = {k: v for k, v in message.items() if k != "id"}
    status = str(message.get("status") or "")
    inner = message.get("id")
    out["status"] = "%s: %s" % (inner, status) if inner else status
    out["id"] = node
    if not isinstance(out.get("progressDetail"), dict):
        out["progressDetail"] = {}
    return out


def node_failed(node, error):
    """
    The status line naming a node's failure in a merged stream.
    """
    return {"id": node, "status": "error: %s" % (error,), "progressDetail": {}}


def error_message(text):
    """
    @return: a stream's final error message (the CLI exits with it).
    """
    return {"errorDetail": {"message": text}, "error": text}


def encode(message):
    """
    @return: one message as dockerd writes it (JSON, then CRLF).
    """
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\r\n"


# -- build ----------------------------------------------------------------------------


def parse_build_args(text):
    """
    Decode the C{buildargs} query value.

    @return: a C{dict} of name to value (L{None}: no value).
    @raise DockerError: 400 if it is not a JSON object of strings.
    """
    if not text:
        return {}
    try:
        args = json.loads(text)
    except ValueError as e:
        raise bad_request("invalid buildargs: %s" % (e,)) from None
    if args is None:
        return {}
    if not isinstance(args, dict) or not all(
            isinstance(v, str) or v is None for v in args.values()):
        raise bad_request("invalid buildargs: expected a JSON object of strings")
    return args


def build_env(args):
    """
    Build arguments as classic Swarm turns them into a container's C{Env}
    (C{KEY=VALUE}, or C{KEY} alone): C{--build-arg constraint:node==n2}
    arrives as C{{"constraint:node": "=n2"}} and becomes
    C{constraint:node==n2}.
    """
    return [k if v is None else "%s=%s" % (k, v) for k, v in args.items()]


def forwarded_build_args(args, kept_env):
    """
    The build arguments left once the scheduling entries went.

    @param kept_env: the C{Env} the placement config kept.
    """
    kept = set(kept_env)
    return {k: v for k, v in args.items() if (k if v is None else "%s=%s" % (k, v)) in kept}
