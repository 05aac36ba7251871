"""Usage and royalty reports that anyone can audit against any node.

A report is a sequence of flat JSON objects ("lines"), computed by streaming the ledger's
PLAY transactions in commit order (compute.py), over a node's store (StoreLedger) or over a
node's HTTP API (NodeLedger, used by the audit). Every figure names the transactions and
block heights it comes from; the last line is a sha256 digest of the canonical text of all
the others. formats.py renders the lines as JSON, CSV or a DDEX DSR-shaped flat file and
reads each back; audit.py recomputes a report from nodes and pinpoints any line that
differs; charts.py draws plays, earnings and payees as PNG files. totals.py keeps
per-track, per-day, per-territory and per-payee totals as blocks commit, so that summaries
answer from a few documents at any ledger size.
"""
from bigchaindb_resonate.reports.compute import (  # noqa: F401 (the package's interface)
    Period, ReportError, Scope, StoreLedger, report_lines,
)
