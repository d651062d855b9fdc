"""
HTTP connection pools that do not log a line per connection: Twisted's
client factory is noisy, so every pooled connection to an engine or a
store wrote "Starting factory" and "Stopping factory" at info.
"""

from twisted.web.client import HTTPConnectionPool, _HTTP11ClientFactory

__all__ = ["QuietFactory", "quiet_pool"]


class QuietFactory(_HTTP11ClientFactory):
    """
    A pool's connection factory without a log line per new connection.
    """

    noisy = False


def quiet_pool(reactor, persistent=True):
    """
    @return: an L{HTTPConnectionPool} whose connections are made quietly.
    """
    pool = HTTPConnectionPool(reactor, persistent=persistent)
    pool._factory = QuietFactory
    return pool
