"""
The fake engine's images moving in and out: history, import, save and
load (C{docker save} archives), push, search and login.  A mixin of
L{swarmd.testing.fakeengine._engine.FakeEngine}, beside L{ImageOps}.
"""

import json
import re

from swarmd.testing.fakeengine._archive import ArchiveError, read_archive, write_archive
from swarmd.testing.fakeengine._errors import (
    FakeAPIError,
    bad_request,
    not_found,
    server_error,
)
from swarmd.testing.fakeengine._image_ops import _has_tag, _is_id_prefix, apply_change
from swarmd.testing.fakeengine._images import FakeImage, history_entry
from swarmd.testing.fakeengine._layers import add_layer, get_layer
from swarmd.testing.fakeengine._references import (
    familiar,
    familiar_name,
    parse_reference,
    repository_of,
)
from swarmd.testing.fakeengine._registry import unreachable
from swarmd.testing.fakeengine._time import NANO, parse_rfc3339


class ImageTransferOps:
    """
    History, import, save, load, push, search and login.
    """

    # -- history ----------------------------------------------------------------------

    def image_history(self, name):
        """
        C{GET /images/{name}/history}: newest first, each layer's size,
        the IDs and tags of the image and its local parents (C{<missing>}
        past them).

        @raise FakeAPIError: 404 unknown.
        """
        image = self._image_or_404(name)
        entries = []
        layers = list(image.layers)
        index = 0
        for entry in image.history_entries():
            size = 0
            if not entry.get("empty_layer"):
                layer = get_layer(layers[index]) if index < len(layers) else None
                size = layer.size if layer is not None else 0
                index += 1
            created = parse_rfc3339(entry.get("created", "")) or 0
            entries.insert(0, {"Comment": entry.get("comment", ""), "Created": created // NANO,
                               "CreatedBy": entry.get("created_by", ""), "Id": "<missing>",
                               "Size": size, "Tags": None})
        current = image
        for entry in entries:
            entry["Id"] = current.id
            entry["Tags"] = sorted(current.tags) or None
            current = self.images.get(current.parent) if current.parent else None
            if current is None:
                break
        return entries

    # -- import -----------------------------------------------------------------------

    def import_image(self, data, repo=None, tag=None, changes=(), message=None):
        """
        C{POST /images/create?fromSrc=-}: an image of one layer, the body.

        @param data: the root file system (a tar; dockerd takes anything).
        @param changes: Dockerfile instructions for its config.
        @param message: its C{Comment} (default C{Imported from -}).
        @return: the new L{FakeImage}.
        @raise FakeAPIError: 400 a malformed repository, tag or change.
        """
        reference = None
        if tag and not re.match(r"^[\w][\w.-]{0,127}$", tag):
            raise bad_request("invalid tag format")
        if repo:
            reference = familiar(repo + (":" + tag if tag else ""))
        config = {}
        for change in changes:
            if change.strip():
                apply_change(config, change)
        comment = message or "Imported from -"
        now = self._now_ns()
        layer = add_layer(data)
        image = self.add_image(FakeImage(
            None, created_ns=now, config=config, layers=[layer.diff_id], comment=comment,
            history=[history_entry(now, comment=comment)]))
        if reference is not None:
            self._tag(image, reference, repo + (":" + tag if tag else ""))
        self._emit("image", "import", image.id, {"name": image.id})
        return image

    # -- save, load -------------------------------------------------------------------

    def save_images(self, names):
        """
        C{GET /images/get?names=...} and C{GET /images/{name}/get}: a bare
        name saves every tag of its repository, an ID the image untagged.

        @return: the archive's C{bytes}.
        @raise FakeAPIError: 404 C{No such image: NAME} (as given).
        """
        entries = {}
        order = []

        def add(image, tags):
            if image.id not in entries:
                entries[image.id] = (image, [])
                order.append(image.id)
            for tag in tags:
                if tag not in entries[image.id][1]:
                    entries[image.id][1].append(tag)

        for name in names:
            image = self.find_image(name)
            if image is not None and _is_id_prefix(image.id, name):
                add(image, [])
            elif not _has_tag(name):
                # A bare repository name: every tag of it.
                try:
                    repository = repository_of(familiar(name))
                except FakeAPIError:
                    raise not_found("No such image: %s" % (name,)) from None
                held = sorted(t for t in self._tags if repository_of(t) == repository)
                if not held:
                    raise not_found("No such image: %s" % (name,))
                for tag in held:
                    add(self.images[self._tags[tag]], [tag])
            elif image is None:
                raise not_found("No such image: %s" % (name,))
            else:
                add(image, [familiar(name)] if "@" not in name else [])
        for image_id in order:
            self._emit("image", "save", image_id, {"name": image_id})
        return write_archive([entries[i] for i in order])

    def load_images(self, source, quiet=False):
        """
        C{POST /images/load}.

        @param source: the archive (a binary file object or C{bytes}).
        @return: the stream's messages (an error among them, as dockerd
            reports a bad archive).
        """
        try:
            found = read_archive(source, self.root_dir)
        except ArchiveError as e:
            return [{"errorDetail": {"message": str(e)}, "error": str(e)}]
        messages = []
        held = self.layer_ids()
        for config, tags, layers in found:
            for data in layers:
                layer = add_layer(data)
                if not quiet and layer.diff_id not in held:
                    size = len(data)
                    detail = {"current": size, "total": size}
                    shown = {"status": "Loading layer", "progressDetail": detail,
                             "progress": "[%s>]  %s/%s" % ("=" * 50, _bytes(size), _bytes(size)),
                             "id": layer.diff_id[7:19]}
                    messages.extend([shown, dict(shown)])
                held.add(layer.diff_id)
            image = self.add_image(_loaded_image(config))
            for tag in tags:
                try:
                    reference = familiar(tag)
                except FakeAPIError as e:
                    messages.append({"errorDetail": {"message": e.message}, "error": e.message})
                    return messages
                previous = self._tags.get(reference)
                if previous is not None and previous != image.id:
                    messages.append({"stream": "The image %s already exists, renaming the old "
                                               "one with ID %s to empty string\n"
                                               % (reference, previous)})
                self._set_tag(image, reference)
                image.tag_time = self._now_ns()
                messages.append({"stream": "Loaded image: %s\n" % (reference,)})
            if not tags:
                messages.append({"stream": "Loaded image ID: %s\n" % (image.id,)})
            self._emit("image", "load", image.id, {"name": image.id})
        return messages

    # -- push -------------------------------------------------------------------------

    def push(self, name, tag=None):
        """
        C{POST /images/{name}/push}: every tag of the repository (or the
        one given) to its C{registry}.

        @return: the stream's messages (errors among them, as dockerd
            reports them).
        """
        domain, path, _, _ = parse_reference(name)
        repository = familiar_name(domain, path)
        full = domain + "/" + path
        messages = [{"status": "The push refers to repository [%s]" % (full,)}]

        def failed(text):
            messages.append({"errorDetail": {"message": text}, "error": text})
            return messages

        tags = sorted(t for t in self._tags if repository_of(t) == repository)
        if not tags:
            return failed("An image does not exist locally with the tag: %s" % (repository,))
        if self.registry is None or not self.registry.serves(domain):
            return failed(unreachable(domain).message)
        if tag:
            wanted = repository + ":" + tag
            if wanted not in tags:
                return failed("tag does not exist: %s" % (wanted,))
            tags = [wanted]
        for reference in tags:
            image = self.images[self._tags[reference]]
            for diff_id in reversed(image.layers):
                messages.append({"status": "Preparing", "progressDetail": {},
                                 "id": diff_id[7:19]})
            for diff_id in reversed(image.layers):
                short = diff_id[7:19]
                if self.registry.has_layer(diff_id):
                    messages.append({"status": "Layer already exists", "progressDetail": {},
                                     "id": short})
                    continue
                layer = get_layer(diff_id)
                size = layer.size if layer is not None else 0
                messages.append({"status": "Pushing", "progressDetail": {"current": size,
                                                                         "total": size},
                                 "progress": "[%s>]  %s" % ("=" * 50, _bytes(size)),
                                 "id": short})
                messages.append({"status": "Pushed", "progressDetail": {}, "id": short})
            version = reference.rpartition(":")[2]
            digest, size = self.registry.push(repository, version, image)
            if repository + "@" + digest not in image.digests:
                image.digests.append(repository + "@" + digest)
            messages.append({"status": "%s: digest: %s size: %d" % (version, digest, size)})
            messages.append({"progressDetail": {}, "aux": {"Tag": version, "Digest": digest,
                                                           "Size": size}})
        self._emit("image", "push", name + (":" + tag if tag else ""), {"name": repository})
        return messages

    # -- search, login ----------------------------------------------------------------

    def search(self, term, limit=None):
        """
        C{GET /images/search?term=...}.

        @raise FakeAPIError: as dockerd reports an unreachable index.
        """
        if self.registry is None:
            raise server_error('Get "https://index.docker.io/v1/search?q=%s&n=25": dial tcp: '
                               'lookup index.docker.io: no such host' % (term,))
        return self.registry.search(term, limit or 25)

    def login(self, body):
        """
        C{POST /auth}.

        @raise FakeAPIError: 500 for a registry that does not answer.
        """
        if self.registry is None:
            raise server_error('Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
                               'registry-1.docker.io: no such host')
        return self.registry.login(body.get("serveraddress") or "")


def _bytes(size):
    """
    A size as Docker's progress bars write it (C{2.048kB}, C{1.984MB}).
    """
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return ("%.4g" % (size / scale,)) + unit
    return "%dB" % (size,)


def _loaded_image(config):
    """
    @return: a L{FakeImage} of a loaded config (its ID the config's digest).
    """
    document = json.loads(config)
    created = parse_rfc3339(document.get("created", "")) or 0
    return FakeImage(
        None, created_ns=created, config=document.get("config") or {},
        layers=list(document.get("rootfs", {}).get("diff_ids") or []),
        history=document.get("history"), comment=document.get("comment", ""),
        container=document.get("container", ""),
        container_config=document.get("container_config"), raw=config)

