"""Report totals (reports/totals.py) over the scripted play history of test_reports.py:
the totals a node keeps block by block equal those recomputed from the whole ledger, equal
the report's own summary lines, and a replayed block adds nothing twice.

Folding is checked here by storing the documents `totals.updates` produces in place of
the stored ones, as the node's write does; the same writes run on a real FerretDB in
tests/integration/test_reports_e2e.py and tests/integration/test_commit_path.py."""
import copy

import pytest

from bigchaindb_resonate.reports import totals
from bigchaindb_resonate.reports.compute import PLAY, StoreLedger

from .test_reports import DAY, T0, app_over, by_kind, lines_of
from .test_reports import history  # noqa: F401 (the module's fixture)


def apply_writes(documents, writes):
    """`writes` (whole documents with their `_id`) stored in {_id: document}."""
    for write in writes:
        documents[write["_id"]] = copy.deepcopy(write)


def blocks_of(history):
    """(height, consensus time, transactions with their metadata) per block."""
    store = history.store
    times = {doc["height"]: doc["time"] for doc in store.collection("block_times").documents}
    for block in sorted(store.collection("blocks").documents, key=lambda doc: doc["height"]):
        yield block["height"], times.get(block["height"]), [
            store.transaction(txid) for txid in block["transactions"]]


def folded(history, replay=False):
    documents = {}
    platform = history.keys["platform"].public_key
    for height, seconds, transactions in blocks_of(history):
        block = totals.Totals()
        block.add_block(seconds, transactions, platform)
        writes = totals.updates(height, block, copy.deepcopy(documents))
        if replay:  # a crash after part of the block's writes, then a retried write
            apply_writes(documents, writes[:len(writes) // 2])
            apply_writes(documents, writes[:1])
            writes = totals.updates(height, block, copy.deepcopy(documents))
        apply_writes(documents, writes)
    return documents


def recomputed(history):
    ledger = StoreLedger(history.store)
    return totals.recompute(ledger, ledger.tip()["height"]).documents


def figures(document):
    return {name: value for name, value in document.items() if name not in ("height", "_id")}


def test_totals_kept_block_by_block_equal_the_rebuild_from_the_ledger(history):
    kept, rebuilt = folded(history), recomputed(history)
    assert {key: figures(document) for key, document in kept.items()} == rebuilt
    heights = {block["height"] for block in history.store.collection("blocks").documents}
    assert kept["network"]["height"] == max(heights)


def test_a_replayed_block_adds_nothing_twice(history):
    assert folded(history, replay=True) == folded(history)


def test_totals_equal_the_reports_summary_lines(history):
    kept = recomputed(history)
    lines = lines_of(history)
    (report_totals,) = by_kind(lines, "totals")
    assert kept["network"] == {name: report_totals[name] for name in totals.PLAY_FIGURES}
    for line in by_kind(lines, "track"):
        track = kept[f"track|{line['track']}"]
        assert {name: track[name] for name in ("paid_plays", "free_plays", "tokens", "ownerships")} \
            == {name: line[name] for name in ("paid_plays", "free_plays", "tokens", "ownerships")}
    for line in by_kind(lines, "territory"):
        territory = kept[f"territory|{line['territory']}"]
        assert {name: territory[name] for name in ("paid_plays", "free_plays", "tokens")} == \
            {name: line[name] for name in ("paid_plays", "free_plays", "tokens")}
    paid = {}
    for line in by_kind(lines, "payee") + by_kind(lines, "coop"):
        paid.setdefault(line["payee"], {"amount": 0, "payments": 0})
        paid[line["payee"]]["amount"] += line["amount"]
        paid[line["payee"]]["payments"] += line["payments"]
    assert {key.split("|", 1)[1]: document for key, document in kept.items()
            if key.startswith("payee|")} == paid
    assert sum(document["tokens"] for key, document in kept.items()
               if key.startswith("day|")) == report_totals["tokens"]


def test_days_are_consensus_days_in_utc():
    assert totals.date_of(0) == "1970-01-01"
    assert totals.date_of(T0) == "2023-11-14" and totals.date_of(T0 + DAY) == "2023-11-15"
    assert totals.date_of(86399) == "1970-01-01" and totals.date_of(86400) == "1970-01-02"


def test_a_summary_answers_from_a_few_documents(history):
    kept = recomputed(history)
    asked = []

    def lookup(keys):
        asked.extend(keys)
        return {key: kept[key] for key in keys if key in kept}

    track = history.track1["id"]
    dates = totals.dates_between(totals.date_of(T0), totals.date_of(T0 + 6 * DAY))
    answer = totals.summary(lookup, "party", [track, history.track2["id"]], dates)
    assert answer["totals"]["tokens"] == kept[f"track|{track}"]["tokens"] + kept.get(
        f"track|{history.track2['id']}", {}).get("tokens", 0)
    assert [row["track"] for row in answer["tracks"]] == [track, history.track2["id"]]
    assert sum(day["tokens"] for day in answer["days"]) == answer["totals"]["tokens"]
    assert len(asked) == 2 + 2 * len(dates)
    network = totals.summary(lookup, "network", None, dates)
    assert network["totals"] == kept["network"]
    platform = history.keys["platform"].public_key
    assert totals.summary(lookup, "payee", [platform], None) == {
        "totals": kept[f"payee|{platform}"]}


@pytest.mark.parametrize("first, last", [("2024-01-02", "2024-01-01"), ("2024-01-01", "2025-01-01"),
                                         ("yesterday", "2024-01-01"), (None, "2024-01-01")])
def test_summary_dates_are_checked(first, last):
    with pytest.raises(totals.ReportError):
        totals.dates_between(first, last)


def test_only_plays_count(history):
    block = totals.Totals()
    other = copy.deepcopy(history.plays[0])
    other["operation"] = "TRANSFER"
    block.add_block(T0, [other], history.keys["platform"].public_key)
    assert block.documents == {} and history.plays[0]["operation"] == PLAY


def test_the_summary_route_answers_from_stored_totals(history):
    store = copy.deepcopy(history.store)
    store.collection(totals.COLLECTION).documents.extend(
        {"_id": key, **document} for key, document in folded(history).items())
    app = app_over(store)
    http = app.test_client()
    (report_totals,) = by_kind(lines_of(history), "totals")
    answer = http.get("/api/v1/resonate/reports/summary").get_json()
    assert answer["scope"] == "network"
    assert answer["totals"] == {name: report_totals[name] for name in totals.PLAY_FIGURES}
    party = http.get("/api/v1/resonate/reports/summary", query_string={
        "scope": f"party:{history.party['id']}", "from_date": totals.date_of(T0),
        "to_date": totals.date_of(T0 + 9 * DAY)}).get_json()
    assert {row["track"] for row in party["tracks"]} == {history.track1["id"], history.track2["id"]}
    assert sum(day["tokens"] for day in party["days"]) == party["totals"]["tokens"] > 0
    platform = history.keys["platform"].public_key
    coop = http.get("/api/v1/resonate/reports/summary", query_string={"payee": platform}).get_json()
    assert coop["totals"]["amount"] == report_totals["coop_tokens"]
    keys = http.get("/api/v1/resonate/reports/totals?key=network&key=nothing").get_json()
    assert list(keys["totals"]) == ["network"]
    for bad in ({"from_date": "2024-01-01"}, {"payee": "not-a-key"},
                {"payee": platform, "scope": "network"}, {"scope": "album:1"}):
        response = http.get("/api/v1/resonate/reports/summary", query_string=bad)
        assert response.status_code == 400 and response.get_json()["message"], bad
    assert http.get("/api/v1/resonate/reports/totals").status_code == 400


def test_the_coop_is_the_platform_key_in_force_at_each_plays_height():
    """A parameter election moved the co-op's key: plays before its activation paid the
    old key as the co-op, later plays the new one; reports and totals say so."""
    from bigchaindb.common.crypto import generate_key_pair

    from bigchaindb_resonate.ledger import LedgerView, PARAMETER_CHANGES

    from .test_reports import History

    changed = History()
    store, old = changed.store, changed.keys["platform"].public_key
    last = max(doc["height"] for doc in store.collection("blocks").documents)
    new = generate_key_pair()
    store.collection(PARAMETER_CHANGES).documents.append(
        {"_id": "e" * 64, "parameter": "platform_key", "value": new.public_key,
         "activation_height": last + 1, "election": "e" * 64, "concluded_height": last})
    changed.keys["platform"] = new
    later = changed.play("listener2", changed.track3, "US")  # 8 tokens, 2 to the co-op
    store.commit(last + 1, later, time=T0 + 9 * DAY)

    payments = by_kind(lines_of(changed), "payment")
    coop = {(line["tx"], line["payee"]) for line in payments if line["role"] == "coop"}
    assert (later["id"], new.public_key) in coop
    assert all(payee == old for txid, payee in coop if txid != later["id"])
    rebuilt = recomputed(changed)
    assert rebuilt[f"payee|{new.public_key}"]["payments"] == 1
    # What the node folds at commit, with the key in force at each block's height.
    kept = {}
    for height, seconds, transactions in blocks_of(changed):
        block = totals.Totals()
        block.add_block(seconds, transactions,
                        LedgerView(store).parameters_at(height)["platform_key"])
        apply_writes(kept, totals.updates(height, block, copy.deepcopy(kept)))
    assert {key: figures(document) for key, document in kept.items()} == \
        {key: figures(document) for key, document in rebuilt.items()}
    assert kept["network"]["coop_tokens"] == sum(
        line["amount"] for line in payments if line["role"] == "coop")


def test_a_folded_document_keeps_its_fields_in_place_and_adds_new_ones_in_name_order():
    # The layout the `$set` upsert the node once wrote leaves on FerretDB, field by field,
    # so a node's stored documents stay byte for byte what they were.
    block = totals.Totals()
    block._add("track|t", {"tokens": 4, "paid_plays": 1, "payee|k2": 3, "payee|k1": 1})
    stored = {"track|t": {"_id": "track|t", "tokens": 2, "height": 3, "paid_plays": 1}}
    (document,) = totals.updates(5, block, stored)
    assert list(document.items()) == [("_id", "track|t"), ("tokens", 6), ("height", 5),
                                      ("paid_plays", 2), ("payee|k1", 1), ("payee|k2", 3)]
    (new,) = totals.updates(5, block, {})
    assert list(new) == ["_id", "height", "paid_plays", "payee|k1", "payee|k2", "tokens"]
