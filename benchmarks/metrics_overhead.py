"""What the node's metrics cost a transaction, next to the host's own work on one.

    .venv/bin/python benchmarks/metrics_overhead.py [--rounds 2000]

In prometheus_client's multiprocess mode (a temporary directory, as a node runs it), times
what CheckTx and DeliverTx add per transaction (the validation timer with its type and
the acceptance counter, twice) plus the store listener for the two round trips a
transaction's validation typically makes (benchmarks/validation.py counts them), against
BigchainDB's own parsing of a CREATE (strict decoding, schema, id check) in the same loop:
the ratio is what the metrics add to the cheapest part of a host transaction's CheckTx.
No store is needed. Results are appended to benchmarks/results/metrics_overhead.jsonl.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import record

NAME = "metrics_overhead"
ROUND_TRIPS = 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as samples:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = samples  # before prometheus_client loads
        from bigchaindb.common.crypto import generate_key_pair
        from bigchaindb.models import Transaction
        from pymongo import monitoring

        from bigchaindb_resonate import admission, host, metrics

        host.apply()
        listeners = monitoring._LISTENERS.command_listeners
        event = type("Succeeded", (), {"command_name": "find"})()
        owner = generate_key_pair()
        raw = [json.dumps(Transaction.create([owner.public_key], [([owner.public_key], 1)],
                                             asset={"data": {"n": index}})
                          .sign([owner.private_key]).to_dict()).encode()
               for index in range(args.rounds)]
        hooks, parse = [], []
        for payload in raw:
            started = time.perf_counter()
            Transaction.from_dict(admission.decode(payload))
            parse.append(time.perf_counter() - started)
            started = time.perf_counter()
            for stage in (metrics.CHECK_TX, metrics.DELIVER_TX):
                with metrics.validating(stage) as observed:
                    observed.operation = "CREATE"
                    for _ in range(ROUND_TRIPS):
                        for listener in listeners:
                            listener.succeeded(event)
                metrics.accepted(stage)
            hooks.append(time.perf_counter() - started)
    report = {"rounds": args.rounds, "hooks_us": round(statistics.median(hooks) * 1e6, 1),
              "create_parse_us": round(statistics.median(parse) * 1e6, 1),
              "hooks_vs_create_parse": round(statistics.median(hooks) / statistics.median(parse), 3)}
    record.append(NAME, report, argv)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
