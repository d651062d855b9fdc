"""
C{docker save} archives: read one (L{read_saved_image}) to seed the
loopback registry (L{swarmd.testing.lab.registry}), or write one
(L{write_saved_image}) of any size for C{docker load}, streamed to disk
without holding a layer in memory.
"""

import hashlib
import io
import json
import os
import tarfile
import uuid

__all__ = ["digest_of", "read_saved_image", "write_saved_image"]


def digest_of(data):
    """
    @param data: C{bytes}.
    @return: C{"sha256:<hex>"}.
    """
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_saved_image(archive, image=None):
    """
    Read one image of a C{docker save} archive.

    @param archive: a path, or the archive's C{bytes}.
    @param image: the C{RepoTags} entry to read (C{"busybox:latest"}); the
        archive's first image by default.
    @return: C{(config, layers)}: the image configuration's C{bytes} (its
        digest is the image ID) and the uncompressed layer tars, base
        first, as a C{list} of C{bytes}.
    @raise KeyError: if C{image} is not in the archive.
    """
    if isinstance(archive, bytes):
        tar = tarfile.open(fileobj=io.BytesIO(archive))
    else:
        tar = tarfile.open(archive)
    with tar:
        entries = json.load(tar.extractfile("manifest.json"))
        if image is None:
            entry = entries[0]
        else:
            matching = [e for e in entries if image in (e.get("RepoTags") or [])]
            if not matching:
                raise KeyError(image)
            entry = matching[0]
        config = tar.extractfile(entry["Config"]).read()
        layers = [tar.extractfile(path).read() for path in entry["Layers"]]
    return config, layers


def _random_layer_tar(path, size, name, chunk=1024 * 1024):
    """
    Write a layer tar holding one file of C{size} random bytes.

    @return: the tar's C{sha256:} digest (its DiffID).
    """
    digest = hashlib.sha256()

    class _Hashing(io.RawIOBase):
        def __init__(self, out):
            self._out = out

        def writable(self):
            return True

        def write(self, data):
            digest.update(data)
            return self._out.write(data)

    class _Random(io.RawIOBase):
        def __init__(self, left):
            self._left = left

        def readable(self):
            return True

        def read(self, n=-1):
            n = self._left if n is None or n < 0 else min(n, self._left)
            self._left -= n
            return os.urandom(n)

    with open(path, "wb") as raw:
        with tarfile.open(fileobj=_Hashing(raw), mode="w|", format=tarfile.GNU_FORMAT,
                          bufsize=chunk) as tar:
            info = tarfile.TarInfo(name)
            info.size = size
            info.mode = 0o644
            tar.addfile(info, _Random(size))
    return "sha256:" + digest.hexdigest()


def write_saved_image(path, repo_tag, layer_sizes, workdir=None, created=None):
    """
    Write a C{docker save} archive of a new image whose layers each hold
    one file of random bytes (C{/data/layerN}), for C{docker load}.

    Nothing as large as a layer is ever held in memory: each layer tar is
    written to a temporary file (hashed on the way) and then copied into
    the archive.

    @param path: where to write the archive.
    @param repo_tag: its C{RepoTags} entry, e.g. C{"big:1"}.
    @param layer_sizes: the random bytes of each layer.
    @param workdir: where to keep the layer files meanwhile (default: next
        to C{path}).
    @param created: the image's creation time (RFC 3339).
    @return: the image ID (C{sha256:...}).
    """
    workdir = workdir or os.path.dirname(os.path.abspath(path))
    layer_paths, diff_ids = [], []
    try:
        for index, size in enumerate(layer_sizes):
            layer = os.path.join(workdir, ".layer-%s-%d.tar" % (uuid.uuid4().hex, index))
            layer_paths.append(layer)
            diff_ids.append(_random_layer_tar(layer, size, "data/layer%d" % (index,)))
        config = json.dumps({
            "architecture": "amd64",
            "os": "linux",
            "created": created or "2026-01-01T00:00:00Z",
            "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": created or "2026-01-01T00:00:00Z",
                         "created_by": "swarmd.testing.lab.registry"} for _ in diff_ids],
        }, separators=(",", ":")).encode("utf-8")
        image_id = digest_of(config)
        hex_id = image_id.split(":", 1)[1]
        manifest = [{"Config": hex_id + ".json", "RepoTags": [repo_tag],
                     "Layers": ["%s/layer.tar" % (d.split(":", 1)[1],) for d in diff_ids]}]
        with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
            _add_bytes(tar, hex_id + ".json", config)
            for layer, diff_id in zip(layer_paths, diff_ids, strict=True):
                tar.add(layer, arcname="%s/layer.tar" % (diff_id.split(":", 1)[1],),
                        recursive=False)
            _add_bytes(tar, "manifest.json", json.dumps(manifest).encode("utf-8"))
    finally:
        for layer in layer_paths:
            if os.path.exists(layer):
                os.remove(layer)
    return image_id


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
