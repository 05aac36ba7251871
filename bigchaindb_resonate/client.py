"""The client library: build, sign and send Resonate transactions, learn why one was
refused, and read the registry back (the routes of docs/openapi.yaml).

It needs neither BigchainDB Server nor a database: `pip install bigchaindb-resonate`
installs it with four small dependencies on any CPython from 3.9. The steps are those of
bigchaindb-driver, each one separate:

    from bigchaindb_resonate.client import Client, generate_key_pair

    client = Client("http://127.0.0.1:9984", headers={"app_id": "…", "app_key": "…"})
    artist = generate_key_pair()
    tx = client.prepare("PARTY", [artist.public_key], {"@type": "MusicGroup", "name": "Kokoroko"})
    signed = client.fulfill(tx, [artist.private_key])   # local: nothing leaves the machine
    client.send_commit(signed)                          # or send_sync / send_async
    client.record(signed["id"])

`prepare` builds a record type offline; `prepare_assignment`, `prepare_purchase` and
`prepare_play` (and the payout ones) read what they need from the node first. Each `register_*`, `assign`,
`buy_credits`, `play`, … does all three steps at once.

Every failure is a `ClientError`: `NodeUnreachable`, `NotFoundError` (a 404: nothing
there), `TransactionRefused` and `QueryRefused` (a 400, carrying the network's stable
`code`, the `field` at fault and what was `expected`), `ServerError` (5xx), `NodeBehind`
(the node has not yet counted a play this client sent). A builder that meets a value the
node would refuse (a malformed ISWC, say) raises the node's own refusal class
(`bigchaindb_resonate.errors`), with the same code, before anything is sent.
"""
import collections
import time

import requests

from bigchaindb_resonate.conditions import KeyPair, generate_key_pair  # noqa: F401 (the library's interface)
from bigchaindb_resonate.operations import (
    copyright, credit, manifestation, parameter_election, party, payout_cancel, payout_request,
    payout_settle, play, right, rights_assignment, split, work,
)
from bigchaindb_resonate.operations import (
    channel_close, channel_open, channel_refund, channel_settle, channel_topup,
)
from bigchaindb_resonate.transaction import Transaction
from bigchaindb_resonate.validators.royalties import price

# The operations `prepare` builds offline, each from (signers, data, metadata, **options).
RECORD_BUILDERS = {module.OPERATION: module.build
                   for module in (party, work, manifestation, copyright, right, credit, split)}


class ClientError(RuntimeError):
    """Anything that stopped a request from giving its answer."""


class NodeUnreachable(ClientError):
    pass


class NotANode(ClientError):
    """Something answered at the URL, but not as a bigchaindb-resonate node does."""


class TransportError(ClientError):
    """The node answered with an error: its HTTP `status` and JSON `body`, and the body's
    `code`, `field`, `expected` and `detail` where it names them."""

    def __init__(self, status, body):
        self.status = status
        self.body = body
        self.code = body.get("code")
        self.field = body.get("field")
        self.expected = body.get("expected")
        self.detail = body.get("detail") or body.get("message")
        label = self.code or status
        # A query's refusal message already starts with its code.
        detail = str(self.detail).removeprefix(f"{label}: ")
        super().__init__(f"{label}: {detail}"
                         + (f" (field {self.field})" if self.field else "")
                         + (f"; expected {self.expected}" if self.expected else "")
                         + self.next_step)

    next_step = ""


class NotFoundError(TransportError):
    """404: the node holds nothing under that id, key or query."""


class Refused(TransportError):
    """400: the node refused the request."""


class TransactionRefused(Refused):
    """A posted transaction was refused (docs/spec/ lists every code)."""


class QueryRefused(Refused):
    """A read was refused: a malformed id, key, identifier or parameter."""

    next_step = "; check the value given"


class ServerError(TransportError):
    """5xx: the node failed to answer."""


class TransactionPending(ClientError):
    """Accepted by the node, not committed when it stopped waiting (mode=commit): read
    `status_url` (Client.status) to learn whether it commits or is refused."""

    def __init__(self, body):
        self.body = body
        self.txid = body.get("id")
        self.status_url = body.get("status_url")
        super().__init__(f"{self.txid}: {body.get('message', 'accepted, not committed yet')}")


class NodeBehind(ClientError):
    """The node has not yet counted a play this client sent: building the next one on its
    view would repeat that play, so nothing was sent. Try again, or ask another node."""


class Client:
    # Remembered (listener, track) pairs of plays sent, oldest forgotten first.
    SENT_PLAYS_KEPT = 1024
    PLAY_CATCH_UP_SECONDS = 30
    COMMIT_WAIT_SECONDS = 5  # for a block between its end_block and its commit

    def __init__(self, api_url, headers=None, timeout=30):
        """`headers` are sent with every request, e.g. {"app_id": …, "app_key": …} for a
        node behind a gateway."""
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._sent_plays = collections.OrderedDict()  # (listener, track) -> last playNumber sent
        self.session = requests.Session()
        self.session.headers.update(headers or {})

    def _request(self, method, path, **options):
        try:
            response = self.session.request(method, f"{self.api_url}/api/v1/{path}",
                                            timeout=self.timeout, **options)
        except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL) as exc:
            raise ClientError(f"`{self.api_url}` is not a node's HTTP API URL: give one like "
                              f"http://127.0.0.1:9984") from exc
        except requests.Timeout as exc:
            raise NodeUnreachable(f"the node at {self.api_url} did not answer within "
                                  f"{self.timeout}s; try again, or ask another node") from exc
        except requests.RequestException as exc:
            raise NodeUnreachable(f"cannot reach the node at {self.api_url} ({type(exc).__name__}): "
                                  f"is it running? (`resonate testnet status` lists the nodes)") from exc
        if response.status_code < 400:
            return response
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) and response.status_code >= 500:
            raise ServerError(response.status_code, {"message": response.text.strip() or response.reason})
        if not isinstance(body, dict):
            # Every refusal a node answers is a JSON object; this is another service.
            raise self._not_a_node(f"HTTP {response.status_code} "
                                   f"({response.headers.get('Content-Type') or 'no content type'})")
        if response.status_code == 404:
            raise NotFoundError(404, {**body, "message": f"{body.get('message') or 'not found'} "
                                                        f"({self.api_url}/api/v1/{path}); check the "
                                                        f"id, or ask a node that has caught up"})
        if response.status_code == 400:
            raise (TransactionRefused if method == "POST" else QueryRefused)(400, body)
        if response.status_code >= 500:
            raise ServerError(response.status_code, body)
        raise TransportError(response.status_code, body)

    def _get(self, path, **params):
        response = self._request("GET", path, params=params)
        try:
            return response.json()
        except ValueError:
            raise self._not_a_node(f"a {response.headers.get('Content-Type') or 'typeless'} "
                                   f"answer to GET /api/v1/{path}") from None

    def _not_a_node(self, what):
        return NotANode(f"{self.api_url} answered {what}, not as a node does; check that it is "
                        f"a bigchaindb-resonate node's HTTP API (port 9984 by default, not "
                        f"Tendermint's RPC port): `resonate testnet status` lists the local nodes")

    def _fields(self, answer, *names):
        """The values of `names` in a node's answer that a builder goes on with."""
        if not isinstance(answer, dict) or not all(name in answer for name in names):
            raise self._not_a_node(f"without {', '.join(names)}")
        return [answer[name] for name in names]

    def _committed(self, txid):
        """A committed transaction whose outputs a builder spends."""
        tx = self.get_transaction(txid)
        if not isinstance(tx, dict) or tx.get("id") != txid:
            raise self._not_a_node(f"something other than transaction {txid}")
        return tx

    # -- build, sign, send

    @staticmethod
    def prepare(operation, signers, data=None, metadata=None, **options):
        """An unsigned transaction (a dict) of a record type, built offline: `signers` are
        public keys (or one). Options: `holders` for COPYRIGHT and RIGHT ((public key, shares)
        pairs), `supply` for CREDIT."""
        if operation not in RECORD_BUILDERS:
            raise ValueError(f"prepare builds {', '.join(RECORD_BUILDERS)}; use prepare_assignment, "
                             f"prepare_purchase or prepare_play for {operation}")
        return RECORD_BUILDERS[operation](_listed(signers), data, metadata, **options).to_dict()

    def prepare_assignment(self, holder, asset_id, recipient, shares=None, action=None):
        """RIGHTS_ASSIGNMENT, unsigned: move `shares` (all, by default) of what the public key
        `holder` holds in a Copyright or Right to the public key `recipient`; the rest stays
        with the holder. `action` adds to the RightsTransferAction (e.g. `transferContract`)."""
        holders, = self._fields(self.holders_of(asset_id), "holders")
        held = [entry for entry in holders if entry["public_keys"] == [holder]]
        if not held:
            raise ClientError(f"{holder} holds no shares of {asset_id}; check the id, and "
                              f"sign with a holder's key")
        # One assignment spends one holding output.
        usable = [entry for entry in held if shares is None or entry["amount"] >= shares]
        if not usable or (shares is None and len(held) > 1):
            raise ClientError(f"{holder} holds {[entry['amount'] for entry in held]} shares "
                              f"of {asset_id} in separate outputs; assign from one at a time")
        holding = self._committed(usable[0]["transaction_id"])
        return rights_assignment.assign(holding, holder, recipient, shares, action).to_dict()

    def prepare_purchase(self, treasury, listener, amount):
        """A plain TRANSFER, unsigned, of `amount` credit tokens (1 token = 0.001 credit)
        from the public key `treasury` to the public key `listener`; the rest returns to
        the treasury."""
        token, = self._fields(self.network(), "credit")
        return credit.sell(self._credits(treasury, amount), treasury, listener, amount,
                           token).to_dict()

    def prepare_play(self, listener, track_id, right_id, territory):
        """The next PLAY of a track by the public key `listener`, unsigned: priced by their
        count of committed plays, paying the split in force, streamed under `right_id`."""
        number, = self._fields(self.owns(listener, track_id), "plays")
        splits, in_force_id = self._fields(self.splits_of(track_id), "splits", "in_force")
        in_force = next((entry for entry in splits if entry["id"] == in_force_id),
                        {"id": None, "payees": []})
        parameters, = self._fields(self.network(), "parameters")
        payees = [(payee["publicKey"], payee["shareBp"]) for payee in in_force["payees"]]
        return play.pay(self._credits(listener, price(number)), listener,
                        {"track": track_id, "territory": territory, "right": right_id,
                         "playNumber": number, "split": in_force["id"]},
                        payees, parameters).to_dict()

    def prepare_payout_request(self, payee, amount, treasury=None):
        """PAYOUT_REQUEST, unsigned: the public key `payee` asks for `amount` of its credit
        tokens to be paid out, to be settled by `treasury` (by default the network's first
        treasury key)."""
        token, parameters = self._fields(self.network(), "credit", "parameters")
        if token is None or not parameters:
            raise ClientError(f"{self.api_url} has no credit token yet, so nothing to pay out; "
                              f"check --node names the right network")
        treasury = treasury or parameters["treasury_keys"][0]
        return payout_request.request(self._credits(payee, amount), payee, treasury, amount,
                                      token).to_dict()

    def prepare_payout_settlement(self, request_id, reference):
        """PAYOUT_SETTLE, unsigned, of the committed request `request_id`, for its treasury
        key to sign once it has paid: `reference` is the off-ledger payment's; the money is
        computed at the payout rate in force."""
        parameters, = self._fields(self.network(), "parameters")
        return payout_settle.settle(self._payout_request(request_id), reference, parameters).to_dict()

    def prepare_payout_cancellation(self, request_id):
        """PAYOUT_CANCEL, unsigned, of the committed request `request_id`, for its payee or
        treasury key to sign."""
        return payout_cancel.cancel(self._payout_request(request_id)).to_dict()

    def _payout_request(self, request_id):
        tx = self._committed(request_id)
        if tx.get("operation") != payout_request.OPERATION:
            raise ClientError(f"{request_id} is a {tx.get('operation')}, not a "
                              f"{payout_request.OPERATION}; give the id the payout request printed")
        return tx
    # -- payment channels (docs/spec/channels.md)

    def prepare_channel_open(self, listener, receiver, deposit):
        """CHANNEL_OPEN, unsigned: the public key `listener` locks `deposit` tokens (and the
        anchor token) from its credits in a channel towards `receiver` (the platform key or
        one of the network's receiver_keys)."""
        return channel_open.open_channel(self._credits(listener, deposit + 1), listener, receiver,
                                         deposit).to_dict()

    def prepare_channel_topup(self, channel_id, amount):
        """CHANNEL_TOPUP, unsigned: the channel's listener adds `amount` tokens."""
        state = self.channel(channel_id)
        return channel_topup.top_up(state, self._credits(state["listener"], amount), amount).to_dict()

    def prepare_settlement(self, channel_id, vouchers):
        """CHANNEL_SETTLE, unsigned, paying `vouchers` (the channel's next ones, in sequence
        order) under each track's split in force; sign with either side's key."""
        state = self.channel(channel_id)
        parameters, token = self._fields(self.network(), "parameters", "credit")
        splits = {}
        for track in sorted({voucher["track"] for voucher in vouchers if voucher["price"]}):
            entries, in_force = self._fields(self.splits_of(track), "splits", "in_force")
            payees = next((entry["payees"] for entry in entries if entry["id"] == in_force), [])
            splits[track] = (in_force, [(payee["publicKey"], payee["shareBp"]) for payee in payees])
        return channel_settle.settle(state, list(vouchers), splits, parameters, token).to_dict()

    def prepare_channel_close(self, channel_id):
        """CHANNEL_CLOSE, unsigned: starts the settle delay; sign with either side's key."""
        token, = self._fields(self.network(), "credit")
        return channel_close.close(self.channel(channel_id), token).to_dict()

    def prepare_channel_refund(self, channel_id):
        """CHANNEL_REFUND, unsigned: once the closing channel has closed, the rest returns
        to the listener; sign with either side's key."""
        token, = self._fields(self.network(), "credit")
        return channel_refund.refund(self.channel(channel_id), token).to_dict()

    def open_channel(self, keypair, receiver, deposit, mode="commit"):
        return self.submit(self.fulfill(self.prepare_channel_open(keypair.public_key, receiver, deposit),
                                        [keypair.private_key]), mode)

    def top_up_channel(self, keypair, channel_id, amount, mode="commit"):
        return self.submit(self.fulfill(self.prepare_channel_topup(channel_id, amount),
                                        [keypair.private_key]), mode)

    def settle_channel(self, keypair, channel_id, vouchers, mode="commit"):
        return self.submit(self.fulfill(self.prepare_settlement(channel_id, vouchers),
                                        [keypair.private_key]), mode)

    def close_channel(self, keypair, channel_id, mode="commit"):
        return self.submit(self.fulfill(self.prepare_channel_close(channel_id), [keypair.private_key]), mode)

    def refund_channel(self, keypair, channel_id, mode="commit"):
        return self.submit(self.fulfill(self.prepare_channel_refund(channel_id), [keypair.private_key]), mode)

    @staticmethod
    def fulfill(tx, private_keys):
        """The transaction (a dict, or one from `operations/`) signed by every key of
        `private_keys` (base58, or one; all the inputs need), with its id: a new dict."""
        body = tx if isinstance(tx, dict) else tx.to_dict()
        return Transaction.from_dict(body).sign(_listed(private_keys)).to_dict()

    def send_async(self, tx):
        """Post a signed transaction; the node answers once it has read it."""
        return self.submit(tx, "async")

    def send_sync(self, tx):
        """Post a signed transaction; the node answers once its CheckTx has passed."""
        return self.submit(tx, "sync")

    def send_commit(self, tx):
        """Post a signed transaction; the node answers once it is in a block."""
        return self.submit(tx, "commit")

    def submit(self, tx, mode="commit"):
        """Post a signed transaction (a dict or any object with `to_dict`) in `mode`
        (async, sync or commit) and return it as a dict."""
        tx_dict = tx if isinstance(tx, dict) else tx.to_dict()
        response = self._request("POST", "transactions", params={"mode": mode}, json=tx_dict)
        if mode == "commit" and response.json().get("status") == "pending":
            raise TransactionPending(response.json())
        return tx_dict

    def status(self, txid):
        """committed (with its height), pending, or refused (with its code), as the node
        it was posted to knows it; NotFoundError when this node knows nothing of it."""
        return self._get(f"resonate/transactions/{txid}/status")

    # -- all three steps at once; `keypairs` is one key pair or several (every one signs)

    def _register(self, operation, keypairs, data, mode, **options):
        signers = _keypairs(keypairs)
        tx = self.prepare(operation, [keypair.public_key for keypair in signers], data, **options)
        return self.submit(self.fulfill(tx, [keypair.private_key for keypair in signers]), mode)

    def register_party(self, keypairs, data, mode="commit"):
        """Register a PARTY held by its signer."""
        return self._register(party.OPERATION, keypairs, data, mode)

    def register_work(self, keypairs, data, mode="commit"):
        """Register a WORK (MusicComposition); `composer` and `lyricist` list PARTY ids."""
        return self._register(work.OPERATION, keypairs, data, mode)

    def register_manifestation(self, keypairs, data, mode="commit"):
        """Register a MANIFESTATION naming its WORK by recordingOf, manifestationOf or
        manifestationOfWork."""
        return self._register(manifestation.OPERATION, keypairs, data, mode)

    def register_copyright(self, keypairs, data, holders=None, mode="commit"):
        """Register a COPYRIGHT in a WORK or MANIFESTATION, signed by that record's
        registrant(s); `holders` are (public key, shares) pairs summing to 100 (by default a
        sole signer holds all 100)."""
        return self._register(copyright.OPERATION, keypairs, data, mode, holders=holders)

    def derive_right(self, keypairs, data, licensees=None, mode="commit"):
        """Derive a RIGHT (a licence) from the Copyright or Right named by `data["source"]`,
        signed by all of its current holders; `licensees` as (public key, shares) pairs."""
        return self._register(right.OPERATION, keypairs, data, mode, holders=licensees)

    def assign(self, keypair, asset_id, recipient, shares=None, action=None, mode="commit"):
        """RIGHTS_ASSIGNMENT (prepare_assignment), signed by `keypair` and sent."""
        tx = self.prepare_assignment(keypair.public_key, asset_id, recipient, shares, action)
        return self.submit(self.fulfill(tx, [keypair.private_key]), mode)

    def issue_credit_token(self, treasury, mode="commit"):
        """CREDIT: the network's credit token, created once by a genesis treasury key pair,
        which then holds the whole supply."""
        return self._register(credit.OPERATION, treasury, None, mode)

    def buy_credits(self, treasury, listener, amount, mode="commit"):
        """A credit purchase (prepare_purchase) signed by the `treasury` key pair and sent."""
        tx = self.prepare_purchase(treasury.public_key, listener, amount)
        return self.submit(self.fulfill(tx, [treasury.private_key]), mode)

    def set_split(self, keypairs, subject, payees, mode="commit"):
        """SPLIT: `payees` as (public key, basis points) pairs summing to 10000, for a
        MANIFESTATION or COPYRIGHT, signed by every current holder of its Copyright(s)."""
        return self._register(split.OPERATION, keypairs, {"subject": subject, "payees": payees}, mode)

    def request_payout(self, keypair, amount, treasury=None, mode="commit"):
        """A payout request (prepare_payout_request) signed by the payee's `keypair`, sent."""
        tx = self.prepare_payout_request(keypair.public_key, amount, treasury)
        return self.submit(self.fulfill(tx, [keypair.private_key]), mode)

    def settle_payout(self, treasury, request_id, reference, mode="commit"):
        """A settlement (prepare_payout_settlement) signed by the `treasury` key pair, sent."""
        tx = self.prepare_payout_settlement(request_id, reference)
        return self.submit(self.fulfill(tx, [treasury.private_key]), mode)

    def cancel_payout(self, keypair, request_id, mode="commit"):
        """A cancellation (prepare_payout_cancellation) signed by the payee's or the
        treasury's `keypair`, sent."""
        tx = self.prepare_payout_cancellation(request_id)
        return self.submit(self.fulfill(tx, [keypair.private_key]), mode)

    def build_play(self, keypair, track_id, right_id, territory):
        """The listener's next PLAY (prepare_play), signed by `keypair`, not sent."""
        return self.fulfill(self.prepare_play(keypair.public_key, track_id, right_id, territory),
                            [keypair.private_key])

    def play(self, keypair, track_id, right_id, territory, mode="commit"):
        """The listener's next PLAY, signed and sent. A play is numbered by the node's count
        of committed plays, so right after a play sent in sync or async mode (or through
        another node) this node would build the same play again, spending the same
        output: it waits until the node counts the plays this client sent, up to
        PLAY_CATCH_UP_SECONDS, then raises NodeBehind."""
        sent = (keypair.public_key, track_id)
        deadline = time.monotonic() + self.PLAY_CATCH_UP_SECONDS
        tx = self.build_play(keypair, track_id, right_id, territory)
        while tx["metadata"]["playNumber"] <= self._sent_plays.get(sent, -1):
            if time.monotonic() > deadline:
                raise NodeBehind(
                    f"{self.api_url} still counts {tx['metadata']['playNumber']} plays of "
                    f"{track_id} by {keypair.public_key} after {self.PLAY_CATCH_UP_SECONDS} s, "
                    f"but this client sent play {self._sent_plays[sent]}: the node is behind "
                    f"or that play was refused; try again later or through another node")
            time.sleep(0.2)
            tx = self.build_play(keypair, track_id, right_id, territory)
        answer = self.submit(tx, mode)
        self._sent_plays[sent] = tx["metadata"]["playNumber"]
        self._sent_plays.move_to_end(sent)
        if len(self._sent_plays) > self.SENT_PLAYS_KEPT:
            self._sent_plays.popitem(last=False)
        return answer

    # -- BigchainDB's own reads

    def get_transaction(self, txid):
        """A committed transaction; NotFoundError when the node has none with that id."""
        return self._get(f"transactions/{txid}")

    def is_committed(self, txid):
        try:
            self.get_transaction(txid)
        except NotFoundError:
            return False
        return True

    def transactions_for_asset(self, asset_id, operation=None):
        params = {"asset_id": asset_id}
        if operation:
            params["operation"] = operation
        return self._get("transactions", **params)

    def search_assets(self, text, limit=10):
        return self._get("assets", search=text, limit=limit)

    # -- reads of the registry (docs/openapi.yaml); NotFoundError when the node finds nothing

    def record(self, record_id):
        return self._get(f"resonate/records/{record_id}")

    def history(self, record_id):
        return self._get(f"resonate/records/{record_id}/history")

    def holders_of(self, record_id):
        return self._get(f"resonate/records/{record_id}/holders")

    def rights_of(self, record_id, whole_tree=False):
        return self._get(f"resonate/records/{record_id}/rights",
                         depth="all" if whole_tree else "1")

    def holdings(self, public_key):
        return self._get(f"resonate/holders/{public_key}")

    def recordings_of(self, work_id):
        return self._get(f"resonate/works/{work_id}/recordings")

    def lookup_iswc(self, iswc):
        return self._get("resonate/lookup", iswc=iswc)

    def lookup_isrc(self, isrc):
        return self._get("resonate/lookup", isrc=isrc)

    # -- credits, splits and stream to own (docs/spec/credit.md, split.md, play.md)

    def network(self):
        """The parameters in force at the next block (treasury_keys, platform_key,
        coop_share_bp, …) and the credit token's id."""
        return self._get("resonate/network")

    def balance(self, public_key, amount=None, start=None, limit=None):
        """A key's credit tokens, the number of unspent outputs holding them and a page of
        those (`limit`, from `start`; fewer once they hold `amount`; `next` continues);
        NotFoundError before the credit token exists."""
        params = {name: value for name, value in (("amount", amount), ("start", start),
                                                  ("limit", limit)) if value is not None}
        return self._get(f"resonate/credits/{public_key}", **params)

    def credit_history(self, public_key):
        return self._get(f"resonate/credits/{public_key}/history")

    def splits_of(self, track_id):
        """A track's royalty splits in commit order and the one in force."""
        return self._get(f"resonate/tracks/{track_id}/splits")

    def owns(self, public_key, track_id):
        """How many plays of the track the key has made, and whether it owns it."""
        return self._get(f"resonate/tracks/{track_id}/listeners/{public_key}")

    def payee_account(self, public_key):
        """What a payee is owed and was paid: balance, open payout requests, owed, paid,
        settled payouts (money, currency, reference) and the payout rate in force."""
        return self._get(f"resonate/payees/{public_key}/account")
    def channel(self, channel_id):
        """A payment channel's state (status, deposit, settled, sequence, closes_at, the
        output its next transaction spends); NotFoundError when there is none."""
        return self._get(f"resonate/channels/{channel_id}")

    def channels(self, channel_ids):
        """`channel` of each id at once (up to 1,000), in order: None for an unknown one."""
        response = self._request("POST", "resonate/channels", json={"channels": list(channel_ids)})
        return response.json()["channels"]

    def listener_channel(self, public_key):
        """The listener's open or closing channel; NotFoundError when it has none."""
        return self._get(f"resonate/listeners/{public_key}/channel")

    def _credits(self, public_key, amount):
        """(transaction, output index) of the key's own credit outputs, in the node's order,
        until they hold `amount` tokens (at least one output): a page at a time, each
        asking for what is still missing."""
        chosen, total, start = [], 0, 0
        while start is not None and (not chosen or total < amount):
            page = self.balance(public_key, amount=max(amount - total, 0), start=start)
            outputs, start = self._fields(page, "outputs", "next")
            if not outputs:
                break
            for entry in outputs:  # a block committing between pages may move an output
                if all((entry["transaction_id"], entry["output_index"])
                       != (taken["transaction_id"], taken["output_index"]) for taken in chosen):
                    chosen.append(entry)
                    total += entry["amount"]
        if not chosen or total < amount:
            raise ClientError(f"{public_key} holds {total} credit tokens, needs {max(amount, 1)}; "
                              f"check the key, or buy credits for it first")
        # A node folds a block into its balances at end_block and stores the block's
        # transactions at its commit, a moment later: an output may be listed before its
        # transaction can be read.
        deadline = time.monotonic() + self.COMMIT_WAIT_SECONDS
        while True:
            try:
                return [(self._committed(entry["transaction_id"]), entry["output_index"])
                        for entry in chosen]
            except NotFoundError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    # -- usage and royalty reports (bigchaindb_resonate/reports/)

    def report_context(self, scope="network", at_height=None):
        """The chain id, block (height, app hash, time), network parameters and tracks a
        report of `scope` is computed with; NotFoundError when the scope's record is not
        found."""
        return self._get("resonate/reports/context", scope=scope,
                         **({} if at_height is None else {"at_height": at_height}))

    def report_summary(self, scope=None, payee=None, from_date=None, to_date=None):
        """Summary figures from the totals the node keeps at commit (fast at any ledger
        size): of `scope` (default network) or of one `payee` key; with from_date and
        to_date (YYYY-MM-DD), also per consensus day. NotFoundError when the scope's
        record is not found."""
        params = {name: value for name, value in (("scope", scope), ("payee", payee),
                                                  ("from_date", from_date), ("to_date", to_date))
                  if value is not None}
        return self._get("resonate/reports/summary", **params)

    def report_totals(self, keys):
        """{key: stored totals document} for those of `keys` (at most 100) the node holds."""
        return self._get("resonate/reports/totals", key=list(keys))["totals"]

    def report(self, scope="network", fmt="json", at_height=None, **period):
        """The report's text in chunks, as the node computes it; NotFoundError when the
        scope's record is not found. `period`: from_height, to_height, from_time, to_time."""
        params = {"scope": scope, "format": fmt, **period}
        if at_height is not None:
            params["at_height"] = at_height
        response = self._request("GET", "resonate/reports", params=params, stream=True)
        response.encoding = "utf-8"
        return response.iter_content(chunk_size=1 << 16, decode_unicode=True)

    # -- governance: parameter elections (docs/spec/parameter_election.md)

    def validators(self):
        """The current validators as (base58 public key, voting power) pairs, from
        BigchainDB's GET /api/v1/validators."""
        listed = self._get("validators")
        if not isinstance(listed, list):
            raise self._not_a_node("something other than a list of validators")
        return [(parameter_election.validator_public_key(entry["public_key"]["value"]),
                 entry["voting_power"]) for entry in listed]

    def prepare_parameter_election(self, proposer, parameter, value, activation_height, seed=None):
        """PARAMETER_ELECTION, unsigned: the validator public key `proposer` proposes
        `value` for `parameter` from `activation_height` on; every current validator holds
        its power in votes."""
        return parameter_election.build(proposer, self.validators(), parameter, value,
                                        activation_height, seed).to_dict()

    def prepare_vote(self, voter, election_id):
        """VOTE, unsigned: every vote the validator public key `voter` holds in the
        committed election `election_id`, sent to the election."""
        try:
            return parameter_election.vote(self._committed(election_id), voter).to_dict()
        except ValueError as exc:
            raise ClientError(f"{exc}; check the key (`resonate governance status "
                              f"{election_id}` lists the voters)") from None

    def propose_parameter(self, keypair, parameter, value, activation_height, mode="commit"):
        """A parameter election proposed and signed by the validator `keypair`, sent."""
        tx = self.prepare_parameter_election(keypair.public_key, parameter, value, activation_height)
        return self.submit(self.fulfill(tx, [keypair.private_key]), mode)

    def vote(self, keypair, election_id, mode="commit"):
        """The validator `keypair`'s vote in a parameter election, signed and sent."""
        tx = self.prepare_vote(keypair.public_key, election_id)
        return self.submit(self.fulfill(tx, [keypair.private_key]), mode)

    def parameters(self, height=None):
        """Every parameter in force at `height` (default: the next block), with the
        height and election it comes from."""
        return self._get("resonate/parameters", **({} if height is None else {"height": height}))

    def parameter_history(self, name):
        """Every value of one parameter with the election that set it, and its open election."""
        return self._get(f"resonate/parameters/{name}/history")

    def elections(self):
        """The parameter elections open now, or passed and not yet in force."""
        return self._get("resonate/governance/elections")

    def election(self, election_id):
        """A parameter election's status, votes and voters."""
        return self._get(f"resonate/governance/elections/{election_id}")

    def rule_versions(self):
        """The node's plugin (version, rules digest, the rule versions it knows) and its
        chain's rule versions under `chain_rule_versions`: in force at the next height, voted
        in for later heights, and any voted in that the node lacks
        (docs/spec/rule_versions.md)."""
        return self._get("resonate/")


    def statement(self, payee, fmt="json", at_height=None, **period):
        """A payee's statement (text) for a period: `period` as for `report`; `fmt` json,
        csv or html."""
        params = {"payee": payee, "format": fmt, **period}
        if at_height is not None:
            params["at_height"] = at_height
        response = self._request("GET", "resonate/statements", params=params)
        response.encoding = "utf-8"
        return response.text


def _keypairs(keypairs):
    """One key pair (itself a tuple with private_key and public_key) or several."""
    return [keypairs] if hasattr(keypairs, "private_key") else list(keypairs)


def _listed(keys):
    """Keys given as a list, or one key alone."""
    return [keys] if isinstance(keys, str) else list(keys)


# -- playing through a payment channel: a receiver's protocol (docs/receiver.md)

class ReceiverRefused(ClientError):
    """The receiver refused a voucher: its stable `code` (docs/receiver.md), the `field` at
    fault, what was `expected`, and whether the same voucher may be sent again (`retry`)."""

    def __init__(self, body):
        self.body = body
        self.code = body.get("code")
        self.field = body.get("field")
        self.expected = body.get("expected")
        self.retry = bool(body.get("retry"))
        self.detail = body.get("detail")
        super().__init__(f"{self.code}: {self.detail}"
                         + (f" (field {self.field})" if self.field else "")
                         + (f"; expected {self.expected}" if self.expected else "")
                         + ("; try again shortly" if self.retry else ""))


class ReceiverClient:
    """A receiver's HTTP protocol: send vouchers, read what it holds, ask it to settle."""

    def __init__(self, url, timeout=10):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method, path, fields=(), **options):
        """The receiver's JSON answer, which must name `fields`."""
        try:
            response = self.session.request(method, f"{self.url}{path}", timeout=self.timeout,
                                            **options)
        except requests.RequestException as exc:
            raise NodeUnreachable(f"cannot reach the receiver at {self.url} "
                                  f"({type(exc).__name__}): is `resonate receiver serve` "
                                  f"running there?") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise NotANode(f"{self.url} answered HTTP {response.status_code} without a "
                           f"receiver's JSON; check the receiver URL (`resonate receiver "
                           f"serve` prints it)")
        if body.get("status") == "refused":
            raise ReceiverRefused(body)
        if response.status_code >= 400 or not all(field in body for field in fields):
            raise NotANode(f"{self.url} answered HTTP {response.status_code} without "
                           f"{', '.join(fields) or 'a refusal code'}, not as a receiver does; "
                           f"check the receiver URL (`resonate receiver serve` prints it)")
        return body

    def send_voucher(self, voucher):
        """The receiver's answer once it has stored the voucher: accepted (`duplicate`
        when it held it already); ReceiverRefused otherwise."""
        return self._call("POST", "/vouchers", ("status", "sequence", "total"), json=voucher)

    def send_vouchers(self, vouchers):
        """Answers for several vouchers sent together, each accepted or refused (a dict
        with `code`), once the accepted ones are stored."""
        return self._call("POST", "/vouchers", ("answers",), json=list(vouchers))["answers"]

    def channel(self, channel_id, track=None):
        """What the receiver holds for a channel (its latest sequence and total, what the
        ledger settled), and with `track` the listener's next play number of it."""
        return self._call("GET", f"/channels/{channel_id}",
                          ("sequence", "total") + (("next_play",) if track else ()),
                          params={"track": track} if track else None)

    def vouchers(self, channel_id, after=0):
        """The vouchers the receiver holds for a channel after sequence `after` (up to 1000)."""
        return self._call("GET", f"/channels/{channel_id}/vouchers", ("vouchers",),
                          params={"after": after})["vouchers"]

    def settle(self, channel_id):
        """Ask the receiver to settle the channel now; what the ledger then holds."""
        return self._call("POST", f"/channels/{channel_id}/settle",
                          ("settled_sequence", "settled_total", "settlements"))

    def status(self):
        return self._call("GET", "/", ("receiver", "vouchers"))


class ChannelPlayer:
    """A listener streaming through a channel: before each track starts, it signs the
    play's voucher (the next sequence, the track's next play number, its price by the
    curve, the running total) and has the receiver accept it.

        player = ChannelPlayer(ReceiverClient("http://127.0.0.1:7400"), listener, channel_id)
        player.play(track_id, right_id, "GB")   # {'status': 'accepted', ...} in milliseconds

    It starts from what the receiver holds and keeps count itself; after a refusal that
    says its count is off, it reads the receiver's again on the next play."""

    def __init__(self, receiver, keypair, channel_id):
        self.receiver = receiver
        self.keypair = keypair
        self.channel_id = channel_id
        self._forget()

    def _forget(self):
        self.sequence = self.total = None
        self.next_play = {}

    def play(self, track_id, right_id, territory):
        from bigchaindb_resonate.validators.terms import normalise_country
        from bigchaindb_resonate.vouchers import make_voucher

        if self.sequence is None or track_id not in self.next_play:
            view = self.receiver.channel(self.channel_id, track=track_id)
            self.sequence, self.total = view["sequence"], view["total"]
            self.next_play[track_id] = view["next_play"]
        number = self.next_play[track_id]
        voucher = make_voucher(
            self.keypair.private_key, channel=self.channel_id, listener=self.keypair.public_key,
            sequence=self.sequence + 1, track=track_id, play=number, price=price(number),
            total=self.total + price(number), territory=normalise_country(territory),
            right=right_id)
        try:
            answer = self.receiver.send_voucher(voucher)
        except ReceiverRefused as refusal:
            if refusal.code in ("RECEIVER_STALE", "RECEIVER_SEQUENCE_GAP",
                                "RECEIVER_PLAY_NUMBER", "RECEIVER_WRONG_TOTAL"):
                self._forget()  # someone else's count moved: start again from the receiver's
            raise
        self.sequence, self.total = voucher["sequence"], voucher["total"]
        self.next_play[track_id] = number + 1
        return {**answer, "voucher": voucher}
