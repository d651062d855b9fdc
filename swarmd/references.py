"""
Image references as Docker reads them, matched against the entries of an
engine's C{/images/json} list (the manager's cache).

Engines show references by their I{familiar} name: C{busybox:latest} for
C{docker.io/library/busybox:latest}, C{127.0.0.1:5000/app:1} as is.
"""

import re

from swarmd.regex import RegexError, compile_regex, escape

_HEX = re.compile(r"(sha256:)?[0-9a-f]+\Z")

#: The placeholders an engine lists for an image without tags or digests.
NONE_TAG = "<none>:<none>"
NONE_DIGEST = "<none>@<none>"


def familiar(reference):
    """
    The familiar form of a reference: C{docker.io/library/} and
    C{docker.io/} dropped, as engines list names.
    """
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/",
                   "index.docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix):]
    if reference.startswith("library/"):
        return reference[len("library/"):]
    return reference


def split_reference(reference):
    """
    @return: C{(name, tag, digest)} of a familiar reference; C{tag} and
        C{digest} are L{None} when absent.
    """
    name, _, digest = reference.partition("@")
    tag = None
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest or None


def repository(reference):
    """
    @return: the repository part of a reference (C{busybox} of
        C{busybox:latest}, C{127.0.0.1:5000/app} of
        C{127.0.0.1:5000/app@sha256:...}).
    """
    return split_reference(familiar(reference))[0]


def _id_match(image_id, reference):
    if not _HEX.match(reference):
        return False
    if reference.startswith("sha256:"):
        return image_id.startswith(reference) and len(reference) > len("sha256:")
    return image_id.startswith("sha256:" + reference) or image_id == reference


def image_matches(image, reference):
    """
    Whether an C{/images/json} entry is what C{reference} names, as an
    engine resolves it: C{name} (meaning C{name:latest}), C{name:tag},
    C{name@digest}, the image ID or a prefix of it.
    """
    if not reference:
        return False
    if _id_match(image.get("Id") or "", reference):
        return True
    wanted = familiar(reference)
    name, tag, digest = split_reference(wanted)
    if digest is not None:
        return "%s@%s" % (name, digest) in (image.get("RepoDigests") or [])
    return "%s:%s" % (name, tag or "latest") in (image.get("RepoTags") or [])


def repository_matches(image, reference):
    """
    Like L{image_matches}, but a reference without tag or digest names
    every tag of its repository (what C{docker save NAME} and C{docker push
    NAME} take).
    """
    name, tag, digest = split_reference(familiar(reference))
    if tag is not None or digest is not None:
        return image_matches(image, reference)
    if _id_match(image.get("Id") or "", reference):
        return True
    return any(repository(t) == name for t in image.get("RepoTags") or [] if t != NONE_TAG)


def path_match(pattern, text):
    """
    Go's C{path.Match}: C{*} matches any run of characters but C{/}, C{?}
    one character but C{/}, C{[...]} a class (C{^} negates it), C{\\}
    escapes.  A malformed pattern matches nothing.  The pattern is the
    user's (an image list's C{reference} filter): it is matched by RE2, in
    linear time (C{*a*a*a...} backtracks on Python's C{re}).
    """
    regex = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            regex.append("[^/]*")
        elif char == "?":
            regex.append("[^/]")
        elif char == "\\" and i + 1 < n:
            i += 1
            regex.append(escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("^", "]") else i + 1)
            if end < 0:
                return False
            body = pattern[i + 1:end]
            negate = body.startswith("^")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\")
            regex.append("[%s%s]" % ("^/" if negate else "", body))
            i = end
        else:
            regex.append(escape(char))
        i += 1
    try:
        compiled = compile_regex("(?s:^%s$)" % ("".join(regex),))
    except RegexError:
        return False
    return compiled(text)


def reference_matches(pattern, reference):
    """
    Docker's C{reference} filter for one listed reference
    (C{reference.FamiliarMatch}): the pattern against the whole familiar
    reference, else against its repository name.
    """
    if path_match(pattern, reference):
        return True
    return path_match(pattern, repository(reference))
