"""
Tests for L{swarmd.address}: the one place addresses are split.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.address import (
    AddressError,
    address_host,
    parse_port,
    split_address,
    split_host_port,
)


class SplitHostPortTests(SynchronousTestCase):
    """
    L{split_host_port} splits as Go's C{net.SplitHostPort} does.
    """

    def test_forms(self):
        """A host name, IPv4, bracketed IPv6 (with a zone) and an empty host split."""
        self.assertEqual(split_host_port("example.com:2375"), ("example.com", "2375"))
        self.assertEqual(split_host_port("10.0.0.1:2375"), ("10.0.0.1", "2375"))
        self.assertEqual(split_host_port("[fe80::1%eth0]:2375"), ("fe80::1%eth0", "2375"))
        self.assertEqual(split_host_port(":2375"), ("", "2375"))

    def test_errors(self):
        """Each malformed address gets Go's message, as an AddressError (a ValueError)."""
        for address, why in [("10.0.0.1", "missing port in address"),
                             ("::1:2375", "too many colons in address"),
                             ("[::1:2375", "missing ']' in address"),
                             ("[::1]2375", "missing port in address"),
                             ("a[b:2375", "unexpected '[' in address"),
                             ("a]b:2375", "unexpected ']' in address")]:
            with self.assertRaises(AddressError) as caught:
                split_host_port(address)
            self.assertEqual(str(caught.exception), "address %s: %s" % (address, why))
            self.assertIsInstance(caught.exception, ValueError)


class ParsePortTests(SynchronousTestCase):
    """
    L{parse_port} reads 1..65535 written in ASCII digits.
    """

    def test_ports(self):
        """In-range ports (leading zeros too) are numbers, anything else is None."""
        self.assertEqual(parse_port("2375"), 2375)
        self.assertEqual(parse_port("02375"), 2375)
        self.assertEqual(parse_port("65535"), 65535)
        for text in ["0", "65536", "", "-1", "+80", "80a", "\u0668\u0660"]:
            self.assertIsNone(parse_port(text), text)


class SplitAddressTests(SynchronousTestCase):
    """
    L{split_address} splits an engine address into kind, host and port.
    """

    def test_tcp_and_unix(self):
        """host:port, [v6]:port and unix:///path split; brackets go."""
        self.assertEqual(split_address("127.0.0.1:2375"), ("tcp", "127.0.0.1", 2375))
        self.assertEqual(split_address("[::1]:2375"), ("tcp", "::1", 2375))
        self.assertEqual(split_address("unix:///run/docker.sock"),
                         ("unix", "/run/docker.sock", None))

    def test_refused(self):
        """No port, no host, a bad port and a relative unix path raise ValueError."""
        for address in ["127.0.0.1", ":2375", "127.0.0.1:x", "127.0.0.1:0",
                        "127.0.0.1:65536", "unix://run/docker.sock"]:
            self.assertRaises(ValueError, split_address, address)


class AddressHostTests(SynchronousTestCase):
    """
    L{address_host} finds the host of an address, never raising.
    """

    def test_hosts(self):
        """Schemes and paths go, brackets go, unix sockets and localhost are 127.0.0.1."""
        for address, host in [("10.0.0.1:2375", "10.0.0.1"),
                              ("tcp://10.0.0.2:2375/x", "10.0.0.2"),
                              ("[::1]:2375", "::1"),
                              ("localhost:2375", "127.0.0.1"),
                              ("unix:///run/docker.sock", "127.0.0.1"),
                              ("/run/docker.sock", "127.0.0.1"),
                              ("node7", "node7")]:
            self.assertEqual(address_host(address), host, address)
