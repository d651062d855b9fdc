"""
swarm join and manage on swarmd's token service, over a lab of two real
engines.
"""

import tempfile

from twisted.trial.unittest import SynchronousTestCase

from swarmd.testing.kvstores.joins import JoinScenario, TokenServiceProcess


class TokenJoinTests(JoinScenario, SynchronousTestCase):
    """
    The join scenario on the token service (twistd swarm token-service).
    """

    def start_store(self):
        service = TokenServiceProcess(tempfile.mkdtemp(prefix="swarmd-token-"))
        self.addCleanup(service.stop)
        service.start()
        token = service.create()
        return (f"token://{token}", service.stop, service.start,
                ["--discovery-opt", f"token.url={service.url}"])
