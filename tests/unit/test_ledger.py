"""The rule index and the LedgerView over it: lookups only by what a type indexes, counts
and latest entries read from a head, no document that grows with the ledger, and crash
recovery that leaves the index as if the rolled-back block had never been filed."""
import copy

import bson
import pytest
from bigchaindb.common.exceptions import ValidationError

from bigchaindb_resonate.ledger import (
    RULE_INDEX, LedgerView, UnindexedLookup, file_block, metadata_key,
    keep_rule_index_reads, unfile,
)
from bigchaindb_resonate.registry import index_keys
from .memory_store import MemoryStore, memory_ledger
from .test_copyright import ALICE, BOB, CAROL, WORK, a_ledger
from .test_play import CREDIT, LICENCE, MARKET, PURCHASE, a_play, plays
from .test_split import COPYRIGHT, TRACK, a_split

LISTENER, TRACK_ID = "listener-key", "t" * 64


def a_play_entry(number):
    """What file_block needs of a PLAY: its id and the keys index_keys gives it."""
    metadata = {"listener": LISTENER, "track": TRACK_ID, "playNumber": number}
    return (f"play-{number}", index_keys("PLAY", {"id": "credit"}, metadata))


def rule_index(store):
    return {doc["_id"]: doc for doc in store.collection(RULE_INDEX).documents}


@pytest.mark.parametrize("lookup", [
    lambda ledger: ledger.find_records("COPYRIGHT", "territory", "GB"),
    lambda ledger: ledger.find_records("PARTY", "name", "Kokoroko"),
    lambda ledger: ledger.find_records("RIGHT", "allowedBy", COPYRIGHT.id),  # filed as `source`
    lambda ledger: ledger.find_records("NOT_A_TYPE", "subject", "x"),
    lambda ledger: ledger.find_by_metadata("PLAY", {"listener": LISTENER}),
    lambda ledger: ledger.asset_transactions(CREDIT.id),
])
def test_a_lookup_the_node_does_not_index_is_a_bug_not_a_refusal(lookup):
    ledger = memory_ledger(MARKET)
    with pytest.raises(UnindexedLookup) as raised:
        lookup(ledger)
    assert not isinstance(raised.value, ValidationError)


def test_records_come_in_commit_order_and_the_latest_from_the_head():
    older, newer, pending = (a_split([(payee, 10000)]) for payee in (CAROL, BOB, ALICE))
    store = MemoryStore()
    store.commit(1, WORK, TRACK, COPYRIGHT)
    store.commit(2, newer)
    store.commit(3, older)  # committed later: in force, though built earlier
    found = LedgerView(store).find_records("SPLIT", "subject", TRACK.id)
    store.finds.clear()
    assert len(found) == 2 and found[-1].id == older.id
    assert store.finds == [RULE_INDEX]  # the head names the count and the latest
    assert [split.id for split in found] == [newer.id, older.id]
    with_pending = LedgerView(store, [pending]).find_records("SPLIT", "subject", TRACK.id)
    assert [split.id for split in with_pending] == [newer.id, older.id, pending.id]


def test_counting_a_listeners_plays_reads_one_document_however_many_there_are():
    store = MemoryStore()
    file_block(store, [a_play_entry(number) for number in range(500)])
    store.finds.clear()
    found = LedgerView(store).find_by_metadata("PLAY", {"listener": LISTENER, "track": TRACK_ID})
    assert len(found) == 500
    assert store.finds == [RULE_INDEX]


def test_no_document_grows_with_the_number_of_entries():
    store = MemoryStore()
    for block in range(20):
        file_block(store, [a_play_entry(block * 50 + number) for number in range(50)])
    sizes = [len(bson.BSON.encode(doc)) for doc in store.collection(RULE_INDEX).documents]
    assert len(sizes) == 1000 + 1  # an entry per play, one head
    assert max(sizes) < 200
    head = rule_index(store)[metadata_key("PLAY", {"listener": LISTENER, "track": TRACK_ID})]
    assert head["count"] == 1000 and head["latest"] == "play-999"


def test_only_a_records_own_transfers_are_filed_by_asset():
    done, _ = plays(2)
    keyed = {tx.id: index_keys(tx.operation, tx.asset, tx.metadata) for tx in [PURCHASE, *done]}
    assert keyed[PURCHASE.id] == []  # a credit purchase is a plain TRANSFER: not listed
    assert all(not any(key.startswith("asset|") for key in keys) for keys in keyed.values())


@pytest.mark.parametrize("crash", ["before the heads", "after the heads"])
def test_crash_recovery_leaves_the_index_as_before_the_block(crash):
    store = MemoryStore()
    file_block(store, [a_play_entry(0), a_play_entry(1)])
    before = copy.deepcopy(rule_index(store))
    block = [a_play_entry(2), a_play_entry(3)]
    if crash == "after the heads":
        file_block(store, block)
    else:  # the entries were written, the heads not yet
        file_block(store, block)
        for key, head in before.items():
            store.collection(RULE_INDEX).replace_one({"_id": key}, head)
    unfile(store, block)
    assert rule_index(store) == before


@pytest.mark.parametrize("crash", ["before the heads", "after the heads"])
def test_crash_recovery_unfiles_a_key_a_transaction_is_filed_under_several_times(crash):
    # A channel settlement is filed under a play count key once per voucher.
    store = MemoryStore()
    key = metadata_key("PLAY", {"listener": "L", "track": "T"})
    file_block(store, [("p" * 64, [key])])
    before = copy.deepcopy(rule_index(store))
    block = [("s" * 64, [key, key, key]), ("t" * 64, [key])]
    file_block(store, block)
    assert len(LedgerView(store).filed_under(key)) == 5
    if crash == "before the heads":
        store.collection(RULE_INDEX).replace_one({"_id": key}, before[key])
    unfile(store, block)
    assert rule_index(store) == before


def test_recovery_of_a_key_first_filed_in_the_rolled_back_block_removes_it():
    store = MemoryStore()
    unfile_block = [a_play_entry(0)]
    file_block(store, unfile_block)
    unfile(store, unfile_block)
    assert rule_index(store) == {}


def test_a_pending_play_counts_by_the_same_keys_as_a_committed_one():
    first = a_play()
    ledger = a_ledger(MARKET, [first])
    found = ledger.find_by_metadata("PLAY", {"listener": first.metadata["listener"],
                                             "track": first.metadata["track"]})
    assert len(found) == 1 and found[0] is first


def test_the_credit_token_and_parameters_are_read_once_per_store():
    ledger = memory_ledger(MARKET, parameters={"treasury_keys": ["k"], "platform_key": "k",
                                               "coop_share_bp": 3000})
    store = ledger._bigchain
    assert ledger.first_record("CREDIT", "@type", "ResonateCredit").id == CREDIT.id
    assert ledger.network_parameters()["coop_share_bp"] == 3000
    store.finds.clear()
    again = LedgerView(store)
    assert again.first_record("CREDIT", "@type", "ResonateCredit").id == CREDIT.id
    assert again.network_parameters()["coop_share_bp"] == 3000
    assert RULE_INDEX not in store.finds and "network_parameters" not in store.finds


def test_an_absent_credit_token_is_looked_up_again():
    store = memory_ledger([WORK])._bigchain
    assert LedgerView(store).first_record("CREDIT", "@type", "ResonateCredit") is None
    store.commit(2, CREDIT)
    assert LedgerView(store).first_record("CREDIT", "@type", "ResonateCredit").id == CREDIT.id
    assert LedgerView(store, [LICENCE]).first_record("CREDIT", "@type", "ResonateCredit").id == CREDIT.id


def test_the_committing_process_reads_each_head_once_and_then_keeps_what_it_writes():
    store = MemoryStore()
    file_block(store, [a_play_entry(0)])
    keep_rule_index_reads(store)  # as host._rule_index does after filing
    count = lambda: len(LedgerView(store).find_by_metadata(  # noqa: E731
        "PLAY", {"listener": LISTENER, "track": TRACK_ID}))
    store.finds.clear()
    assert count() == 1 and count() == 1
    assert store.finds == []  # the head it wrote
    file_block(store, [a_play_entry(1)])
    file_block(store, [a_play_entry(2)])
    assert count() == 3
    assert store.finds == []  # filing read no head it had written


def test_recovery_forgets_the_kept_heads_and_files_again_from_the_store():
    store = MemoryStore()
    file_block(store, [a_play_entry(0)])
    block = [a_play_entry(1)]
    file_block(store, block)
    unfile(store, block)  # crash recovery writes the index without the committing path
    store.finds.clear()
    file_block(store, [a_play_entry(2)])
    assert store.finds == [RULE_INDEX]  # the head, read again
    head = rule_index(store)[metadata_key("PLAY", {"listener": LISTENER, "track": TRACK_ID})]
    assert head["count"] == 2 and head["latest"] == "play-2"


def test_an_entry_left_over_by_an_interrupted_recovery_is_replaced_not_a_halt():
    store = MemoryStore()
    file_block(store, [a_play_entry(0)])
    key = metadata_key("PLAY", {"listener": LISTENER, "track": TRACK_ID})
    store.collection(RULE_INDEX).insert_many([{"_id": f"{key}#1", "id": "left-over"}])
    file_block(store, [a_play_entry(1)])
    assert rule_index(store)[f"{key}#1"] == {"_id": f"{key}#1", "id": "play-1"}
    assert rule_index(store)[key]["count"] == 2


def test_a_failed_write_forgets_every_kept_head():
    store = MemoryStore()
    file_block(store, [a_play_entry(0)])
    collection = store.collection(RULE_INDEX)
    failing = collection.bulk_write
    collection.bulk_write = lambda *args, **kwargs: (_ for _ in ()).throw(OSError("store gone"))
    with pytest.raises(OSError):
        file_block(store, [a_play_entry(1)])  # the entry is in, the head is not
    collection.bulk_write = failing
    store.finds.clear()
    file_block(store, [a_play_entry(1)])
    assert store.finds == [RULE_INDEX]
    key = metadata_key("PLAY", {"listener": LISTENER, "track": TRACK_ID})
    assert rule_index(store)[key]["count"] == 2
