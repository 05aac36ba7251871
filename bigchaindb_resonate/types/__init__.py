"""One module per transaction type; `bigchaindb_resonate.registry` lists them all."""
