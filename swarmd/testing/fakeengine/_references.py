"""
Image references as Docker normalises them: C{busybox} is
C{docker.io/library/busybox:latest}, shown by its familiar name
C{busybox:latest}; C{127.0.0.1:5000/app:1} keeps its registry host.
"""

import re

from swarmd.testing.fakeengine._errors import bad_request

__all__ = ["DEFAULT_DOMAIN", "familiar", "familiar_name", "is_domain", "parse_reference",
           "repository_of"]

DEFAULT_DOMAIN = "docker.io"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_HEX = re.compile(r"^[0-9a-f]+$")


def is_domain(component):
    return "." in component or ":" in component or component == "localhost"


def parse_reference(reference):
    """
    Split and normalise an image reference.

    @return: C{(domain, path, tag, digest)}; C{tag} is L{None} when a digest
        is given and no tag, C{"latest"} when neither is.
    @raise FakeAPIError: 400 C{invalid reference format...} as dockerd.
    """
    name, _, digest = reference.partition("@")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.match(tag):
            raise bad_request("invalid reference format")
    first, sep, rest = name.partition("/")
    if sep and is_domain(first):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if not path:
        raise bad_request("invalid reference format")
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            if _COMPONENT.match(component.lower()):
                raise bad_request("invalid reference format: repository name must be lowercase")
            raise bad_request("invalid reference format")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = "library/" + path
    if digest and not re.match(r"^sha256:[0-9a-f]{64}$", digest):
        raise bad_request("invalid reference format")
    if tag is None and not digest:
        tag = "latest"
    return domain, path, tag, digest or None


def familiar_name(domain, path):
    """
    @return: the name Docker shows (C{busybox}, C{user/app},
        C{127.0.0.1:5000/app}).
    """
    if domain == DEFAULT_DOMAIN:
        if path.startswith("library/") and path.count("/") == 1:
            return path[len("library/"):]
        return path
    return domain + "/" + path


def familiar(reference):
    """
    @return: C{reference} normalised to its familiar C{name:tag} (or
        C{name@digest}).
    """
    domain, path, tag, digest = parse_reference(reference)
    name = familiar_name(domain, path)
    if tag is not None:
        return name + ":" + tag
    return name + "@" + digest


def repository_of(reference):
    """
    @return: the familiar repository name of a C{name:tag} or
        C{name@digest} (C{busybox:latest} -> C{busybox}).
    """
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name
