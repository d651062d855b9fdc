"""
Tests for L{swarmd.discovery.FileDiscovery}: C{file://} discovery.
"""

import os

from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from swarmd.discovery import (
    DiscoveryError,
    DiscoveryNotSupported,
    FileDiscovery,
    discovery_for,
    parse_file_content,
)
from swarmd.testing.conformance.discovery import DiscoverySource, make_idiscovery_tests

HEARTBEAT = 10.0


def file_fixture(testcase, entries):
    """
    A file:// discovery over a file listing C{entries}, one a line;
    C{fail_reads} deletes the file and C{change} writes it again.
    """
    path = os.path.abspath(testcase.mktemp())

    def change(new):
        with open(path, "w") as f:
            f.write("".join(entry + "\n" for entry in new))

    def fail_reads():
        if os.path.exists(path):
            os.remove(path)

    change(entries)
    clock = Clock()
    provider = discovery_for("file://" + path, heartbeat=HEARTBEAT, clock=clock)
    return DiscoverySource(provider=provider, clock=clock, change=change,
                           fail_reads=fail_reads, poll=HEARTBEAT)


class FileConformanceTests(make_idiscovery_tests(file_fixture)):
    """
    file:// passes the IDiscovery suite.
    """


class ParseFileContentTests(SynchronousTestCase):
    """
    Tests for L{parse_file_content}.
    """

    def test_comments_blank_lines_spaces(self):
        """
        Blank lines and # comments (whole-line or trailing) are ignored,
        spaces around entries stripped, ranges expanded, duplicates dropped.
        """
        text = (
            "# engines of the lab\n"
            "\n"
            "   10.0.0.1:2375   \n"
            "\t10.0.0.[2:3]:2375 # rack 2\n"
            "   # indented comment\n"
            "unix:///run/e1.sock\n"
            "[::1]:2375#no space before the comment\n"
            "10.0.0.2:2375\n"
            "   \n"
        )
        self.assertEqual(
            parse_file_content(text),
            ["10.0.0.1:2375", "10.0.0.2:2375", "10.0.0.3:2375", "unix:///run/e1.sock",
             "[::1]:2375"],
        )

    def test_crlf(self):
        """
        Windows line ends are fine.
        """
        self.assertEqual(parse_file_content("10.0.0.1:2375\r\n10.0.0.2:2375\r\n"),
                         ["10.0.0.1:2375", "10.0.0.2:2375"])

    def test_empty(self):
        """
        A file with only comments lists no engines.
        """
        self.assertEqual(parse_file_content("# nothing yet\n\n"), [])

    def test_bad_line(self):
        """
        A bad entry is an error naming the file and the line.
        """
        with self.assertRaises(DiscoveryError) as caught:
            parse_file_content("# x\n10.0.0.1:2375\n10.0.0.2\n", "'/etc/cluster'")
        self.assertEqual(str(caught.exception),
                         "'/etc/cluster' line 3: address 10.0.0.2: missing port in address")


class FileDiscoveryTests(SynchronousTestCase):
    """
    What is particular to file://.
    """

    def setUp(self):
        self.clock = Clock()
        self.path = os.path.abspath(self.mktemp())
        self.write("10.0.0.1:2375\n")
        self.provider = discovery_for("file://" + self.path, heartbeat=HEARTBEAT,
                                      clock=self.clock)
        self.lists = []
        self.failures = []

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def watch(self):
        watch = self.provider.watch(self.lists.append, self.failures.append)
        self.addCleanup(watch.stop)
        return watch

    def test_provider(self):
        """
        file:///path builds a FileDiscovery of that path and heartbeat.
        """
        self.assertIsInstance(self.provider, FileDiscovery)
        self.assertEqual((self.provider.scheme, self.provider.path, self.provider.heartbeat),
                         ("file", self.path, HEARTBEAT))

    def test_relative_path(self):
        """
        file://relative/path is a path relative to the working directory,
        as in classic Swarm.
        """
        self.assertEqual(discovery_for("file://cluster/nodes", clock=self.clock).path,
                         "cluster/nodes")

    def test_first_read_next_turn(self):
        """
        watch reads nothing inside watch(); the first read is on the next
        clock turn.
        """
        self.watch()
        self.write("10.0.0.2:2375\n")
        self.assertEqual(self.lists, [])
        self.clock.advance(0)
        self.assertEqual(self.lists, [["10.0.0.2:2375"]])

    def test_change_after_one_heartbeat(self):
        """
        A change is picked up at the next heartbeat, not before.
        """
        self.watch()
        self.clock.advance(0)
        self.write("10.0.0.1:2375\n10.0.0.[5:6]:2375\n")
        self.clock.advance(HEARTBEAT - 0.5)
        self.assertEqual(self.lists, [["10.0.0.1:2375"]])
        self.clock.advance(0.5)
        self.assertEqual(self.lists, [["10.0.0.1:2375"],
                                      ["10.0.0.1:2375", "10.0.0.5:2375", "10.0.0.6:2375"]])

    def test_unchanged_no_second_callback(self):
        """
        Rewriting the file with other text but the same entries gives no
        second callback.
        """
        self.watch()
        self.clock.advance(0)
        self.write("# now with a comment\n 10.0.0.1:2375 \n10.0.0.1:2375\n")
        self.clock.pump([HEARTBEAT] * 4)
        self.assertEqual(self.lists, [["10.0.0.1:2375"]])

    def test_order_change_is_a_change(self):
        """
        The same entries in another order are a new list.
        """
        self.write("10.0.0.1:2375\n10.0.0.2:2375\n")
        self.watch()
        self.clock.advance(0)
        self.write("10.0.0.2:2375\n10.0.0.1:2375\n")
        self.clock.advance(HEARTBEAT)
        self.assertEqual(self.lists, [["10.0.0.1:2375", "10.0.0.2:2375"],
                                      ["10.0.0.2:2375", "10.0.0.1:2375"]])

    def test_missing_file_then_recovery(self):
        """
        A missing file goes to the errback at every heartbeat; when it comes
        back with new entries the watch calls back.
        """
        os.remove(self.path)
        self.watch()
        self.clock.advance(0)
        self.clock.advance(HEARTBEAT)
        self.assertEqual(self.lists, [])
        self.assertEqual(len(self.failures), 2)
        self.assertIsInstance(self.failures[0], Failure)
        self.assertEqual(
            self.failures[0].getErrorMessage(),
            f"failed to read {self.path!r}: no such file or directory",
        )
        self.write("10.0.0.3:2375\n")
        self.clock.advance(HEARTBEAT)
        self.assertEqual(self.lists, [["10.0.0.3:2375"]])
        self.assertEqual(len(self.failures), 2)

    def test_bad_entry_then_fix(self):
        """
        A bad entry fails the read (errback, line named), keeps the last
        good list, and watching goes on.
        """
        self.watch()
        self.clock.advance(0)
        self.write("10.0.0.1:2375\n10.0.0.[9:1]:2375\n")
        self.clock.advance(HEARTBEAT)
        self.assertEqual(len(self.failures), 1)
        self.failures[0].trap(DiscoveryError)
        self.assertEqual(
            self.failures[0].getErrorMessage(),
            f"{self.path!r} line 2: address 10.0.0.[9:1]:2375: invalid range '[9:1]' "
            "(start after end)",
        )
        self.write("10.0.0.1:2375\n10.0.0.9:2375\n")
        self.clock.advance(HEARTBEAT)
        self.assertEqual(self.lists, [["10.0.0.1:2375"], ["10.0.0.1:2375", "10.0.0.9:2375"]])

    def test_unreadable_content(self):
        """
        A file that is not UTF-8 text fails the read with DiscoveryError.
        """
        with open(self.path, "wb") as f:
            f.write(b"\xff\xfe10.0.0.1:2375\n")
        failure = self.failureResultOf(self.provider.fetch(), DiscoveryError)
        self.assertIn(f"failed to read {self.path!r}", failure.getErrorMessage())

    def test_directory(self):
        """
        A directory instead of a file fails the read with DiscoveryError.
        """
        provider = FileDiscovery(os.path.dirname(self.path), HEARTBEAT, self.clock)
        self.failureResultOf(provider.fetch(), DiscoveryError)

    def test_errback_error_contained(self):
        """
        An errback that raises does not stop the LoopingCall.
        """
        os.remove(self.path)

        def errback(failure):
            self.failures.append(failure)
            raise ZeroDivisionError("watcher bug")

        watch = self.provider.watch(self.lists.append, errback)
        self.addCleanup(watch.stop)
        self.clock.advance(0)
        self.clock.advance(HEARTBEAT)
        self.assertEqual(len(self.failures), 2)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 2)
        self.write("10.0.0.1:2375\n")
        self.clock.advance(HEARTBEAT)
        self.assertEqual(self.lists, [["10.0.0.1:2375"]])

    def test_fetch_reads_now(self):
        """
        fetch reads the file at once, without waiting for a heartbeat.
        """
        self.write("10.0.0.7:2375\n")
        self.assertEqual(self.successResultOf(self.provider.fetch()), ["10.0.0.7:2375"])

    def test_register(self):
        """
        register fails with DiscoveryNotSupported saying why.
        """
        failure = self.failureResultOf(self.provider.register("10.0.0.1:2375"),
                                       DiscoveryNotSupported)
        self.assertEqual(failure.getErrorMessage(),
                         "file discovery cannot register engines: add them to the file")

    def test_bad_settings(self):
        """
        An empty path or a heartbeat not above zero is refused.
        """
        with self.assertRaises(DiscoveryError) as caught:
            discovery_for("file://", clock=self.clock)
        self.assertEqual(str(caught.exception),
                         "file discovery needs a path: file:///path/to/file")
        for heartbeat in (0, -1.0):
            with self.assertRaises(DiscoveryError):
                discovery_for("file:///etc/cluster", heartbeat=heartbeat, clock=self.clock)
