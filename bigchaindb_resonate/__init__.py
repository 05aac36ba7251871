"""Resonate's music-rights ledger: a plugin for BigchainDB Server 2.2.2."""
__version__ = "0.1.0"
