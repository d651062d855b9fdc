"""
C{docker save} archives, written and read by the fake engine as dockerd
20.10 does: per image a C{<id>.json} config, per layer a folder with
C{VERSION}, C{json} and C{layer.tar}, then C{manifest.json} and (for
tagged images) C{repositories}.
"""

import io
import json
import tarfile

from swarmd.testing.fakeengine._layers import chain_ids, digest, get_layer
from swarmd.testing.fakeengine._time import rfc3339

__all__ = ["ArchiveError", "read_archive", "write_archive"]


class ArchiveError(Exception):
    """
    An archive dockerd would refuse; the message is dockerd's.
    """


def _add(archive, name, data, mtime=0):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = mtime
    archive.addfile(info, io.BytesIO(data))


def _add_folder(archive, name, mtime=0):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = mtime
    archive.addfile(info)


def write_archive(entries):
    """
    @param entries: C{(FakeImage, [name:tag, ...])} per image, in order.
    @return: the archive's C{bytes}.
    """
    out = io.BytesIO()
    manifest = []
    repositories = {}
    written = set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for image, tags in entries:
            mtime = image.created
            config = image.config_json()
            config_name = image.id[len("sha256:"):] + ".json"
            if config_name not in written:
                _add(archive, config_name, config, mtime)
                written.add(config_name)
            layers = []
            parent = ""
            for diff_id, chain in zip(image.layers, chain_ids(image.layers), strict=True):
                # A layer's folder is named by a v1 ID made from its stack.
                v1 = digest("v1 " + chain + " " + parent)[len("sha256:"):]
                layers.append(v1 + "/layer.tar")
                if v1 not in written:
                    written.add(v1)
                    _add_folder(archive, v1 + "/", mtime)
                    _add(archive, v1 + "/VERSION", b"1.0", mtime)
                    document = {"id": v1, "created": rfc3339(image.created * 1000000000),
                                "os": "linux"}
                    if parent:
                        document["parent"] = parent
                    _add(archive, v1 + "/json", json.dumps(document).encode("utf-8"), mtime)
                    layer = get_layer(diff_id)
                    _add(archive, v1 + "/layer.tar", layer.data if layer else b"", mtime)
                parent = v1
            manifest.append({"Config": config_name, "RepoTags": list(tags) or None,
                             "Layers": layers})
            for tag in tags:
                name, _, version = tag.rpartition(":")
                repositories.setdefault(name, {})[version] = parent
        _add(archive, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        if repositories:
            _add(archive, "repositories",
                 json.dumps(repositories, separators=(",", ":")).encode())
    return out.getvalue()


#: The size of a tar header block.
_BLOCK = 512

#: How dockerd words an archive its untar cannot read.
_UNTAR_FAILED = "Error processing tar file(exit status 1): "


def _header_error(source):
    """
    Walk the tar headers as Go's C{archive/tar} reads them in dockerd's
    untar: a header cut short is C{unexpected EOF}, one whose checksum is
    wrong C{invalid tar header}; a zero block ends the archive.  Data cut
    short is not noticed (dockerd does not either).

    @param source: a seekable binary file object, read from where it is and
        left there.
    @return: dockerd's message, or L{None} if the headers read.
    """
    start = source.tell()
    try:
        while True:
            block = source.read(_BLOCK)
            if not block or block == bytes(_BLOCK):
                return None
            if len(block) < _BLOCK:
                return _UNTAR_FAILED + "unexpected EOF"
            unsigned = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
            try:
                stored = int(block[148:156].strip(b" \0") or b"0", 8)
                size = int(block[124:136].strip(b" \0") or b"0", 8)
            except ValueError:
                return _UNTAR_FAILED + "archive/tar: invalid tar header"
            if stored != unsigned:
                return _UNTAR_FAILED + "archive/tar: invalid tar header"
            source.seek(-(-size // _BLOCK) * _BLOCK, io.SEEK_CUR)
    finally:
        source.seek(start)


def read_archive(source, root_dir="/var/lib/docker"):
    """
    Read an archive as C{POST /images/load} does.

    @param source: a binary file object (or C{bytes}).
    @param root_dir: the engine's data root (named in dockerd's messages).
    @return: C{[(config bytes, repo tags, [layer tar bytes])]} per image.
    @raise ArchiveError: for what dockerd refuses, with its message.
    """
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    unreadable = _header_error(source)
    if unreadable is not None:
        raise ArchiveError(unreadable)
    missing = ArchiveError("open %s/tmp/docker-import-%d/repositories: no such file or "
                           "directory" % (root_dir, id(source) % 1000000000))
    try:
        archive = tarfile.open(fileobj=source, mode="r:*")
    except (tarfile.TarError, EOFError, OSError):
        raise missing from None
    with archive:
        try:
            members = {m.name.lstrip("./") or ".": m for m in archive.getmembers()}
        except (tarfile.TarError, EOFError, OSError):
            raise ArchiveError("unexpected EOF") from None

        def read(name):
            member = members.get(name)
            if member is None or not member.isreg():
                raise ArchiveError("open %s/tmp/docker-import-%d/%s: no such file or directory"
                                   % (root_dir, id(source) % 1000000000, name))
            return archive.extractfile(member).read()

        if "manifest.json" not in members:
            raise missing
        try:
            manifest = json.loads(read("manifest.json"))
        except ValueError as e:
            raise ArchiveError("invalid character in manifest.json: %s" % (e,)) from None
        result = []
        for entry in manifest or []:
            config = read(entry.get("Config") or "")
            try:
                diff_ids = json.loads(config)["rootfs"]["diff_ids"]
            except (ValueError, KeyError, TypeError):
                raise ArchiveError("invalid image config %s" % (entry.get("Config"),)) from None
            layers = [read(path) for path in entry.get("Layers") or []]
            if len(layers) != len(diff_ids):
                raise ArchiveError("invalid manifest, layers length mismatch: expected %d, "
                                   "got %d" % (len(diff_ids), len(layers)))
            for index, (data, expected) in enumerate(zip(layers, diff_ids, strict=True)):
                got = digest(data)
                if got != expected:
                    raise ArchiveError("invalid diffID for layer %d: expected %r, got %r"
                                       % (index, expected, got))
            result.append((config, list(entry.get("RepoTags") or []), layers))
        return result
