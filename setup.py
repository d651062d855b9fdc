from setuptools import setup

from swarmd import __version__

setup(
    name="swarmd",
    version=__version__,
    description="Classic (standalone) Docker Swarm rebuilt on Twisted",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=[
        "swarmd",
        "swarmd.api",
        "swarmd.cluster",
        "swarmd.discovery",
        "swarmd.engine",
        "swarmd.ha",
        "swarmd.metrics",
        "swarmd.options",
        "swarmd.scheduler",
        "swarmd.testing",
        "swarmd.testing.conformance",
        "swarmd.testing.conformance.engine",
        "swarmd.testing.fakeengine",
        "swarmd.testing.ha",
        "swarmd.testing.kvstores",
        "swarmd.testing.lab",
        # No __init__.py lives in twisted/plugins: list it explicitly or the
        # twistd plugin is not installed.
        "twisted.plugins",
    ],
    package_data={"twisted.plugins": ["swarm_plugin.py"]},
    install_requires=[
        "twisted[tls]>=24.7",
        "treq>=24.9",
        "klein>=24.8",
        "zope.interface>=6",
        "service-identity>=24.1",
        "pyopenssl>=24.2",
        "attrs>=23.1",
        # Linear-time regular expressions with Go's syntax (RE2), for every
        # user-supplied pattern: Google's own binding, wheels for CPython 3.11.
        "google-re2>=1.1",
        # ZooKeeper discovery and leader election (threaded; kept off the
        # reactor thread): the maintained python-zk client.
        "kazoo>=2.10",
        # /metrics in Prometheus's text format: the official client writes it
        # (escaping, histograms, content type) instead of formatting by hand.
        "prometheus-client>=0.20",
    ],
    entry_points={"console_scripts": ["swarm = swarmd.cli:main"]},
    extras_require={
        "test": ["hypothesis>=6.100", "docker>=7.1", "coverage>=7"],
        "lint": ["ruff", "mypy", "mypy-zope"],
        # bench/scale.py --plot draws its figure with matplotlib.
        "bench": ["matplotlib"],
    },
)
