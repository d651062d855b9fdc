"""
Errors of leader election.
"""


class LeadershipLost(Exception):
    """
    The leader key is no longer held by this manager.
    """
