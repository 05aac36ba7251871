"""Resonate's music-rights ledger: a plugin for BigchainDB Server 2.2.2, and its client
library (`client`, `operations`, `transaction`), which needs no server."""
__version__ = "0.1.0"
