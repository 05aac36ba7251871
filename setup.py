"""bigchaindb_resonate: music rights and stream-to-own plays enforced by BigchainDB validators.

`pip install bigchaindb-resonate` installs the client library (bigchaindb_resonate.client,
.operations, .transaction) on CPython 3.9 and later, without BigchainDB Server. The node
is the `node` extra; its working dependency set on Python 3.11 is pinned in
requirements/host.txt and installed by scripts/bootstrap, because BigchainDB 2.2.2's own
pins do not install there.
"""
from setuptools import find_packages, setup

setup(
    name="bigchaindb-resonate",
    version="0.1.0",
    description="A BigchainDB 2.2.2 plugin that enforces COALA IP rights, royalty splits "
                "and stream-to-own plays during Tendermint consensus, and its client library",
    python_requires=">=3.9",
    classifiers=[f"Programming Language :: Python :: 3.{minor}" for minor in range(9, 14)],
    packages=find_packages(include=["bigchaindb_resonate", "bigchaindb_resonate.*"]),
    # Tendermint templates are read from network/tendermint/ in the checkout; the project
    # is installed editable (scripts/bootstrap), as is the node image.
    package_data={"bigchaindb_resonate": ["schemas/*.yaml", "dashboard/page/*"]},
    # The client library: build, sign (byte-identical to the server) and send.
    install_requires=["requests>=2.20", "PyNaCl>=1.4", "base58>=2.0", "python-rapidjson>=1.0"],
    # What the node's own code imports besides; BigchainDB's pins decide pymongo's version.
    extras_require={"node": ["bigchaindb==2.2.2", "pymongo", "PyYAML", "jsonschema",
                             "prometheus_client"]},
    entry_points={
        "console_scripts": [
            "bigchaindb-resonate = bigchaindb_resonate.node:main",
            "resonate = bigchaindb_resonate.cli:main",
        ],
    },
)
