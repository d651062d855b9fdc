"""
swarmd: classic (standalone) Docker Swarm on Twisted.

A manager fronts many Docker engines and speaks the Docker remote API.
"""

__version__ = "0.1.0"

#: The Docker remote API version the manager advertises and speaks.
API_VERSION = "1.41"

#: The oldest API version the manager accepts from clients.
MIN_API_VERSION = "1.12"
