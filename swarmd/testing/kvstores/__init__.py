"""
Real stores (etcd, ZooKeeper) started on loopback ports for tests, a fake
Consul following Consul's documented HTTP API, and a TCP proxy that tests
cut to make a store unreachable.

Every store is started by a test and stopped by its cleanup.  A store whose
program is missing skips the test, except under C{CI=true}, where that is a
failure (as for real Docker engines, see L{swarmd.testing.functional}).
"""
