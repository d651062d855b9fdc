"""
Large answers of the channel's direct path (L{swarmd.api.direct}): the head
and the body written apart, the same bytes as Twisted's path.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api import direct
from swarmd.api.site import DockerSite
from tests.unit.test_direct import _Connection, _manager, _root, _same_second, _Taken


class LargeAnswerTests(SynchronousTestCase):
    """
    Bodies over L{direct.JOINED_AT_MOST} bytes.
    """

    def setUp(self):
        self.patch(direct, "JOINED_AT_MOST", 64)
        self.manager = _manager(self)
        self.taken = _Taken(self)

    def test_same_bytes(self):
        """
        A large list and inspect go out head first, then the body itself:
        the same bytes as Twisted's path, taken directly.
        """
        site = DockerSite(_root(self.manager))
        for path in (b"/v1.41/containers/json?all=1", b"/v1.41/containers/web/json"):
            read = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n"
            answers = []
            for direct_answers in (True, False):
                del self.taken.taken[:]
                connection = _Connection(site, direct_answers)
                writes = []
                write = connection.transport.write
                connection.transport.write = (
                    lambda data, writes=writes, write=write: (writes.append(data), write(data)))
                answers.append(_same_second(connection.send(read)))
                if direct_answers:
                    self.assertEqual(self.taken.taken, [True])
                    # The head, then the body apart (not a copy behind its head).
                    self.assertEqual(len(writes), 2)
                    self.assertTrue(writes[0].endswith(b"\r\n\r\n"))
            self.assertEqual(answers[0], answers[1])
            head, _, body = answers[0].partition(b"\r\n\r\n")
            self.assertGreater(len(body), 64)
            self.assertIn(b"Content-Length: %d\r\n" % (len(body),), head + b"\r\n")
