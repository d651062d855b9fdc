"""
The operator's guide in docs/: the flag reference is what the code says,
links lead somewhere, the architecture picture has its source, and the
pages quote the code's own names and messages.
"""

import os
import re
import shutil
import subprocess
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from swarmd import API_VERSION, MIN_API_VERSION, _log, docs_flags
from swarmd.scheduler.errors import NoHealthyNode, NoMatchingNode, NoResources

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def read(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return f.read()


class FlagReferenceTests(SynchronousTestCase):
    """
    docs/flags.md.
    """

    def test_current(self):
        """docs/flags.md is what swarmd.docs_flags prints from the Options classes now."""
        self.assertTrue(
            read("flags.md") == docs_flags.render(),
            "docs/flags.md is stale: regenerate it with `%s` and commit it" % (
                docs_flags.COMMAND,))

    def test_every_flag_listed(self):
        """Every long flag of every command is in the reference, with its default."""
        from swarmd.tap import ManageOptions

        text = docs_flags.render()
        options = ManageOptions(environ={}, check_url=lambda url: None)
        for spelled in options.longOpt:
            name = spelled.rstrip("=")
            if name not in ("help", "version"):
                self.assertIn("`--%s" % (name,), text)
        self.assertIn("| `--shutdown-timeout=VALUE` |  |  | `10s` |", text)
        self.assertIn("| `--advertise=VALUE` |  | `--addr` |", text)
        self.assertIn("| `--host=VALUE` | `-H` |", text)


class PageTests(SynchronousTestCase):
    """
    The pages and their links.
    """

    def test_links(self):
        """Every relative link of every page leads to a file that exists."""
        pages = [name for name in os.listdir(DOCS) if name.endswith(".md")]
        self.assertIn("README.md", pages)
        for page in pages:
            for target, _anchor in LINK.findall(read(page)):
                if "://" in target:
                    continue
                path = os.path.normpath(os.path.join(DOCS, target))
                self.assertTrue(os.path.exists(path), "%s links to missing %s" % (page, target))

    def test_index_lists_every_page(self):
        """docs/README.md links every page of the guide."""
        index = read("README.md")
        for page in os.listdir(DOCS):
            if page.endswith(".md") and page != "README.md":
                self.assertIn("(%s)" % (page,), index)

    def test_event_names(self):
        """The logs page documents every stable event name, and no other."""
        text = read("logs.md")
        for name in _log.EVENT_NAMES:
            self.assertIn("| `%s` |" % (name,), text)
        listed = re.findall(r"^\| `([a-z.]+)` \|", text, re.M)
        self.assertEqual(sorted(listed), sorted(_log.EVENT_NAMES))

    def test_troubleshooting_quotes_the_code(self):
        """The troubleshooting page quotes the messages the code gives."""
        text = read("troubleshooting.md")
        for message in (NoHealthyNode.MESSAGE, NoMatchingNode.PREFIX.strip(),
                        NoResources.MESSAGE,
                        "Maximum supported API version is %s" % (API_VERSION,),
                        "Minimum supported API version is %s" % (MIN_API_VERSION,)):
            self.assertIn(message, text)


class PictureTests(SynchronousTestCase):
    """
    docs/architecture.png and its graphviz source.
    """

    def test_picture_and_source(self):
        """The PNG is a PNG, and its source renders (when graphviz is installed)."""
        with open(os.path.join(DOCS, "architecture.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        if shutil.which("dot") is None:
            self.skipTest("graphviz (dot) is not installed")
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        out = os.path.join(folder, "a.png")
        subprocess.run(["dot", "-Tpng", os.path.join(DOCS, "architecture.dot"), "-o", out],
                       check=True, capture_output=True, timeout=60)
        with open(out, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
