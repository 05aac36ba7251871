"""Credit balances kept at commit (balances.py), over the in-memory store the node's own
fold writes (memory_store.MemoryStore.commit runs balances.fold_block): on a mixed ledger
(plays, purchases, a channel opened, settled, topped up, closed and refunded, payout
requests settled and cancelled) they equal, after every block and for every key, what the
balance read computed before it kept them: every transaction that ever paid the key, its
unspent outputs of the credit token that name it alone."""
import copy

import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate import balances, reads
from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.ledger import NETWORK_PARAMETERS, LedgerView
from bigchaindb_resonate.operations import (
    channel_close, channel_refund, channel_topup, payout_cancel, payout_request, payout_settle,
)
from bigchaindb_resonate.types.credit import credit_token
from .memory_store import MemoryStore
from .test_channels import CHANNEL_PARAMETERS, opened, read, settlement, signed, vouchers_for
from .test_copyright import ALICE, BOB, CAROL
from .test_play import CREDIT, MARKET, PURCHASE, a_play
from .test_reads import api_client, get

DAVE = generate_key_pair()
KEYS = [key.public_key for key in (ALICE, BOB, CAROL, DAVE)]
IN_FORCE = {"payout_rate": 800, "payout_currency": "EUR"}


def balance_from_history(store, public_key):
    """The balance read as it was before balances were kept (reads.credit_balance then):
    (balance, {(txid, index): amount}) from every transaction that paid the key."""
    token = credit_token(LedgerView(store))
    held = next((holding for holding in reads.holdings(store, public_key)
                 if holding["asset_id"] == token.id), {"outputs": []})
    alone = {(output["transaction_id"], output["output_index"]): output["amount"]
             for output in held["outputs"] if output["public_keys"] == [public_key]}
    return sum(alone.values()), alone


def kept(store, public_key):
    """(balance, {(txid, index): amount}) as kept, every page read."""
    answer = reads.credit_balance(store, public_key, limit=0)
    outputs, start = {}, 0
    while start is not None:
        page = reads.credit_balance(store, public_key, start=start, limit=3)
        outputs.update(((output["transaction_id"], output["output_index"]), output["amount"])
                       for output in page["outputs"])
        assert all(output["public_keys"] == [public_key] for output in page["outputs"])
        start = page["next"]
    assert answer["output_count"] == len(outputs)
    return answer["balance"], outputs


def alone(tx, public_key):
    """(tx, index) of each output of `tx` naming `public_key` alone."""
    return [(tx, index) for index, output in enumerate(tx.outputs) if output.public_keys == [public_key]]


def mixed_blocks():
    """Blocks of every kind of credit move, each as a list of transactions."""
    blocks = [list(MARKET)]
    played, wallet = [], (PURCHASE, 0)
    for number in range(6):  # one block: each play spends the change of the one before
        played.append(a_play(number, credits=(wallet,)))
        wallet = alone(played[-1], CAROL.public_key)[0]
    blocks.append(played)
    sold = Transaction.transfer(PURCHASE.to_inputs([1]), [([DAVE.public_key], 3000),
                                                          ([ALICE.public_key], 10 ** 6 - 8000)],
                                asset_id=CREDIT.id).sign([ALICE.private_key])
    sold = Transaction.from_dict(sold.to_dict())
    blocks.append([sold, a_play(6, credits=(wallet,))])
    wallet = alone(blocks[-1][-1], CAROL.public_key)[0]
    channel = opened(deposit=1500, credits=(wallet,))
    blocks.append([channel])
    paid = settlement(channel, vouchers_for(channel, 3, first_play=7))
    blocks.append([paid])
    topped = signed(channel_topup.top_up(read(paid), alone(channel, CAROL.public_key), 50), CAROL)
    closing = signed(channel_close.close(read(topped), CREDIT.id), CAROL)
    blocks.append([topped, closing])
    blocks.append([signed(channel_refund.refund(read(closing), CREDIT.id), CAROL)])
    # The platform key (Bob) asks for a payout from outputs in the middle of its slots.
    bobs = [pair for tx in played for pair in alone(tx, BOB.public_key)]
    asked = signed(payout_request.request([bobs[1], bobs[3]], BOB.public_key, ALICE.public_key,
                                          sum(tx.outputs[i].amount for tx, i in [bobs[1], bobs[3]]) - 1,
                                          CREDIT.id), BOB)
    blocks.append([asked])
    blocks.append([signed(payout_settle.settle(asked, "SEPA-1", IN_FORCE), ALICE)])
    daves = signed(payout_request.request(alone(sold, DAVE.public_key), DAVE.public_key,
                                          ALICE.public_key, 1000, CREDIT.id), DAVE)
    blocks.append([daves, signed(payout_cancel.cancel(daves), DAVE)])
    return blocks


def new_store():
    store = MemoryStore()
    store.collection(NETWORK_PARAMETERS).documents.append({"chain_id": "memory", **CHANNEL_PARAMETERS})
    return store


def committed(blocks):
    store = new_store()
    for height, block in enumerate(blocks, 1):
        store.commit(height, *block, time=1_796_000_000 + height)
    return store


def balance_documents(store):
    return sorted((document for document in store.collection(balances.COLLECTION).documents
                   if not document["_id"].startswith(balances.JOURNAL)), key=lambda d: d["_id"])


def test_the_kept_balance_is_what_the_history_gives_after_every_block_for_every_key():
    store = new_store()
    for height, block in enumerate(mixed_blocks(), 1):
        store.commit(height, *block, time=1_796_000_000 + height)
        for key in KEYS:
            assert kept(store, key) == balance_from_history(store, key), (height, key)
    # Every kind of move happened, and each party holds something in the end.
    operations = {doc["operation"] for doc in store.collection("transactions").documents}
    assert {"PLAY", "TRANSFER", "CHANNEL_OPEN", "CHANNEL_SETTLE", "CHANNEL_TOPUP", "CHANNEL_CLOSE",
            "CHANNEL_REFUND", "PAYOUT_REQUEST", "PAYOUT_SETTLE", "PAYOUT_CANCEL"} <= operations
    assert all(kept(store, key)[0] > 0 for key in KEYS)


def test_held_tokens_are_in_neither_sides_balance():
    blocks = mixed_blocks()
    store = committed(blocks[:4] + [[blocks[7][0]]])  # the channel open and Bob's request
    channel, request = blocks[3][0], blocks[7][0]
    kept_outputs = {key: kept(store, key)[1] for key in KEYS}
    for tx in (channel, request):
        held = [index for index, output in enumerate(tx.outputs) if len(output.public_keys) == 2]
        assert held and all((tx.id, index) not in outputs for index in held
                            for outputs in kept_outputs.values())


def test_a_page_stops_at_its_limit_or_once_it_holds_the_amount():
    blocks = mixed_blocks()[:2]  # Bob is paid by six plays (as a payee and as the co-op)
    store = committed(blocks)
    count = len([pair for tx in blocks[1] for pair in alone(tx, BOB.public_key)])
    whole = reads.credit_balance(store, BOB.public_key)
    assert count > 4 and (whole["output_count"], len(whole["outputs"]), whole["next"]) == (count, count, None)
    first = reads.credit_balance(store, BOB.public_key, limit=4)
    assert (len(first["outputs"]), first["next"]) == (4, 4)
    rest = reads.credit_balance(store, BOB.public_key, start=4, limit=count)
    assert rest["outputs"] == whole["outputs"][4:] and rest["next"] is None
    needed = reads.credit_balance(store, BOB.public_key, amount=whole["outputs"][0]["amount"] + 1)
    assert needed["outputs"] == whole["outputs"][:2] and needed["next"] == 2
    assert reads.credit_balance(store, BOB.public_key, amount=0)["outputs"] == whole["outputs"][:1]
    assert reads.credit_balance(store, DAVE.public_key) == {
        "public_key": DAVE.public_key, "asset_id": CREDIT.id, "balance": 0, "output_count": 0,
        "outputs": [], "next": None}


def test_a_balance_read_makes_the_same_lookups_however_often_the_key_was_paid():
    blocks = mixed_blocks()
    lookups = []
    for count in (2, 7):  # blocks, the second with one more play paying Bob
        store = committed(blocks[:count])
        store.finds.clear()
        store.scans.clear()
        reads.credit_balance(store, BOB.public_key, limit=2)
        assert not store.scans
        lookups.append(len(store.finds))
    assert lookups[0] == lookups[1] <= 8


def test_a_block_delivered_again_after_a_crash_mid_fold_leaves_what_one_fold_leaves():
    blocks = mixed_blocks()
    store = committed(blocks[:6])
    before = copy.deepcopy(store.collection(balances.COLLECTION).documents)
    store.commit(7, *blocks[6], time=1_796_000_007)
    after = copy.deepcopy(store.collection(balances.COLLECTION).documents)
    journal = [document for document in after if document["_id"].startswith(balances.JOURNAL)]
    changed = [document for document in after if document not in before
               and not document["_id"].startswith(balances.JOURNAL)]
    assert changed
    # The crash came once the journal was stored and half the changes were written.
    stored = [document for document in before if document["_id"] not in
              {written["_id"] for written in journal + changed[:len(changed) // 2]}]
    store.collection(balances.COLLECTION).documents[:] = stored + journal + changed[:len(changed) // 2]
    balances.forget_kept(store, balances.COLLECTION)  # a new process
    store.fold_balances(7, blocks[6])
    assert balance_documents(store) == sorted(
        (d for d in after if not d["_id"].startswith(balances.JOURNAL)), key=lambda d: d["_id"])
    store.fold_balances(6, blocks[5])  # an older block changes nothing
    assert balance_documents(store) == sorted(
        (d for d in after if not d["_id"].startswith(balances.JOURNAL)), key=lambda d: d["_id"])


def test_a_rebuild_from_the_blocks_keeps_the_same_documents(monkeypatch):
    store = committed(mixed_blocks())
    folded = balance_documents(store)
    monkeypatch.setattr(balances, "FOLDED_PER_WRITE", 3)  # several writes, and a last one
    height, moves = balances.rebuild(store)
    assert height == len(mixed_blocks()) and moves == sum(
        1 for block in mixed_blocks() for tx in block if tx.id == CREDIT.id
        or (tx.asset or {}).get("id") == CREDIT.id)
    assert balance_documents(store) == folded


def test_a_store_with_a_credit_token_and_no_kept_balances_says_to_rebuild():
    store = committed(mixed_blocks()[:2])
    store.collection(balances.COLLECTION).documents.clear()
    with pytest.raises(balances.BalancesNotKept, match="rebuild-totals"):
        reads.credit_balance(store, BOB.public_key)
    status, body = get(api_client(store), f"/credits/{BOB.public_key}")
    assert status == 503 and "rebuild-totals" in body["message"]


@pytest.mark.parametrize("query, message", [
    ({"limit": "1001"}, "limit must be at most 1000"),
    ({"start": "-1"}, "start must be a non-negative integer"),
    ({"amount": "x"}, "amount must be a non-negative integer"),
])
def test_the_route_refuses_a_bad_page(query, message):
    store = committed(mixed_blocks()[:2])
    status, body = get(api_client(store), f"/credits/{BOB.public_key}", **query)
    assert status == 400 and message in body["message"]


def test_the_route_answers_pages_in_the_documented_shape():
    import jsonschema

    from .test_reads import documented

    store = committed(mixed_blocks()[:2])
    status, body = get(api_client(store), f"/credits/{BOB.public_key}", limit=2, amount=1)
    assert status == 200 and body == reads.credit_balance(store, BOB.public_key, 1, 0, 2)
    jsonschema.validate(body, documented("/credits/{public_key}"))


def test_the_audit_recomputes_every_keys_balance_from_the_nodes_ledger_and_names_a_wrong_one():
    from bigchaindb_resonate.reports.audit import audit_balances
    from .test_reports import nodes_over

    store = committed(mixed_blocks())
    nodes = nodes_over(store)
    result = audit_balances(list(nodes["clients"]), nodes["clients"])
    assert result.ok and result.lines == 2 * len(KEYS)
    slot = next(document for document in store.collection(balances.COLLECTION).documents
                if document["_id"] == balances.slot_id(CAROL.public_key, 0))
    slot["amount"] += 1
    result = audit_balances(list(nodes["clients"]), nodes["clients"])
    assert not result.ok and all(CAROL.public_key in finding for finding in result.findings)
    assert len(result.findings) == 2  # one per node


def test_the_client_picks_a_payments_inputs_a_page_at_a_time(monkeypatch):
    from bigchaindb_resonate.client import Client, ClientError
    from .test_reports import nodes_over

    store = committed(mixed_blocks()[:2])
    http = nodes_over(store)["http"]
    asked = []

    class StoreClient(Client):
        def _get(self, path, **params):
            asked.append((path, params))
            return http.get(f"/api/v1/{path}", query_string=params).get_json()

    monkeypatch.setattr(reads, "OUTPUTS_PER_PAGE", 3)
    client = StoreClient("http://127.0.0.1:9984")
    held = reads.credit_balance(store, BOB.public_key, limit=100)
    chosen = client._credits(BOB.public_key, held["balance"])
    assert sorted((tx["id"], index) for tx, index in chosen) == sorted(
        (output["transaction_id"], output["output_index"]) for output in held["outputs"])
    pages = [params for path, params in asked if path.startswith("resonate/credits/")]
    assert len(pages) == -(-held["output_count"] // 3)  # every page, each asking what is missing
    assert [page["start"] for page in pages] == list(range(0, held["output_count"], 3))
    first = held["outputs"][0]["amount"]
    assert [(tx["id"], index) for tx, index in client._credits(BOB.public_key, first)] == [
        (held["outputs"][0]["transaction_id"], held["outputs"][0]["output_index"])]
    with pytest.raises(ClientError, match="buy credits"):
        client._credits(BOB.public_key, held["balance"] + 1)
