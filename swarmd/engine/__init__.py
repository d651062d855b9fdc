"""
One Docker engine: the client that talks to it and its errors.
"""

from swarmd.engine._interfaces import IBatchEngineClient, ICallRecord, IEngineClient, IEventStream
from swarmd.engine.client import EngineClient, JSONStreamParser, split_reference
from swarmd.engine.endpoints import address_ip, engine_endpoint, host_header, split_address
from swarmd.engine.errors import EngineError, EngineUnreachable

__all__ = [
    "IEngineClient",
    "IBatchEngineClient",
    "ICallRecord",
    "IEventStream",
    "EngineClient",
    "JSONStreamParser",
    "split_reference",
    "address_ip",
    "engine_endpoint",
    "host_header",
    "split_address",
    "EngineError",
    "EngineUnreachable",
]
