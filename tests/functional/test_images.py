"""
Image commands of the real docker CLI through a real manager over a lab of
two real engines (issue 4: images, pull/import/load, build, search, login),
with a loopback registry (L{swarmd.testing.lab.registry}) for pull and push.
"""

import os
import shutil
import subprocess
import tempfile
import time

from swarmd.testing.functional import FAST_REFRESH, ManagerTestCase
from swarmd.testing.lab.registry import Registry
from swarmd.testing.lab.saved_images import write_saved_image
from swarmd.testing.manager import ManagerProcess, free_port


def _hwm_kb(pid):
    """
    @return: the peak resident memory of process C{pid} (VmHWM), in KiB.
    """
    with open("/proc/%d/status" % (pid,)) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % (pid,))


class ImageTestCase(ManagerTestCase):
    """
    Helpers: a scratch folder, images removed from every engine afterwards,
    waiting for the manager's cache, checking each engine directly.
    """

    def setUp(self):
        ManagerTestCase.setUp(self)
        self.folder = tempfile.mkdtemp(prefix="swarmd-images-")
        self.addCleanup(shutil.rmtree, self.folder, True)

    def path(self, name):
        return os.path.join(self.folder, name)

    def forget(self, *references):
        """
        Remove these images from every engine when the test ends.
        """

        def remove():
            for engine in self.lab.engines:
                engine.docker("rmi", "-f", *references, check=False)

        self.addCleanup(remove)

    def holders(self, reference):
        """
        @return: the names of the engines that hold C{reference}, asked directly.
        """
        return sorted(e.name for e in self.lab.engines
                      if e.docker("image", "inspect", reference, check=False).returncode == 0)

    def listed(self, *args):
        """
        @return: C{docker images} through the manager, one C{repo:tag id} per row.
        """
        out = self.docker("images", "--no-trunc", "--format",
                          "{{.Repository}}:{{.Tag}} {{.ID}}", *args).stdout
        return out.split("\n")[:-1] if out else []

    def eventually(self, check, timeout=15.0):
        """
        Call C{check} until it returns something true (the manager's cache
        follows engine events within moments).
        """
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.2)

    def new_image(self, reference, engines, size=4096):
        """
        Load a new image (random content, so one ID) into C{engines} directly.

        @return: its ID.
        """
        archive = self.path(reference.replace(":", "_").replace("/", "_") + ".tar")
        image_id = write_saved_image(archive, reference, [size])
        self.forget(reference)
        for engine in engines:
            engine.docker("load", "-i", archive)
        return image_id

    def docker_env(self, *args, env=None, input=None, timeout=120):
        """
        Run the docker CLI against the manager with more environment.
        """
        full = dict(os.environ, DOCKER_HOST=self.manager.docker_host, **(env or {}))
        full.pop("DOCKER_CONTEXT", None)
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=full,
                              input=input, timeout=timeout)


class ImageListTests(ImageTestCase):
    """
    docker images, image inspect, history.
    """

    def test_images_merged(self):
        """An image on both nodes is listed once; one only on n2 is listed too."""
        both = self.new_image("merged:1", self.lab.engines)
        only = self.new_image("only2:1", [self.lab.engine("n2")])
        wanted = {"merged:1 " + both, "only2:1 " + only}
        rows = self.eventually(lambda: wanted <= set(self.listed()) and self.listed())
        self.assertTrue(rows, self.listed())
        self.assertEqual([r for r in rows if r.startswith("merged:")], ["merged:1 " + both])
        self.assertEqual(self.listed("--filter", "node=n1", "--filter", "reference=only2"),
                         [])
        self.assertEqual(self.listed("--filter", "node=n2", "--filter", "reference=only2"),
                         ["only2:1 " + only])

    def test_inspect_and_history(self):
        """image inspect and history answer from the node holding the image."""
        only = self.new_image("seen2:1", [self.lab.engine("n2")])
        self.eventually(lambda: "seen2:1 " + only in self.listed())
        out = self.docker("image", "inspect", "-f", "{{.Id}}", "seen2:1").stdout.strip()
        self.assertEqual(out, only)
        history = self.docker("history", "--no-trunc", "seen2:1").stdout
        self.assertIn("swarmd.testing.lab.registry", history)
        missing = self.docker("image", "inspect", "ghost:404", ok=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("No such image", missing.stderr)


class ImageChangeTests(ImageTestCase):
    """
    docker tag, rmi, image prune.
    """

    def test_tag_where_held(self):
        """tag lands on every node holding the image, and only there."""
        self.forget("tagged:1", "tagged:2")
        self.docker("tag", "busybox", "tagged:1")
        self.assertEqual(self.holders("tagged:1"), ["n1", "n2"])
        self.new_image("lonely:1", [self.lab.engine("n2")])
        self.eventually(lambda: any(r.startswith("lonely:1 ") for r in self.listed()))
        self.docker("tag", "lonely:1", "tagged:2")
        self.assertEqual(self.holders("tagged:2"), ["n2"])
        self.assertIn("tagged:2", " ".join(self.listed()))

    def test_rmi_everywhere(self):
        """rmi removes the image from every node; an unknown image is a 404."""
        self.forget("doomed:1")
        self.docker("tag", "busybox", "doomed:1")
        out = self.docker("rmi", "doomed:1").stdout
        self.assertEqual(out.count("Untagged: doomed:1"), 1, out)
        self.assertEqual(self.holders("doomed:1"), [])
        self.assertNotIn("doomed:1", " ".join(self.listed()))
        refused = self.docker("rmi", "doomed:1", ok=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("No such image: doomed:1", refused.stderr)

    def test_image_prune(self):
        """image prune -f removes dangling images on every node and sums the answers."""
        dangling = {}
        for engine in self.lab.engines:
            out = engine.docker("import", os.path.join(self.lab.base, "busybox.tar")).stdout
            dangling[engine.name] = out.strip()
        self.addCleanup(lambda: [e.docker("rmi", "-f", dangling[e.name], check=False)
                                 for e in self.lab.engines])
        out = self.docker("image", "prune", "-f").stdout
        for image_id in dangling.values():
            self.assertIn("deleted: " + image_id, out)
        self.assertIn("Total reclaimed space:", out)
        for engine in self.lab.engines:
            self.assertNotEqual(engine.docker("image", "inspect", dangling[engine.name],
                                              check=False).returncode, 0)


class TransferTests(ImageTestCase):
    """
    docker save, load and import.
    """

    def test_save_then_load_everywhere(self):
        """save is served by the node holding the image; load lands on every node."""
        only = self.new_image("carried:1", [self.lab.engine("n2")])
        self.eventually(lambda: "carried:1 " + only in self.listed())
        archive = self.path("saved.tar")
        self.docker("save", "-o", archive, "carried:1")
        self.assertGreater(os.path.getsize(archive), 4096)
        self.lab.engine("n2").docker("rmi", "carried:1")
        out = self.docker("load", "-i", archive).stdout
        self.assertIn("n1: Loaded image: carried:1", out)
        self.assertIn("n2: Loaded image: carried:1", out)
        self.assertEqual(self.holders("carried:1"), ["n1", "n2"])
        self.assertIn("carried:1 " + only, self.listed())

    def test_import_everywhere(self):
        """import sends the tarball to every node, each naming itself in the output."""
        self.forget("imported:1")
        out = self.docker("import", os.path.join(self.lab.base, "busybox.tar"),
                          "imported:1").stdout
        self.assertIn("n1: sha256:", out)
        self.assertIn("n2: sha256:", out)
        self.assertEqual(self.holders("imported:1"), ["n1", "n2"])
        self.assertEqual(len([r for r in self.listed() if r.startswith("imported:1 ")]), 2)

    def test_large_load_streams(self):
        """A 100 MB load reaches both nodes while the manager's memory peak stays small."""
        manager = ManagerProcess(self.lab.discovery(), args=FAST_REFRESH,
                                 port=free_port()).start(healthy=len(self.lab.engines))
        self.addCleanup(manager.cleanup)
        archive = self.path("big.tar")
        image_id = write_saved_image(archive, "big:1", [25 * 1024 * 1024] * 4)
        self.forget("big:1")
        before = _hwm_kb(manager.process.pid)
        done = manager.docker("load", "-i", archive, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        after = _hwm_kb(manager.process.pid)
        self.assertEqual(self.holders("big:1"), ["n1", "n2"])
        self.assertEqual(self.lab.engine("n1").docker(
            "image", "inspect", "-f", "{{.Id}}", "big:1").stdout.strip(), image_id)
        # 100 MB went through twice (once per engine); the peak grows by
        # far less than one copy.
        self.assertLess(after - before, 20 * 1024, (before, after))
        self.assertLess(after, 100 * 1024, (before, after))


class BuildTests(ImageTestCase):
    """
    docker build with the legacy builder.
    """

    def context(self):
        folder = self.path("context")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "Dockerfile"), "w") as f:
            f.write("FROM busybox\nRUN echo built > /f\n")
        return folder

    def build(self, tag, *args):
        done = self.docker_env("build", "-t", tag, *args, self.context(),
                               env={"DOCKER_BUILDKIT": "0"})
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done.stdout

    def test_build_on_one_node(self):
        """A build runs on one node, its output streamed back; the image works."""
        self.forget("built:1")
        out = self.build("built:1")
        self.assertIn("Step 2/2 : RUN echo built > /f", out)
        self.assertIn("Successfully tagged built:1", out)
        holders = self.holders("built:1")
        self.assertEqual(len(holders), 1, holders)
        ran = self.docker("run", "--rm", "built:1", "cat", "/f").stdout
        self.assertEqual(ran, "built\n")

    def test_build_arg_constraint(self):
        """--build-arg constraint:node==n2 builds on n2; the argument is not a build arg."""
        self.forget("built:n2", "built:n1")
        out = self.build("built:n2", "--build-arg", "constraint:node==n2")
        self.assertNotIn("constraint:node", out)
        self.assertEqual(self.holders("built:n2"), ["n2"])
        self.build("built:n1", "--build-arg", "constraint:node==n1")
        self.assertEqual(self.holders("built:n1"), ["n1"])
        refused = self.docker_env("build", "-t", "built:n9", "--build-arg",
                                  "constraint:node==n9", self.context(),
                                  env={"DOCKER_BUILDKIT": "0"})
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("Unable to find a node that satisfies", refused.stderr)


class RegistryTests(ImageTestCase):
    """
    pull, run and push against a loopback registry; search and login.
    """

    def setUp(self):
        ImageTestCase.setUp(self)
        saved = self.path("busybox.tar")
        self.lab.engines[0].docker("save", "-o", saved, "busybox:latest")
        self.registry = Registry().start()
        self.addCleanup(self.registry.stop)
        self.registry.add_saved_image("busybox", "latest", saved)
        self.registry.add_saved_image(
            "other", "latest", saved,
            update=lambda config: config["config"].update(Labels={"swarmd.test": "other"}))
        self.reg = self.registry.address

    def test_pull_on_every_node(self):
        """pull runs on both nodes, progress lines name them, both hold the image."""
        reference = self.reg + "/other:latest"
        self.forget(reference)
        done = self.docker("pull", reference)
        for node in ("n1", "n2"):
            self.assertIn("%s: Status: Downloaded newer image for %s" % (node, reference),
                          done.stdout)
        self.assertEqual(self.holders(reference), ["n1", "n2"])
        self.assertEqual(len(self.registry.tags("other")), 1)

    def test_run_pulls_where_placed(self):
        """run of an image no node has pulls it on the node the container goes to."""
        reference = self.reg + "/other"
        self.forget(reference)
        done = self.docker("run", "--rm", "-e", "constraint:node==n2", reference,
                           "echo", "hi")
        self.assertEqual(done.stdout, "hi\n")
        self.assertEqual(self.holders(reference), ["n2"])

    def test_push_reaches_registry(self):
        """push through the manager goes from a node holding the tag to the registry."""
        reference = self.reg + "/pushed:1"
        self.forget(reference)
        self.docker("tag", "busybox", reference)
        out = self.docker("push", reference).stdout
        self.assertIn("1: digest: sha256:", out)
        self.assertEqual(self.registry.tags("pushed"), ["1"])
        self.assertIn(("PUT", "/v2/pushed/manifests/1"), self.registry.requests)

    def test_pull_missing_fails_per_node(self):
        """A pull of a repository the registry lacks fails with its error for each node."""
        done = self.docker("pull", self.reg + "/nope:1", ok=False)
        self.assertNotEqual(done.returncode, 0)
        for node in ("n1", "n2"):
            self.assertIn("%s: repository %s/nope not found: name unknown: repository name "
                          "not known to registry" % (node, self.reg), done.stderr)

    def test_search_fails_cleanly(self):
        """search against a registry that is not there fails with the engine's refusal."""
        done = self.docker("search", "127.0.0.1:%d/busybox" % (free_port(),), ok=False,
                           timeout=60)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("Error response from daemon", done.stderr)
        self.assertIn("connection refused", done.stderr)

    def test_login(self):
        """login goes to an engine, which checks the credentials with the registry."""
        guarded = Registry(auth=("swarm", "s3cret")).start()
        self.addCleanup(guarded.stop)
        config = self.path("cli-config")
        wrong = self.docker("--config", config, "login", "-u", "swarm", "--password-stdin",
                            guarded.address, input="nope\n", ok=False)
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("401 Unauthorized", wrong.stderr)
        right = self.docker("--config", config, "login", "-u", "swarm", "--password-stdin",
                            guarded.address, input="s3cret\n")
        self.assertIn("Login Succeeded", right.stdout)
        self.assertIn(("GET", "/v2/"), guarded.requests)
