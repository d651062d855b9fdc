"""
L{ImageOps}: what the image routes do to a L{FakeEngine}, with dockerd
20.10's answers, statuses, messages and events (checked against a lab
engine): list, inspect, pull, tag, remove (an untag, or a delete with the
layers it frees), prune, import, save, load, history, push, search and
login.
"""

import json
import re

from twisted.internet.defer import Deferred, succeed

from swarmd.testing.fakeengine._errors import (
    FakeAPIError,
    bad_request,
    conflict,
    not_found,
    server_error,
)
from swarmd.testing.fakeengine._layers import chain_ids, get_layer
from swarmd.testing.fakeengine._network_ops import labels_match
from swarmd.testing.fakeengine._references import (
    familiar,
    familiar_name,
    parse_reference,
    repository_of,
)
from swarmd.testing.fakeengine._time import NANO, parse_until

#: Filters C{POST /images/prune} accepts.
IMAGE_PRUNE_FILTERS = frozenset({"dangling", "label", "label!", "until"})

_HEX = re.compile(r"^(sha256:)?[0-9a-f]{1,64}$")

#: The instructions C{docker import -c} / C{docker commit -c} take.
CHANGE_INSTRUCTIONS = frozenset({"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD",
                                 "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"})


def _shown(reference):
    try:
        return familiar(reference)
    except FakeAPIError:
        return reference


def _is_id_prefix(image_id, reference):
    text = reference[len("sha256:"):] if reference.startswith("sha256:") else reference
    return bool(_HEX.match(reference)) and image_id[len("sha256:"):].startswith(text)


def _has_tag(reference):
    name = reference.split("@", 1)[0]
    return "@" in reference or name.rfind(":") > name.rfind("/")


def _json_words(text):
    """
    @return: the words of an instruction's argument: its JSON array, or the
        shell form.
    """
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value, True
    return ["/bin/sh", "-c", text], False


def _pairs(text):
    """
    @return: the C{key=value} (or C{key value}) pairs of C{ENV}/C{LABEL}.
    """
    text = text.strip()
    if "=" not in text.split(" ", 1)[0]:
        key, _, value = text.partition(" ")
        return [(key, value.strip())]
    pairs = []
    for word in re.findall(r'(?:[^\s"]|"[^"]*")+', text):
        key, _, value = word.partition("=")
        pairs.append((key, value.strip('"')))
    return pairs


def apply_change(config, line):
    """
    Apply one Dockerfile instruction to an image C{Config} (what C{import}
    changes, and the config steps of a build, do).

    @raise FakeAPIError: 400 for an instruction not allowed.
    """
    instruction, _, rest = line.strip().partition(" ")
    keyword = instruction.upper()
    if keyword not in CHANGE_INSTRUCTIONS:
        raise bad_request("%s is not a valid change command" % (instruction,))
    if keyword in ("CMD", "ENTRYPOINT"):
        words, _ = _json_words(rest)
        config["Cmd" if keyword == "CMD" else "Entrypoint"] = words
    elif keyword == "ENV":
        env = [e for e in config.get("Env") or []]
        for key, value in _pairs(rest):
            env = [e for e in env if e.split("=", 1)[0] != key] + ["%s=%s" % (key, value)]
        config["Env"] = env
    elif keyword == "LABEL":
        labels = dict(config.get("Labels") or {})
        labels.update(_pairs(rest))
        config["Labels"] = labels
    elif keyword == "EXPOSE":
        exposed = dict(config.get("ExposedPorts") or {})
        for port in rest.split():
            exposed[port if "/" in port else port + "/tcp"] = {}
        config["ExposedPorts"] = exposed
    elif keyword == "VOLUME":
        words, is_json = _json_words(rest)
        volumes = dict(config.get("Volumes") or {})
        for path in (words if is_json else rest.split()):
            volumes[path] = {}
        config["Volumes"] = volumes
    elif keyword == "WORKDIR":
        config["WorkingDir"] = rest.strip()
    elif keyword == "USER":
        config["User"] = rest.strip()
    elif keyword == "STOPSIGNAL":
        config["StopSignal"] = rest.strip()
    elif keyword == "ONBUILD":
        config["OnBuild"] = list(config.get("OnBuild") or []) + [rest.strip()]


class ImageOps:
    """
    The image operations of L{swarmd.testing.fakeengine._engine.FakeEngine} (a
    mixin: it uses the engine's C{images}, C{_tags}, C{containers},
    C{registry}, C{driver}, C{root_dir}, C{_emit} and clock).
    """

    # -- the store --------------------------------------------------------------------

    def add_image(self, image):
        """
        Put a L{FakeImage} on the engine (its tags move to it).

        @return: the engine's L{FakeImage} of that ID.
        """
        existing = self.images.get(image.id)
        if existing is None:
            self.images[image.id] = existing = image
        for tag in list(image.tags):
            self._set_tag(existing, tag)
        for digest in image.digests:
            if digest not in existing.digests:
                existing.digests.append(digest)
        return existing

    def _set_tag(self, image, tag):
        """
        Point C{tag} at C{image}.

        @return: the L{FakeImage} the tag was taken from, or L{None}.
        """
        old_id = self._tags.get(tag)
        previous = None
        if old_id is not None and old_id != image.id:
            previous = self.images.get(old_id)
            if previous is not None and tag in previous.tags:
                previous.tags.remove(tag)
        self._tags[tag] = image.id
        if tag not in image.tags:
            image.tags.append(tag)
        return previous

    def _drop_reference(self, image, reference):
        if reference in image.tags:
            image.tags.remove(reference)
            if self._tags.get(reference) == image.id:
                del self._tags[reference]
        elif reference in image.digests:
            image.digests.remove(reference)

    def find_image(self, reference):
        """
        Find an image by C{name[:tag]}, C{name@digest}, ID or ID prefix.

        @return: the L{FakeImage}, or L{None}.
        """
        if reference in self.images:
            return self.images[reference]
        text = reference[len("sha256:"):] if reference.startswith("sha256:") else reference
        if re.match(r"^[0-9a-f]{1,64}$", text):
            found = [i for i in self.images.values() if i.id[7:].startswith(text)]
            if len(found) == 1:
                return found[0]
        try:
            name = familiar(reference)
        except FakeAPIError:
            return None
        if "@" in name:
            for image in self.images.values():
                if name in image.digests:
                    return image
            return None
        image_id = self._tags.get(name)
        return self.images.get(image_id) if image_id else None

    def _image_or_404(self, reference, shown=None):
        image = self.find_image(reference)
        if image is None:
            raise not_found("No such image: %s" % (shown or _shown(reference),))
        return image

    def image_size(self, image_id):
        image = self.images.get(image_id)
        return image.size if image else 0

    def _children(self, image_id):
        return [i for i in self.images.values() if i.parent == image_id]

    def list_images(self, all=False):
        """
        @param all: also the untagged images that are parents of others.
        @return: C{GET /images/json}, newest first.
        """
        result = []
        for image in sorted(self.images.values(), key=lambda i: -i.created_time):
            if not all and not image.tags and not image.digests and self._children(image.id):
                continue
            result.append(image.summary())
        return result

    def inspect_image(self, reference):
        """
        @return: C{GET /images/{name}/json}.
        @raise FakeAPIError: 404 as dockerd.
        """
        image = self.find_image(reference)
        if image is None:
            raise not_found("no such image: %s: No such image: %s"
                            % (reference, _shown(reference)))
        return image.inspect(self.driver)

    def layer_ids(self):
        """
        @return: the C{DiffID}s of every layer the engine holds.
        """
        return {d for image in self.images.values() for d in image.layers}

    # -- pull -------------------------------------------------------------------------

    def pull(self, from_image, tag=None, progress=None):
        """
        C{POST /images/create?fromImage=...&tag=...}: pull from its
        C{registry}.

        @param progress: called with each progress message (a C{dict}); an
            error after the pull started is one too, as in dockerd's stream.
        @return: a L{Deferred} firing with the messages once done.
        @raise FakeAPIError: before the stream starts (registry errors).
        """
        messages = []

        def say(message):
            messages.append(message)
            if progress is not None:
                progress(message)

        if not from_image:
            raise server_error('Get "http:": http: no Host in request URL')
        reference = from_image
        if tag and "@" not in from_image:
            reference = from_image + ":" + tag
        domain, path, ref_tag, digest = parse_reference(reference)
        name = familiar_name(domain, path)
        shown = name + (":" + ref_tag if ref_tag else "@" + digest)
        if self.registry is None:
            raise server_error('Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
                               'registry-1.docker.io: no such host')
        entry = self.registry.lookup(reference)
        self.registry.pulls.append(shown)
        layer = entry.id[7:19]
        say({"status": "Pulling from " + path, "id": ref_tag or digest})
        present = self.images.get(entry.id)
        if present is not None and (ref_tag is None or shown in present.tags):
            say({"status": "Digest: " + entry.digest})
            say({"status": "Status: Image is up to date for " + shown})
            return succeed(messages)
        say({"status": "Pulling fs layer", "progressDetail": {}, "id": layer})
        done = Deferred()

        def finish():
            if entry.error:
                say({"errorDetail": {"message": entry.error}, "error": entry.error})
                done.callback(messages)
                return
            say({"status": "Downloading", "progressDetail": {"current": entry.size,
                                                             "total": entry.size},
                 "progress": "[==================================================>]",
                 "id": layer})
            for status in ("Verifying Checksum", "Download complete", "Extracting",
                           "Pull complete"):
                say({"status": status, "progressDetail": {}, "id": layer})
            say({"status": "Digest: " + entry.digest})
            image = entry.image()
            if ref_tag is None:
                image.tags = []
            self.add_image(image)
            self._emit("image", "pull", shown, {"name": name})
            say({"status": "Status: Downloaded newer image for " + shown})
            done.callback(messages)

        if self.registry.delay > 0:
            self.clock.callLater(self.registry.delay, finish)
        else:
            finish()
        return done

    # -- tag --------------------------------------------------------------------------

    def tag_image(self, name, repo, tag=None):
        """
        C{POST /images/{name}/tag?repo=...&tag=...}.

        @raise FakeAPIError: 404 unknown image, 400 a digest reference, 500
            a malformed repository or tag (as dockerd).
        """
        image = self._image_or_404(name)
        if "@" in (repo or ""):
            raise bad_request("refusing to create a tag with a digest reference")
        if tag and not re.match(r"^[\w][\w.-]{0,127}$", tag):
            raise server_error("invalid tag format")
        if not repo:
            raise server_error("invalid reference format")
        try:
            reference = familiar(repo + (":" + tag if tag else ""))
        except FakeAPIError as e:
            raise server_error(e.message) from None
        self._tag(image, reference, repo + (":" + tag if tag else ""))

    def _tag(self, image, reference, shown):
        self._set_tag(image, reference)
        image.tag_time = self._now_ns()
        self._emit("image", "tag", image.id, {"name": shown})

    # -- remove -----------------------------------------------------------------------

    def _references(self, image):
        return list(image.tags) + list(image.digests)

    def _first_container(self, image, running=None):
        for container in self.containers.values():
            if container.image_id == image.id and (running is None
                                                   or container.running == running):
                return container
        return None

    def _delete_conflict(self, image, soft, active):
        """
        dockerd's C{checkImageDeleteConflict}.

        @return: C{(message, hard, used)} or L{None}.
        """
        short = image.id[7:19]
        if self._children(image.id):
            return ("conflict: unable to delete %s (cannot be forced) - image has dependent "
                    "child images" % (short,), True, False)
        running = self._first_container(image, running=True)
        if running is not None:
            return ("conflict: unable to delete %s (cannot be forced) - image is being used by "
                    "running container %s" % (short, running.id[:12]), True, True)
        if active and len(self._references(image)) > 1:
            return ("conflict: unable to delete %s (must be forced) - image is referenced in "
                    "multiple repositories" % (short,), False, False)
        if soft:
            stopped = self._first_container(image, running=False)
            if stopped is not None:
                return ("conflict: unable to delete %s (must be forced) - image is being used "
                        "by stopped container %s" % (short, stopped.id[:12]), False, True)
        return None

    @staticmethod
    def _single_reference(references):
        tags = [r for r in references if "@" not in r]
        repositories = {repository_of(r) for r in references}
        return bool(references) and len(tags) <= 1 and len(repositories) <= 1

    def remove_image(self, name, force=False, prune=True):
        """
        C{DELETE /images/{name}}: untag a tag (the image stays while it has
        other references), or delete the image with the layers no other
        image uses.

        @return: the records (C{{"Untagged": ...}}, C{{"Deleted": ...}}).
        @raise FakeAPIError: 404 unknown, 409 conflicts, 400 a malformed
            reference.
        """
        if not _HEX.match(name):
            parse_reference(name)
        image = self._image_or_404(name)
        records = []
        references = self._references(image)
        quiet = False
        if not _is_id_prefix(image.id, name):
            reference = familiar(name)
            if not force and self._single_reference(references):
                user = self._first_container(image)
                if user is not None:
                    raise conflict('conflict: unable to remove repository reference "%s" (must '
                                   'force) - container %s is using its referenced image %s'
                                   % (name, user.id[:12], image.id[7:19]))
            self._drop_reference(image, reference)
            records.append({"Untagged": reference})
            self._emit("image", "untag", image.id, {"name": image.id})
            if "@" not in reference:
                repository = repository_of(reference)
                if not any(repository_of(t) == repository for t in image.tags):
                    for digest in [d for d in image.digests if repository_of(d) == repository]:
                        self._drop_reference(image, digest)
                        records.append({"Untagged": digest})
            if self._references(image):
                return records
            quiet = True
        elif self._single_reference(references):
            found = self._delete_conflict(image, soft=not force, active=False)
            if found is not None:
                raise conflict(found[0])
            for reference in references:
                self._drop_reference(image, reference)
                records.append({"Untagged": reference})
                self._emit("image", "untag", image.id, {"name": image.id})
        self._delete(image, records, force, prune, quiet)
        return records

    def _delete(self, image, records, force, prune, quiet):
        """
        dockerd's C{imageDeleteHelper}.
        """
        found = self._delete_conflict(image, soft=not force, active=not force)
        if found is not None:
            message, _, used = found
            if quiet and (self._references(image) or used):
                return
            raise conflict(message)
        for reference in self._references(image):
            self._drop_reference(image, reference)
            records.append({"Untagged": reference})
            self._emit("image", "untag", image.id, {"name": image.id})
        del self.images[image.id]
        kept = set()
        for other in self.images.values():
            kept.update(chain_ids(other.layers))
        records.append({"Deleted": image.id})
        for chain in reversed(chain_ids(image.layers)):
            if chain not in kept:
                records.append({"Deleted": chain})
        self._emit("image", "delete", image.id, {"name": image.id})
        parent = self.images.get(image.parent) if image.parent else None
        if prune and parent is not None and not self._references(parent) \
                and not self._children(parent.id):
            self._delete(parent, records, False, True, True)

    # -- prune ------------------------------------------------------------------------

    def prune_images(self, filters):
        """
        C{POST /images/prune}: dangling images (untagged, no child), or with
        C{dangling=false} every image no container uses.

        @return: C{{"ImagesDeleted": [...] or None, "SpaceReclaimed": N}}.
        @raise FakeAPIError: 400 unknown filter or dangling value.
        """
        filters.check_keys(IMAGE_PRUNE_FILTERS)
        dangling_only = True
        values = filters.get("dangling")
        if values:
            if values <= {"false", "0"}:
                dangling_only = False
            elif not values <= {"true", "1"}:
                raise bad_request("Invalid filter 'dangling=[%s]'" % (" ".join(sorted(values)),))
        until = None
        for value in filters.get("until"):
            until = parse_until(value, self.clock.seconds())
        sizes = {}
        for image in self.images.values():
            for diff_id, chain in zip(image.layers, chain_ids(image.layers), strict=True):
                layer = get_layer(diff_id)
                sizes[chain] = layer.size if layer is not None else 0
        chosen = []
        for image in list(self.images.values()):
            if dangling_only and self._children(image.id):
                continue
            if not self._references(image) and self._children(image.id):
                continue
            if until is not None and image.created_time > until * NANO:
                continue
            if not labels_match(filters, image.config.get("Labels")):
                continue
            chosen.append(image)
        deleted = []
        for image in chosen:
            if image.id not in self.images:
                continue
            references = self._references(image)
            targets = []
            if references:
                if not dangling_only or not image.tags:
                    targets = references
            else:
                targets = [image.id[len("sha256:"):]]
            for target in targets:
                try:
                    deleted.extend(self.remove_image(target, force=False, prune=True))
                except FakeAPIError:
                    continue
        reclaimed = sum(sizes.get(d["Deleted"], 0) for d in deleted if "Deleted" in d)
        self._emit("image", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}


__all__ = ["IMAGE_PRUNE_FILTERS", "ImageOps", "apply_change"]
