"""
The errors discovery providers raise and fail with.
"""


class DiscoveryError(Exception):
    """
    A discovery URL, entry or source is unusable.

    The message is meant for users as it is (the command line prints it).
    """


class DiscoveryNotSupported(DiscoveryError):
    """
    A discovery (or one operation of it, such as registration) is not
    supported.
    """
