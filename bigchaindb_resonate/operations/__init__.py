"""Each transaction type's client part, importable without BigchainDB Server.

One module per type (the same names as in `types/`), each with the type's frozen
`OPERATION` name, the `SCHEMA` version it is checked against (`schemas/<SCHEMA>.yaml`) and
its builder, which returns an unsigned `bigchaindb_resonate.transaction.Transaction`. The
server's type class takes all three from here, so the client library and the node build
the very same transaction; the type's rules stay in `types/`.
"""
