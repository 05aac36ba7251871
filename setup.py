"""bigchaindb_resonate: music rights and stream-to-own plays enforced by BigchainDB validators."""
from setuptools import find_packages, setup

setup(
    name="bigchaindb-resonate",
    version="0.1.0",
    description="A BigchainDB 2.2.2 plugin that enforces COALA IP rights, royalty splits "
                "and stream-to-own plays during Tendermint consensus",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["bigchaindb_resonate", "bigchaindb_resonate.*"]),
    # Tendermint templates are read from network/tendermint/ in the checkout; the project
    # is installed editable (scripts/bootstrap), as is the node image.
    package_data={"bigchaindb_resonate": ["schemas/*.yaml"]},
    # The host and its working dependency set are pinned in requirements/host.txt and
    # installed by scripts/bootstrap; here we name only what our own code imports.
    install_requires=["bigchaindb==2.2.2", "pymongo>=3.11,<4", "requests", "pyyaml"],
    entry_points={
        "console_scripts": [
            "bigchaindb-resonate = bigchaindb_resonate.node:main",
            "resonate = bigchaindb_resonate.cli:main",
        ],
    },
)
