"""A key's credit balance read, as the key is paid by more and more plays: the read computed
from the key's history (what the balance read did before balances were kept at commit)
against the read of the balances kept at commit (balances.py), each as a ratio to a plain
transaction lookup by `_id` in the same run.

    .venv/bin/python benchmarks/balances.py [--sizes 100,1000,5000]

Starts its own FerretDB (the node's build, SQLite) and commits, through the node's own
`store_bulk_transactions` and balance fold, the credit token, a purchase, and then blocks
of 100 transfers of the token, each paying like a play: 7 tokens to an artist, 3 to the
co-op, the change back to the listener, who spends it in the next. At each size it times
(median of REPEAT runs, milliseconds):

- `lookup`: one stored transaction found by `_id`;
- `history`: the balance from every transaction that paid the artist (reads.holdings: one
  owner-index entry, one transaction and one spent-output lookup per payment);
- `kept`: reads.credit_balance on the kept balances with its default page of outputs
  (reads.OUTPUTS_PER_PAGE), `kept_balance_only` with none; `kept_for_a_play`: the
  listener's (whose change every play was) with the outputs that pay 512 tokens, what
  Client._credits asks before a play.

The plays are plain TRANSFERs: the read cost depends only on the outputs a key received,
not on the rules that admitted them. Results are appended to benchmarks/results/balances.jsonl.
"""
import argparse
import functools
import json
import sys
import tempfile
from pathlib import Path

from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

import record
from validation import start_store

NAME = "balances"
REPEAT = 7
median_ms = functools.partial(record.median_ms, repeat=REPEAT)
PER_BLOCK = 100


def balance_from_history(bigchain, public_key, token_id):
    """The balance as the read computed it before it was kept: every unspent output of
    the token naming the key alone, among every transaction that paid it."""
    from bigchaindb_resonate import reads

    held = next((holding for holding in reads.holdings(bigchain, public_key)
                 if holding["asset_id"] == token_id), {"outputs": []})
    return sum(output["amount"] for output in held["outputs"] if output["public_keys"] == [public_key])


class Ledger:
    """The committed chain: the credit token, the purchase, then plays in blocks."""

    def __init__(self, bigchain):
        from bigchaindb_resonate.types.credit import Credit

        self.bigchain, self.height = bigchain, 0
        self.treasury, self.listener = generate_key_pair(), generate_key_pair()
        self.artist, self.coop = generate_key_pair(), generate_key_pair()
        credit = Credit.build([self.treasury.public_key], supply=10 ** 12).sign([self.treasury.private_key])
        self.token = Transaction.from_dict(credit.to_dict())
        sale = Transaction.transfer(self.token.to_inputs(), [([self.listener.public_key], 10 ** 11),
                                                             ([self.treasury.public_key], 9 * 10 ** 11)],
                                    asset_id=self.token.id).sign([self.treasury.private_key])
        sale = Transaction.from_dict(sale.to_dict())
        self.commit([self.token, sale])
        self.wallet, self.plays = (sale, 0), 0

    def commit(self, transactions):
        from bigchaindb_resonate import balances

        self.height += 1
        balances.fold_block(self.bigchain.connection, self.height, transactions, self.token.id)
        self.bigchain.store_bulk_transactions(transactions)
        self.bigchain.store_block({"height": self.height, "app_hash": "",
                                   "transactions": [tx.id for tx in transactions]})

    def play_until(self, count):
        while self.plays < count:
            block = []
            for _ in range(min(PER_BLOCK, count - self.plays)):
                source, index = self.wallet
                change = source.outputs[index].amount - 10
                play = Transaction.transfer(source.to_inputs([index]), [
                    ([self.artist.public_key], 7), ([self.coop.public_key], 3),
                    ([self.listener.public_key], change)], asset_id=self.token.id)
                play = Transaction.from_dict(play.sign([self.listener.private_key]).to_dict())
                block.append(play)
                self.wallet = (play, 2)
                self.plays += 1
            self.commit(block)


def measure(ledger, size):
    from bigchaindb_resonate import reads
    from bigchaindb_resonate.host import COMMITTED

    bigchain, artist = ledger.bigchain, ledger.artist.public_key
    conn = bigchain.connection
    kept = reads.credit_balance(bigchain, artist, limit=0)
    history = balance_from_history(bigchain, artist, ledger.token.id)
    assert kept["balance"] == history == 7 * size and kept["output_count"] == size, (kept, history)
    probe = ledger.wallet[0].id
    COMMITTED.clear()  # what an API process reads from the store, not what commit kept
    row = {"plays": size, "ms": {
        "lookup": median_ms(lambda: conn.run(conn.collection("transactions").find_one({"_id": probe}))),
        "history": median_ms(lambda: balance_from_history(bigchain, artist, ledger.token.id)),
        "kept": median_ms(lambda: reads.credit_balance(bigchain, artist)),
        "kept_balance_only": median_ms(lambda: reads.credit_balance(bigchain, artist, limit=0)),
        "kept_for_a_play": median_ms(lambda: reads.credit_balance(
            bigchain, ledger.listener.public_key, amount=512)),
    }}
    row["over_lookup"] = {name: round(value / row["ms"]["lookup"], 1)
                          for name, value in row["ms"].items() if name != "lookup"}
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="plays paying the key, ascending")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]

    import bigchaindb
    from bigchaindb.backend import connect, schema
    from bigchaindb.lib import BigchainDB

    from bigchaindb_resonate import host

    host.apply()
    rows = []
    with tempfile.TemporaryDirectory() as home:
        process, port = start_store(Path(home))
        try:
            bigchaindb.config["database"].update(host="127.0.0.1", port=port, name="bench")
            schema.init_database(connect())
            ledger = Ledger(BigchainDB())
            for size in sizes:
                print(f"committing plays up to {size:,}…", file=sys.stderr, flush=True)
                ledger.play_until(size)
                rows.append(measure(ledger, size))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            process.terminate()
            process.wait()
    record.append(NAME, {"store": "FerretDB 1.24.2 SQLite (patched)", "per_block": PER_BLOCK,
                         "rows": rows}, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
