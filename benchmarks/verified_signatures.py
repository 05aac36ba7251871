"""A voucher's signature checked a second time in the same process (DeliverTx after
CheckTx), next to its first check, in the same run.

    .venv/bin/python benchmarks/verified_signatures.py --vouchers 5000 --rounds 5

Each round checks every voucher with `vouchers.verify_signature` on an empty record of
verified signatures (what CheckTx does), then again on copies of them (what DeliverTx does
with the transaction it parses again): the second check is a lookup by the digest of the
signed bytes, the signature and the key. Per CPU-second, medians of the rounds.
"""
import argparse
import json
import time

from bigchaindb_resonate import vouchers
from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.validators.royalties import price

import record


def signed_vouchers(count):
    """One listener's channel of `count` vouchers of one track."""
    listener, total, made = generate_key_pair(), 0, []
    for play in range(count):
        total += price(play)
        made.append(vouchers.make_voucher(
            listener.private_key, channel="c" * 64, listener=listener.public_key,
            sequence=play + 1, track="a" * 64, play=play, price=price(play), total=total,
            territory="GB", right="d" * 64))
    return made


def cpu_seconds(work):
    started = time.process_time()
    work()
    return time.process_time() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vouchers", type=int, default=5000, help="vouchers per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    signed = signed_vouchers(args.vouchers)
    first, again = [], []
    for _ in range(args.rounds):
        vouchers.VERIFIED = vouchers.VerifiedSignatures(vouchers.VERIFIED.capacity)
        first.append(cpu_seconds(lambda: [vouchers.verify_signature(one) for one in signed]))
        copies = [dict(one) for one in signed]
        again.append(cpu_seconds(lambda: [vouchers.verify_signature(one) for one in copies]))

    def median_us(values):
        return sorted(values)[len(values) // 2] / args.vouchers * 1e6

    report = {"first_check_us": round(median_us(first), 2),
              "second_check_us": round(median_us(again), 2),
              "ratio": round(median_us(again) / median_us(first), 3),
              "vouchers": args.vouchers, "rounds": args.rounds}
    print(json.dumps(record.append("verified_signatures", report)))


if __name__ == "__main__":
    main()
