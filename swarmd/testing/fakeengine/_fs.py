"""
The file system of a fake container, as dockerd 20.10 shows it through
C{/containers/{id}/archive} (stat, get, put), C{/export}, C{/changes},
C{/copy} and C{POST /commit}: its image's layers merged, the files dockerd
adds to every container (C{/.dockerenv}, C{/etc/hostname}...), the folders
its volumes are mounted on, and what it wrote itself (its read-write layer:
the container's C{files}, with the folders and modes of C{meta}).

Paths are absolute and normalised (C{/tmp/f}, the root is C{/}).
"""

import io
import posixpath
import tarfile

from swarmd.testing.fakeengine._archive import _header_error
from swarmd.testing.fakeengine._errors import FakeAPIError, bad_request, not_found, server_error
from swarmd.testing.fakeengine._layers import get_layer, tar_of_entries
from swarmd.testing.fakeengine._time import NANO, rfc3339

DIR = "dir"
FILE = "file"
LINK = "link"

#: Go's C{os.FileMode} bits, as C{X-Docker-Container-Path-Stat} gives them.
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_STICKY = 1 << 20

#: The files dockerd puts in every container (mount points of its own).
_RUNTIME_FILES = ("/.dockerenv", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf")
_RUNTIME_DIRS = ("/dev", "/proc", "/sys", "/etc")


class Entry:
    """
    One file, folder or symbolic link.

    @ivar kind: L{DIR}, L{FILE} or L{LINK}.
    @ivar mode: its permission bits (C{0o1777} for C{/tmp}).
    @ivar data: a file's content.
    @ivar mtime: its modification time, nanoseconds since the epoch.
    @ivar link: a link's target, as written in the link.
    """

    __slots__ = ("kind", "mode", "data", "mtime", "link")

    def __init__(self, kind, mode, data=b"", mtime=0, link=""):
        self.kind = kind
        self.mode = mode
        self.data = data
        self.mtime = mtime
        self.link = link

    def __repr__(self):
        return "<Entry %s %o>" % (self.kind, self.mode)


def normalize(path):
    """
    @return: C{path} absolute, without C{.}, C{..} or a trailing C{/}.
    """
    result = posixpath.normpath("/" + (path or ""))
    return "/" + result.lstrip("/")


def _parents(path):
    parent = posixpath.dirname(path)
    while parent != "/":
        yield parent
        parent = posixpath.dirname(parent)


_TREES: dict = {}


def layers_tree(diff_ids):
    """
    The files of a stack of layers, merged (whiteouts applied).

    @param diff_ids: C{DiffID}s, bottom first.
    @return: C{{path: Entry}} (shared: do not change it).
    """
    key = tuple(diff_ids)
    tree = _TREES.get(key)
    if tree is not None:
        return tree
    tree = {"/": Entry(DIR, 0o755)}
    for diff_id in diff_ids:
        layer = get_layer(diff_id)
        if layer is None:
            continue
        try:
            with tarfile.open(fileobj=io.BytesIO(layer.data), mode="r:") as archive:
                for member in archive.getmembers():
                    _add_member(tree, archive, member)
        except (tarfile.TarError, EOFError):
            continue
    _TREES[key] = tree
    return tree


def _add_member(tree, archive, member):
    path = normalize(member.name)
    if path == "/":
        return
    base = posixpath.basename(path)
    if base.startswith(".wh."):
        gone = posixpath.join(posixpath.dirname(path), base[4:])
        for other in [p for p in tree if p == gone or p.startswith(gone + "/")]:
            del tree[other]
        return
    for parent in _parents(path):
        if parent not in tree or tree[parent].kind != DIR:
            tree[parent] = Entry(DIR, 0o755)
    mtime = int(member.mtime) * NANO
    mode = member.mode & 0o7777
    if member.isdir():
        tree[path] = Entry(DIR, mode, mtime=mtime)
    elif member.issym():
        tree[path] = Entry(LINK, 0o777, mtime=mtime, link=member.linkname)
    elif member.isreg():
        tree[path] = Entry(FILE, mode, archive.extractfile(member).read(), mtime)


def image_tree(engine, container):
    """
    @return: the files of the container's image (shared: do not change it).
    """
    image = engine.images.get(container.image_id)
    return layers_tree(image.layers if image is not None else ())


def rw_layer(container):
    """
    What the container wrote: its C{files} (content) and C{meta} (folders,
    links, modes and times).

    @return: C{{path: Entry}}.
    """
    meta = container.meta or {}
    result = {}
    for path, entry in meta.items():
        if entry.kind != FILE:
            result[path] = entry
    for path, data in (container.files or {}).items():
        path = normalize(path)
        known = meta.get(path)
        mtime = known.mtime if known is not None else (container.started or container.created)
        result[path] = Entry(FILE, known.mode if known is not None else 0o644, data, mtime)
    return result


def container_tree(engine, container):
    """
    @return: the container's whole file system, C{{path: Entry}} (a new
        dict, entries shared).
    """
    tree = dict(image_tree(engine, container))
    created = container.created
    for path in _RUNTIME_DIRS:
        if path not in tree or tree[path].kind != DIR:
            tree[path] = Entry(DIR, 0o755, mtime=created)
    for path in _RUNTIME_FILES:
        tree[path] = Entry(FILE, 0o755, mtime=created)
    tree["/etc/mtab"] = Entry(LINK, 0o777, mtime=created, link="/proc/mounts")
    for path in mount_points(container):
        if path not in tree:
            tree[path] = Entry(DIR, 0o755, mtime=created)
    for path, entry in rw_layer(container).items():
        for parent in _parents(path):
            if parent not in tree or tree[parent].kind != DIR:
                tree[parent] = Entry(DIR, 0o755, mtime=entry.mtime)
        tree[path] = entry
    return tree


def mount_points(container):
    """
    @return: the folders its volumes and binds are mounted on.
    """
    points = [normalize(destination) for _, destination in container.volumes]
    for bind in container.host_config.get("Binds") or []:
        parts = bind.split(":")
        if len(parts) >= 2:
            points.append(normalize(parts[1]))
    return sorted(set(points))


def changes(engine, container):
    """
    C{GET /containers/{id}/changes}: what its read-write layer holds,
    compared with its image.

    @return: C{[{"Path": ..., "Kind": 0 (changed) or 1 (added)}]} sorted
        by path, or L{None} when nothing changed (as dockerd).
    """
    base = image_tree(engine, container)
    paths = set(rw_layer(container))
    paths.update(p for p in mount_points(container) if p not in base)
    for path in list(paths):
        paths.update(_parents(path))
    if not paths:
        return None
    return [{"Kind": 0 if path in base else 1, "Path": path}
            for path in sorted(paths, key=lambda p: p.split("/"))]


def _resolve_link(path, link):
    if link.startswith("/"):
        return normalize(link)
    return normalize(posixpath.join(posixpath.dirname(path), link))


def find(tree, path, ref):
    """
    Look a path up as dockerd's C{lstat} does for the archive routes.

    @param ref: the container reference the client gave (for messages).
    @return: C{(normalised path, name shown, Entry)}.
    @raise FakeAPIError: 404 missing, 500 a trailing C{/} on a non-folder.
    """
    wanted = normalize(path)
    entry = tree.get(wanted)
    if entry is None:
        raise not_found("Could not find the file %s in container %s" % (path, ref))
    if path.endswith("/") and entry.kind != DIR and wanted != "/":
        raise server_error("lstat /var/lib/docker/overlay2/%s/merged%s: not a directory"
                           % ("0" * 64, path))
    trimmed = path.rstrip("/")
    name = posixpath.basename(trimmed) if trimmed else "/"
    return wanted, name, entry


def stat(tree, path, ref):
    """
    The C{X-Docker-Container-Path-Stat} of a path (before base64).

    @return: C{{"name", "size", "mode", "mtime", "linkTarget"}}.
    """
    wanted, name, entry = find(tree, path, ref)
    mode = entry.mode
    if entry.kind == DIR:
        size = 4096
        mode = (mode & 0o777) | MODE_DIR | (MODE_STICKY if mode & 0o1000 else 0)
    elif entry.kind == LINK:
        size = len(entry.link)
        mode = (mode & 0o777) | MODE_SYMLINK
    else:
        size = len(entry.data)
        mode &= 0o777
    return {"name": name, "size": size, "mode": mode, "mtime": rfc3339(entry.mtime),
            "linkTarget": _resolve_link(wanted, entry.link) if entry.kind == LINK else ""}


def _tar_entry(name, entry):
    return (name, entry.kind, entry.mode, entry.data, entry.mtime // NANO, entry.link)


def _children(tree, folder):
    prefix = folder.rstrip("/") + "/"
    found = [p for p in tree if p.startswith(prefix) and p != folder]
    return sorted(found, key=lambda p: p.split("/"))


def archive(tree, path, ref, contents_only=False):
    """
    The tar of C{GET /containers/{id}/archive?path=...}: the path itself
    named by its base name (C{.} for C{dir/.}), a folder with everything
    under it.

    @param contents_only: name a folder's entries relative to it, without
        the folder itself (the old C{/copy} route).
    @return: the tar's C{bytes}.
    """
    wanted, name, entry = find(tree, path, ref)
    if name == "/":
        name = "."
    if entry.kind != DIR:
        return tar_of_entries([_tar_entry(name, entry)])
    entries = [] if contents_only else [_tar_entry(name, entry)]
    for child in _children(tree, wanted):
        relative = child[len(wanted.rstrip("/")) + 1:]
        shown = relative if contents_only else name + "/" + relative
        entries.append(_tar_entry(shown, tree[child]))
    return tar_of_entries(entries)


def export(tree):
    """
    The tar of C{GET /containers/{id}/export}: every entry, named without a
    leading C{/}, in the order a walk of the tree meets them.
    """
    return tar_of_entries([_tar_entry(path[1:], tree[path]) for path in _children(tree, "/")])


def commit_layer(container):
    """
    The layer a commit of the container adds: its read-write layer (and the
    folders its volumes are mounted on, which dockerd creates in it).

    @return: the tar's C{bytes}.
    """
    layer = rw_layer(container)
    paths = set(layer)
    for path in list(paths):
        paths.update(_parents(path))
    entries = []
    for path in sorted(paths, key=lambda p: p.split("/")):
        entry = layer.get(path) or Entry(DIR, 0o755)
        entries.append(_tar_entry(path[1:], entry))
    return tar_of_entries(entries)


_UNTAR_FAILED = "Error processing tar file(exit status 1): "


def extract(tree, container, path, data, ref, now_ns):
    """
    C{PUT /containers/{id}/archive?path=...}: unpack a tar into a folder of
    the container (its read-write layer).

    @param tree: the container's L{container_tree}.
    @raise FakeAPIError: 404 missing folder, 500 not a folder or a tar
        dockerd's untar refuses, with dockerd's messages.
    """
    wanted, _, entry = find(tree, path, ref)
    if entry.kind != DIR:
        raise server_error("extraction point is not a directory")
    if not data:
        return
    source = io.BytesIO(data)
    unreadable = _header_error(source)
    if unreadable is not None:
        raise server_error(unreadable)
    try:
        with tarfile.open(fileobj=source, mode="r:") as archive:
            members = archive.getmembers()
            contents = {m.name: archive.extractfile(m).read() for m in members if m.isreg()}
    except (tarfile.TarError, EOFError):
        raise server_error(_UNTAR_FAILED + "unexpected EOF") from None
    files = container.files = container.files or {}
    meta = container.meta = container.meta or {}
    view = dict(tree)
    for member in members:
        target = normalize(posixpath.join(wanted, member.name))
        if target == wanted:
            continue
        for parent in reversed(list(_parents(target))):
            known = view.get(parent)
            if known is None:
                view[parent] = meta[parent] = Entry(DIR, 0o755, mtime=now_ns)
            elif known.kind != DIR:
                raise server_error(_UNTAR_FAILED + "open %s: not a directory" % (target,))
        mtime = int(member.mtime) * NANO
        if member.isdir():
            view[target] = meta[target] = Entry(DIR, member.mode & 0o7777, mtime=mtime)
        elif member.issym():
            view[target] = meta[target] = Entry(LINK, 0o777, mtime=mtime, link=member.linkname)
            files.pop(target, None)
        elif member.isreg():
            content = contents[member.name]
            view[target] = meta[target] = Entry(FILE, member.mode & 0o7777, content, mtime)
            files[target] = content


def check_path(path):
    """
    @raise FakeAPIError: 400 for a missing C{path} argument, in dockerd's
        words (its missing space included).
    """
    if not path:
        raise bad_request("bad parameter: pathcannot be empty")


__all__ = ["DIR", "FILE", "LINK", "Entry", "FakeAPIError", "archive", "changes", "check_path",
           "commit_layer", "container_tree", "export", "extract", "find", "layers_tree",
           "mount_points", "normalize", "rw_layer", "stat"]
