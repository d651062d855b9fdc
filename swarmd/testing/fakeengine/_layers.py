"""
The layers of fake images: uncompressed tar archives, content-addressed by
their C{DiffID} (the sha256 of the tar, as dockerd computes it for an
import or a load), kept once per process whichever fake engine holds them,
so a thousand engines sharing C{busybox} share one copy.

A layer's C{size} is what dockerd reports for it (the bytes of the files
it holds), not the length of its tar.
"""

import hashlib
import io
import tarfile

__all__ = ["Layer", "add_layer", "chain_ids", "digest", "files_size", "get_layer", "tar_of",
           "tar_of_entries"]


class Layer:
    """
    One layer.

    @ivar diff_id: C{sha256:...} of its tar.
    @ivar data: the tar.
    @ivar size: its size as dockerd reports it.
    """

    __slots__ = ("diff_id", "data", "size")

    def __init__(self, diff_id, data, size):
        self.diff_id = diff_id
        self.data = data
        self.size = size


_LAYERS: dict = {}


def digest(data):
    """
    @param data: C{bytes} (or C{str}, encoded as UTF-8).
    @return: C{sha256:} and its hex digest.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def files_size(data):
    """
    @return: the bytes of the regular files of a tar (0 if it is no tar).
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            return sum(m.size for m in archive.getmembers() if m.isreg())
    except (tarfile.TarError, EOFError):
        return 0


def add_layer(data, size=None):
    """
    Keep a layer (once: the same tar is the same layer).

    @param data: an uncompressed tar.
    @param size: its reported size; by default the size of its files.
    @return: the L{Layer}.
    """
    diff_id = digest(data)
    found = _LAYERS.get(diff_id)
    if found is None:
        found = _LAYERS[diff_id] = Layer(diff_id, data,
                                         files_size(data) if size is None else size)
    return found


def get_layer(diff_id):
    """
    @return: the L{Layer} of C{diff_id}, or L{None}.
    """
    return _LAYERS.get(diff_id)


def tar_of(files, mtime=0):
    """
    A small tar as dockerd writes a layer: the entries, then the two empty
    blocks that end an archive (no padding to a whole record).

    @param files: C{{path: bytes}}, in order.
    @return: the tar's C{bytes}.
    """
    out = io.BytesIO()
    archive = tarfile.TarFile(fileobj=out, mode="w", format=tarfile.GNU_FORMAT)
    for path, content in files.items():
        info = tarfile.TarInfo(path)
        info.size = len(content)
        info.mode = 0o644
        info.mtime = mtime
        archive.addfile(info, io.BytesIO(content))
    end = archive.offset
    archive.close()
    return out.getvalue()[:end] + tarfile.NUL * (tarfile.BLOCKSIZE * 2)


def tar_of_entries(entries):
    """
    A tar as dockerd's archiver writes one (C{docker export}, C{docker cp},
    a committed layer): directories, files and symbolic links, owned by
    root, ended by two empty blocks.

    @param entries: C{(name, kind, mode, data, mtime, link)} in order:
        C{kind} is C{"dir"}, C{"file"} or C{"link"}, C{mode} the permission
        bits, C{mtime} seconds.
    @return: the tar's C{bytes}.
    """
    out = io.BytesIO()
    archive = tarfile.TarFile(fileobj=out, mode="w", format=tarfile.GNU_FORMAT)
    for name, kind, mode, data, mtime, link in entries:
        info = tarfile.TarInfo(name + "/" if kind == "dir" and not name.endswith("/") else name)
        info.mode = mode
        info.mtime = mtime
        info.uname = info.gname = "root"
        if kind == "dir":
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        elif kind == "link":
            info.type = tarfile.SYMTYPE
            info.linkname = link
            archive.addfile(info)
        else:
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    end = archive.offset
    archive.close()
    return out.getvalue()[:end] + tarfile.NUL * (tarfile.BLOCKSIZE * 2)


def chain_ids(diff_ids):
    """
    The C{ChainID}s of a stack of layers (the IDs an image delete reports
    for the layers it removes).

    @param diff_ids: C{DiffID}s, bottom first.
    @return: their chain IDs, bottom first.
    """
    chains = []
    for diff_id in diff_ids:
        chains.append(diff_id if not chains else digest(chains[-1] + " " + diff_id))
    return chains
