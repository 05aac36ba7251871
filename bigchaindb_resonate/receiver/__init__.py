"""The receiver of payment channels: `resonate receiver serve` (docs/receiver.md).

checks.py    what a voucher must satisfy before it is accepted (pure)
refusals.py  every refusal, with its stable code
store.py     the durable store (SQLite, write-ahead log, synced on every commit)
ledger.py    the ledger reads and the settlement, through any of several nodes
service.py   the service: accept, group commit, cached reads, settlement
http.py      the HTTP/1.1 server it answers on
"""
import asyncio
import gc
import logging
import signal

from bigchaindb_resonate.receiver.ledger import Ledger, LedgerDown
from bigchaindb_resonate.receiver.service import Receiver
from bigchaindb_resonate.receiver.store import Store, StoreError


class ReceiverSetupError(RuntimeError):
    """The receiver cannot start; the message says what to do."""


def open_receiver(keypair, store_dir, node_urls, settle_every, settle_after):
    """A receiver on its store, checked against the network: its key must be one the
    network lets receive channels."""
    store = Store(store_dir)
    owner = store.get_meta("receiver")
    if owner is None:
        store.set_meta("receiver", keypair.public_key)
    elif owner != keypair.public_key:
        raise ReceiverSetupError(f"the store in {store_dir} belongs to receiver {owner}: give "
                                 f"its key, or another --store for this one")
    receiver = Receiver(store, Ledger(node_urls), keypair, settle_every, settle_after)
    try:
        receiver.start_settling()
    except LedgerDown as exc:
        raise ReceiverSetupError(f"a new receiver needs the network's parameters once, and "
                                 f"{exc}; start the network or give --node URLs of running "
                                 f"nodes") from None
    if not receiver.receives_for_network():
        raise ReceiverSetupError(f"{keypair.public_key} may not receive channels on this "
                                 f"network: use the platform key, or a key the network "
                                 f"parameters list in receiver_keys")
    return receiver


# Objects allocated before the cyclic garbage collector runs on the youngest generation.
# Each voucher allocates a few (its dict, its request's future and answer) while the
# receiver holds many for long (a channel's state, cached facts): at the interpreter's
# default of 700, collections traversed a thousand requests in flight, and what they
# promoted, over and over (benchmarks/RESULTS.md, "Voucher rate").
YOUNG_COLLECTION = 50_000


def tune_collector():
    """Collect less often in a receiver's process: what was loaded at start (frozen) is
    never traversed again, and most of a request's objects are freed by reference
    counting before a collection comes."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])


def serve(receiver, host, port, ready):
    """Run until SIGTERM or SIGINT; the exit status (1 when the store failed)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    tune_collector()

    async def main():
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, receiver.stopped.set)
        return await receiver.run(host, port, ready)

    try:
        return asyncio.run(main())
    finally:
        receiver.store.close()


__all__ = ["open_receiver", "serve", "tune_collector", "ReceiverSetupError", "StoreError"]
