"""
Tests for L{swarmd.discovery._entries}: addresses, ranges, de-duplication.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from swarmd.discovery import (
    DiscoveryError,
    expand_range,
    normalize_address,
    parse_entries,
    parse_entry,
    split_host_port,
)
from swarmd.discovery._entries import MAX_RANGE

#: (entry, expansion)
RANGES = [
    ("10.0.0.[10:12]:2375", ["10.0.0.10:2375", "10.0.0.11:2375", "10.0.0.12:2375"]),
    ("10.0.0.[7:7]:2375", ["10.0.0.7:2375"]),
    ("10.0.[0:1].5:2375", ["10.0.0.5:2375", "10.0.1.5:2375"]),
    ("node[1:3].lab:2375", ["node1.lab:2375", "node2.lab:2375", "node3.lab:2375"]),
    ("10.0.0.1:[2375:2377]", ["10.0.0.1:2375", "10.0.0.1:2376", "10.0.0.1:2377"]),
    ("10.0.0.[08:10]:2375", ["10.0.0.8:2375", "10.0.0.9:2375", "10.0.0.10:2375"]),
    ("[1:2]:2375", ["1:2375", "2:2375"]),
    ("10.0.0.1:2375", ["10.0.0.1:2375"]),
    ("[::1]:2375", ["[::1]:2375"]),
    ("unix:///tmp/[1:3].sock", ["unix:///tmp/[1:3].sock"]),
]

#: (entry, part of the error message)
BAD_RANGES = [
    ("10.0.0.[12:10]:2375", "invalid range '[12:10]' (start after end)"),
    ("10.0.0.[a:b]:2375", "invalid range '[a:b]'"),
    ("10.0.0.[1:]:2375", "invalid range '[1:]'"),
    ("10.0.0.[:3]:2375", "invalid range '[:3]'"),
    ("10.0.0.[3]:2375", "invalid range '[3]'"),
    ("10.0.0.[-1:3]:2375", "invalid range '[-1:3]'"),
    ("10.0.0.[1:2:3]:2375", "invalid range '[1:2:3]'"),
    ("10.0.0.[ 1:3]:2375", "invalid range '[ 1:3]'"),
    ("10.0.[0:1].[1:2]:2375", "more than one range"),
    ("10.[0:1].0.1:[1:2]", "more than one range"),
    (f"10.0.0.[0:{MAX_RANGE}]:2375", "too large"),
]

#: (address, Go's net.SplitHostPort error)
SPLIT_ERRORS = [
    ("10.0.0.1", "address 10.0.0.1: missing port in address"),
    ("::1", "address ::1: too many colons in address"),
    ("a:b:2375", "address a:b:2375: too many colons in address"),
    ("[::1", "address [::1: missing ']' in address"),
    ("[::1]", "address [::1]: missing port in address"),
    ("[::1]2375", "address [::1]2375: missing port in address"),
    ("[::1]::2375", "address [::1]::2375: too many colons in address"),
    ("a[b:2375", "address a[b:2375: unexpected '[' in address"),
    ("ab]:2375", "address ab]:2375: unexpected ']' in address"),
    ("[[::1]:2375", "address [[::1]:2375: unexpected '[' in address"),
]

#: (address, error)
BAD_ADDRESSES = SPLIT_ERRORS + [
    ("10.0.0.1:", "address 10.0.0.1:: missing port in address"),
    (":2375", "address :2375: missing host in address"),
    ("10.0.0.1:0", "address 10.0.0.1:0: invalid port '0' (want 1-65535)"),
    ("10.0.0.1:65536", "address 10.0.0.1:65536: invalid port '65536' (want 1-65535)"),
    ("10.0.0.1:http", "address 10.0.0.1:http: invalid port 'http' (want 1-65535)"),
    ("10.0.0.1:-1", "address 10.0.0.1:-1: invalid port '-1' (want 1-65535)"),
    ("10.0.0.1:²", "address 10.0.0.1:²: invalid port '²' (want 1-65535)"),
    ("[fe80::zz]:2375", "address [fe80::zz]:2375: invalid IPv6 address 'fe80::zz'"),
    ("[10.0.0.1]:2375", "address [10.0.0.1]:2375: invalid IPv6 address '10.0.0.1'"),
    ("host name:2375", "address host name:2375: invalid host 'host name'"),
    ("a/b:2375", "address a/b:2375: invalid host 'a/b'"),
    ("tcp://10.0.0.1:2375",
     ("address tcp://10.0.0.1:2375: unexpected scheme in address "
      "(want host:port or unix:///path)")),
    ("unix://docker.sock",
     "address unix://docker.sock: a unix socket address is unix:///absolute/path"),
    ("unix:///", "address unix:///: a unix socket address is unix:///absolute/path"),
]


class SplitHostPortTests(SynchronousTestCase):
    """
    Tests for L{split_host_port}.
    """

    def test_host_and_port(self):
        """
        host:port splits at the last colon.
        """
        self.assertEqual(split_host_port("example.com:2375"), ("example.com", "2375"))

    def test_ipv6(self):
        """
        [v6]:port gives the address without brackets.
        """
        self.assertEqual(split_host_port("[fe80::1%eth0]:2375"), ("fe80::1%eth0", "2375"))

    def test_go_errors(self):
        """
        Malformed addresses fail with Go's net.SplitHostPort messages.
        """
        for address, message in SPLIT_ERRORS:
            with self.assertRaises(DiscoveryError) as caught:
                split_host_port(address)
            self.assertEqual(str(caught.exception), message)


class NormalizeAddressTests(SynchronousTestCase):
    """
    Tests for L{normalize_address}.
    """

    def test_valid(self):
        """
        Valid addresses come back canonical: ports without leading zeros,
        IPv6 in brackets, unix paths verbatim.
        """
        for address, canonical in [
            ("10.0.0.1:2375", "10.0.0.1:2375"),
            ("10.0.0.1:02375", "10.0.0.1:2375"),
            ("10.0.0.1:1", "10.0.0.1:1"),
            ("10.0.0.1:65535", "10.0.0.1:65535"),
            ("Docker-1.example_lab.com:2376", "Docker-1.example_lab.com:2376"),
            ("localhost:2375", "localhost:2375"),
            ("[::1]:2375", "[::1]:2375"),
            ("[2001:db8::5]:2375", "[2001:db8::5]:2375"),
            ("[fe80::1%eth0]:2375", "[fe80::1%eth0]:2375"),
            ("unix:///var/run/docker.sock", "unix:///var/run/docker.sock"),
            ("unix:///tmp/lab dir/e[1].sock", "unix:///tmp/lab dir/e[1].sock"),
        ]:
            self.assertEqual(normalize_address(address), canonical)

    def test_invalid(self):
        """
        Each kind of bad address has its own message naming the address.
        """
        for address, message in BAD_ADDRESSES:
            with self.assertRaises(DiscoveryError) as caught:
                normalize_address(address)
            self.assertEqual(str(caught.exception), message)


class ExpandRangeTests(SynchronousTestCase):
    """
    Tests for L{expand_range}.
    """

    def test_table(self):
        """
        One [start:end] range expands inclusively, wherever it is; entries
        without one (IPv6 hosts, unix paths) come back alone.
        """
        for entry, expected in RANGES:
            self.assertEqual(expand_range(entry), expected, entry)

    def test_bad_ranges(self):
        """
        Malformed ranges and several ranges in one entry are errors.
        """
        for entry, message in BAD_RANGES:
            with self.assertRaises(DiscoveryError) as caught:
                expand_range(entry)
            self.assertIn(message, str(caught.exception))
            self.assertTrue(str(caught.exception).startswith(f"address {entry}: "))

    def test_largest_range(self):
        """
        A range of exactly MAX_RANGE values is allowed.
        """
        self.assertEqual(len(expand_range(f"h[1:{MAX_RANGE}]:2375")), MAX_RANGE)

    @given(st.integers(0, 300), st.integers(0, 300))
    def test_inclusive(self, start, size):
        """
        [start:start+size] gives size+1 distinct entries from start to the
        end, in order.
        """
        end = start + size
        expanded = expand_range(f"10.0.[{start}:{end}].1:2375")
        self.assertEqual(expanded, [f"10.0.{n}.1:2375" for n in range(start, end + 1)])


class ParseEntryTests(SynchronousTestCase):
    """
    Tests for L{parse_entry} and L{parse_entries}.
    """

    def test_strips_spaces(self):
        """
        Spaces around an entry are ignored.
        """
        self.assertEqual(parse_entry("  10.0.0.1:2375\t"), ["10.0.0.1:2375"])

    def test_empty(self):
        """
        An empty entry is an error.
        """
        with self.assertRaises(DiscoveryError) as caught:
            parse_entry("  ")
        self.assertEqual(str(caught.exception),
                         "empty address (want host:port or unix:///path)")

    def test_range_checked(self):
        """
        Every address of an expanded range is checked.
        """
        with self.assertRaises(DiscoveryError) as caught:
            parse_entry("10.0.0.1:[65535:65536]")
        self.assertEqual(str(caught.exception),
                         "address 10.0.0.1:65536: invalid port '65536' (want 1-65535)")

    def test_range_in_ipv6_port(self):
        """
        An IPv6 host may take a port range.
        """
        self.assertEqual(parse_entry("[::1]:[2375:2376]"), ["[::1]:2375", "[::1]:2376"])

    def test_dedup_keeps_order(self):
        """
        parse_entries drops later duplicates (also after expansion and
        canonical ports) and keeps first-seen order.
        """
        self.assertEqual(
            parse_entries([
                "10.0.0.2:2375",
                "10.0.0.[1:3]:2375",
                "unix:///run/a.sock",
                "10.0.0.1:02375",
                "unix:///run/a.sock",
                "[::1]:2375",
                "[::1]:2375",
            ]),
            ["10.0.0.2:2375", "10.0.0.1:2375", "10.0.0.3:2375", "unix:///run/a.sock",
             "[::1]:2375"],
        )

    def test_first_error(self):
        """
        parse_entries fails on the first bad entry.
        """
        with self.assertRaises(DiscoveryError) as caught:
            parse_entries(["10.0.0.1:2375", "bad", "worse:"])
        self.assertEqual(str(caught.exception), "address bad: missing port in address")
