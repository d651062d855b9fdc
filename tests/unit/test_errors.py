"""
Tests for L{swarmd.errors.StatusError}, the one base of the errors the
manager answers with their own status and message.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api.errors import DockerError
from swarmd.cluster.cluster import ClusterError
from swarmd.engine import EngineError
from swarmd.errors import StatusError


class StatusErrorTests(SynchronousTestCase):
    """
    The API's, an engine's and the cluster's errors share one base.
    """

    def test_one_base(self):
        """Each is a StatusError with its status, message and the message as text."""
        for error, status in [(DockerError(404, "no such thing"), 404),
                              (EngineError(409, "no such thing"), 409),
                              (ClusterError("no such thing"), 500),
                              (ClusterError("no such thing", 503), 503)]:
            self.assertIsInstance(error, StatusError)
            self.assertEqual((error.status, error.message, str(error)),
                             (status, "no such thing", "no such thing"))

    def test_cluster_error_class_status(self):
        """A ClusterError subclass's class-level status is used when none is given."""

        class Busy(ClusterError):
            status = 503

        self.assertEqual(Busy("busy").status, 503)
        self.assertEqual(Busy("busy", 409).status, 409)

    def test_engine_error_from_body(self):
        """EngineError.from_body still reads Docker's JSON message."""
        error = EngineError.from_body(404, b'{"message": "gone"}')
        self.assertEqual((error.status, str(error)), (404, "gone"))
