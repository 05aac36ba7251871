"""Pure rules shared by several transaction types: no I/O, no clock, integers only."""
