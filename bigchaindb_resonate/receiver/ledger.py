"""What the receiver reads from the ledger, through any of several nodes.

A small interface (`Ledger`) over the nodes' HTTP API: the network parameters, a
channel's state, a listener's play count for a track, a track and its split in force, a
licence, and sending a settlement. Each read tries the node that answered last, then the
others in turn, so one validator down changes nothing; only when none answers does the
read raise LedgerDown, and the service falls back to what it has cached.
"""
import time

import requests

from bigchaindb_resonate.client import (
    Client, NodeUnreachable, NotANode, NotFoundError, ServerError, TransactionPending,
)
from bigchaindb_resonate.admission import encoded_size, limit_for
from bigchaindb_resonate.operations import channel_settle, channel_settle_batch
from bigchaindb_resonate.receiver.checks import Channel, Licence, Track
from bigchaindb_resonate.validators.terms import territory_codes

COPYRIGHT, RIGHT, MANIFESTATION = "COPYRIGHT", "RIGHT", "MANIFESTATION"
POOL = 64  # connections kept per node: the service's reading and settling threads
# Channels read a request (POST /api/v1/resonate/channels answers up to 1,000): a node
# reads each in a few milliseconds, more under load; these reads wait as long as sending.
CHANNELS_PER_READ = 250
WORK_LINKS = ("recordingOf", "manifestationOf", "manifestationOfWork")
SOURCE_LINKS = ("source", "allowedBy")
# Answers that say nothing about the ledger, only about the node asked.
_NODE_FAILURES = (NodeUnreachable, NotANode, ServerError)


class LedgerDown(RuntimeError):
    """No node answered."""


class Ledger:
    def __init__(self, node_urls, timeout=5, commit_timeout=60):
        if not node_urls:
            raise ValueError("the receiver needs at least one node URL")
        self.clients = [Client(url, timeout=timeout) for url in node_urls]
        # Sending waits for a block, longer under load: a timeout then sends it again elsewhere.
        self.senders = [Client(url, timeout=commit_timeout) for url in node_urls]
        for client in self.clients + self.senders:
            client.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=POOL))
            client.session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=POOL))
        self.preferred = 0

    def _ask(self, read, clients=None):
        """`read(client)` on the node that answered last, else each other node in turn."""
        clients = clients or self.clients
        failures = []
        for step in range(len(clients)):
            index = (self.preferred + step) % len(clients)
            try:
                answer = read(clients[index])
            except _NODE_FAILURES as exc:
                failures.append(f"{clients[index].api_url}: {exc}")
                continue
            self.preferred = index
            return answer
        raise LedgerDown("no node answered: " + "; ".join(failures))

    def _found(self, read):
        try:
            return self._ask(read)
        except NotFoundError:
            return None

    def network(self):
        """The network parameters and the credit token's id (`parameters`, `credit`)."""
        return self._ask(lambda client: client.network())

    def parameters(self):
        return self.network()["parameters"]

    def channel_state(self, channel_id):
        """The channel read as the node answers it (what a settlement is built on), or None."""
        return self._found(lambda client: client.channel(channel_id))

    def channel_states(self, channel_ids):
        """`channel_state` of each id, in order, read CHANNELS_PER_READ a request, each
        waiting as long as a settlement is sent."""
        channel_ids = list(channel_ids)
        return [state for start in range(0, len(channel_ids), CHANNELS_PER_READ)
                for state in self._ask(lambda client: client.channels(
                    channel_ids[start:start + CHANNELS_PER_READ]), self.senders)]

    def channel(self, channel_id):
        """The channel's state, or None when no node knows it."""
        state = self.channel_state(channel_id)
        return None if state is None else channel_from(state)

    def split_in_force(self, track_id):
        """(id, [(public key, basis points)]) of the track's split in force, or None."""
        answer = self._ask(lambda client: client.splits_of(track_id))
        entry = next((split for split in answer["splits"] if split["id"] == answer["in_force"]), None)
        return None if entry is None else (entry["id"], [(payee["publicKey"], payee["shareBp"])
                                                         for payee in entry["payees"]])

    def plays(self, listener, track_id):
        """The ledger's count of the listener's plays of the track (direct and through
        channels), or None when the track is not a recording."""
        answer = self._found(lambda client: client.owns(listener, track_id))
        return None if answer is None else answer["plays"]

    def track(self, track_id):
        record = self._found(lambda client: client.record(track_id))
        if record is None or record["operation"] != MANIFESTATION:
            return None
        splits = self._ask(lambda client: client.splits_of(track_id))
        work = next((record["data"][link] for link in WORK_LINKS if link in record["data"]), None)
        return Track(track_id, work, splits.get("in_force"))

    def licence(self, right_id):
        record = self._found(lambda client: client.record(right_id))
        if record is None or record["operation"] != RIGHT:
            return None
        data = record["data"]
        root = record
        while root["operation"] != COPYRIGHT:  # up the chain of sources to the Copyright
            link = next(root["data"][name] for name in SOURCE_LINKS if name in root["data"])
            root = self._ask(lambda client: client.record(link))
        holders = frozenset(key for entry in record["holders"] for key in entry["public_keys"])
        period = {name: data[name] for name in ("validFrom", "validThrough") if name in data}
        return Licence(holders, frozenset(data.get("usageType", ())),
                       territory_codes(data["territory"]), period, root["data"]["rightsOf"])

    def settle(self, keypair, state, vouchers, splits, network):
        """Build from the channel read `state`, sign and send a settlement of `vouchers`
        (`splits`: each paid track's split in force; `network`: as `network()` answers);
        (the transaction, whether it committed where it was sent). Raises the client's
        TransactionRefused with the network's code."""
        tx = Client.fulfill(channel_settle.settle(state, vouchers, splits, network["parameters"],
                                                  network["credit"]).to_dict(),
                            [keypair.private_key])

        def send(client):
            try:
                return client.send_commit(tx), True
            except TransactionPending:
                return tx, False  # accepted; a later read of the channel shows the commit
        return self._ask(send, self.senders)

    def settle_batch(self, keypair, settlements, splits, network):
        """Build, sign and send one CHANNEL_SETTLE_BATCH of `settlements` ((channel read,
        vouchers) pairs); as `settle` answers. Raises TooLarge when it does not fit."""
        tx = Client.fulfill(channel_settle_batch.settle_batch(
            settlements, splits, network["parameters"], network["credit"]).to_dict(), [keypair.private_key])
        if encoded_size(tx) > limit_for(channel_settle_batch.OPERATION):
            raise TooLarge(f"{encoded_size(tx)} bytes")

        def send(client):
            try:
                return client.send_commit(tx), True
            except TransactionPending:
                # A batch takes longer than one settlement to commit: ask the node that
                # took it until it says, within the commit timeout.
                return tx, _committed_later(client, tx["id"], client.timeout)
        return self._ask(send, self.senders)


def _committed_later(client, txid, timeout, every=0.5):
    """True once the node says `txid` committed; False when it says refused or has not
    within `timeout` seconds (the next settlement round reads the channels again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(every)
        try:
            status = client.status(txid)["status"]
        except NotFoundError:
            continue
        if status != "pending":
            return status == "committed"
    return False


class TooLarge(ValueError):
    """A batch over its transaction size limit: send fewer channels in it."""


def channel_from(state):
    """A channel read (GET /api/v1/resonate/channels/<id>) as the checks use it."""
    return Channel(id=state["channel"], listener=state["listener"], receiver=state["receiver"],
                   deposit=state["deposit"], status=state["status"],
                   settled_sequence=state["sequence"], settled_total=state["settled"],
                   closes_at=state.get("closes_at"))
