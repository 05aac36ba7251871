"""The registry through a real local network of 4 validators, over HTTP as an integrator
would (issue #3): every type accepted and read back from another node, a licence chain
three levels deep then assigned, dependent transactions committed in one block, and every
refusal answered by the network with its code. The rules themselves are covered through
the ABCI app (test_registry_abci.py, test_rights_abci.py); here they meet real nodes."""
import itertools
import time

import pytest
from bigchaindb.common.crypto import generate_key_pair
from bigchaindb.models import Transaction

from bigchaindb_resonate.client import TransactionRefused
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.copyright import Copyright
from bigchaindb_resonate.types.manifestation import Manifestation, work_of
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.right import Right
from bigchaindb_resonate.types.rights_assignment import RightsAssignment
from bigchaindb_resonate.types.split import Split
from bigchaindb_resonate.types.work import Work
from bigchaindb_resonate.validators.identifiers import iswc_check_digit

from . import story
from .conftest import at_once, committed, local_testnet, wait_everywhere
from .test_network import all_agree, block_of, wait_until

pytestmark = pytest.mark.integration

LICENSE = story.LICENCE["license"]
ACTION = {"@context": COALAIP_CONTEXT, "@type": "RightsTransferAction"}


@pytest.fixture(scope="module")
def testnet(tmp_path_factory):
    with local_testnet(tmp_path_factory.mktemp("registry-network"), first_port=27000) as network:
        yield network


def holders_now(client, asset_id):
    """{public key: shares} as a node reports the asset's holders."""
    return {entry["public_keys"][0]: entry["amount"]
            for entry in client.holders_of(asset_id)["holders"]}


def test_every_registry_type_is_accepted_and_read_back_from_another_node(clients):
    alice, bob, carol, dave = (generate_key_pair() for _ in range(4))
    writes = itertools.count()

    def written(method, *args, **options):
        """Through the next node in turn; the transaction and a node it was not written to,
        once every node has it."""
        number = next(writes)
        tx = getattr(clients[number % 4], method)(*args, **options)
        return committed(clients, tx), clients[(number + 1) % 4]

    party, reader = written("register_party", alice, {
        "@type": "Person", "name": "Sheila Maurice-Grey", "isni": "0000 0001 2103 2683"})
    assert reader.record(party["id"])["data"]["isni"] == "0000000121032683"
    work, reader = written("register_work", alice, {
        "@type": "MusicComposition", "name": "Uman", "composer": [party["id"]],
        "iswcCode": "T-034.524.680-1"})
    assert reader.lookup_iswc("T0345246801")["records"][0]["id"] == work["id"]
    track, reader = written("register_manifestation", alice, {
        "@type": "MusicRecording", "name": "Uman", "recordingOf": work["id"],
        "byArtist": [party["id"]], "isrcCode": "GB-AYE-69-00531"})
    assert reader.lookup_isrc("GBAYE6900531")["records"][0]["id"] == track["id"]
    copyright, reader = written("register_copyright", alice, {
        "rightsOf": track["id"], "territory": {"include": ["Worldwide"]},
        "validFrom": "2020-01-01"}, holders=[(alice.public_key, 60), (bob.public_key, 40)])
    assert holders_now(reader, copyright["id"]) == {alice.public_key: 60, bob.public_key: 40}
    right, reader = written("derive_right", [alice, bob], {
        "source": copyright["id"], **story.LICENCE}, licensees=[(carol.public_key, 100)])
    assert holders_now(reader, right["id"]) == {carol.public_key: 100}
    assignment, reader = written("assign", bob, copyright["id"], dave.public_key)
    assert holders_now(reader, copyright["id"]) == {alice.public_key: 60, dave.public_key: 40}
    split, reader = written("set_split", [alice, dave], track["id"],
                            [(alice.public_key, 6000), (dave.public_key, 4000)])
    assert reader.splits_of(track["id"])["in_force"] == split["id"]
    for tx, operation in [(party, "PARTY"), (work, "WORK"), (track, "MANIFESTATION"),
                          (copyright, "COPYRIGHT"), (right, "RIGHT"),
                          (assignment, "RIGHTS_ASSIGNMENT"), (split, "SPLIT")]:
        assert reader.get_transaction(tx["id"]) == tx and tx["operation"] == operation


@pytest.fixture(scope="module")
def released(clients):
    """A recording (with an ISRC) released by an artist, its Copyright, a streaming
    licence held by the platform and a split (story.release)."""
    artist, platform = generate_key_pair(), generate_key_pair()
    release = story.release(clients, artist, platform, "Nubya Garcia", "Source",
                            [(artist.public_key, 10000)], isrcCode="GBAYE2600001")
    return {"artist": artist, "platform": platform, **release}


def test_a_licence_chain_three_levels_deep_derived_and_assigned_through_different_nodes(
        clients, released):
    platform, licence = released["platform"], released["licence"]
    copyright = released["copyright"]
    shop, radio, fan, erin = (generate_key_pair() for _ in range(4))
    terms = {"usageType": ["on_demand_stream"], "exclusive": False, "license": LICENSE}
    # Copyright → licence (the platform's, from story.release) → sub-licence → sub-sub-licence.
    sub = committed(clients, clients[1].derive_right(platform, {
        "source": licence["id"], "territory": {"include": ["GB", "IE"]}, "validFrom": "2021-01-01",
        **terms}, licensees=[(shop.public_key, 100)]))
    assert holders_now(clients[2], sub["id"]) == {shop.public_key: 100}
    deepest = committed(clients, clients[2].derive_right(shop, {
        "source": sub["id"], "territory": {"include": ["GB"]}, "validFrom": "2022-01-01",
        "validThrough": "2030-12-31", **terms}, licensees=[(radio.public_key, 100)]))
    assert holders_now(clients[3], deepest["id"]) == {radio.public_key: 100}
    tree = clients[0].rights_of(copyright["id"], whole_tree=True)["rights"]
    depth = {entry["id"]: entry["depth"] for entry in tree}
    assert [depth[tx["id"]] for tx in (licence, sub, deepest)] == [1, 2, 3]

    part = committed(clients, clients[3].assign(radio, deepest["id"], fan.public_key, shares=40))
    assert holders_now(clients[0], deepest["id"]) == {radio.public_key: 60, fan.public_key: 40}
    whole = committed(clients, clients[0].assign(fan, deepest["id"], erin.public_key))
    assert holders_now(clients[1], deepest["id"]) == {radio.public_key: 60, erin.public_key: 40}
    assert [step["transaction_id"] for step in clients[2].history(deepest["id"])["steps"]] == [
        deepest["id"], part["id"], whole["id"]]
    # The chain above it is untouched.
    assert holders_now(clients[2], sub["id"]) == {shop.public_key: 100}
    assert holders_now(clients[3], copyright["id"]) == {released["artist"].public_key: 100}


def party_and_work(client, released):
    artist = generate_key_pair()
    band = client.register_party(artist, {"@type": "MusicGroup", "name": "Maisha"}, mode="sync")
    work = client.register_work(artist, {"@type": "MusicComposition", "name": "Osiris",
                                         "composer": [band["id"]]}, mode="sync")
    return band, work


def right_and_sub_right(client, released):
    label, shop = generate_key_pair(), generate_key_pair()
    right = client.derive_right(released["artist"], {
        "source": released["copyright"]["id"], **story.LICENCE},
        licensees=[(label.public_key, 100)], mode="sync")
    sub = client.derive_right(label, {"source": right["id"], **story.LICENCE},
                              licensees=[(shop.public_key, 100)], mode="sync")
    return right, sub


def test_two_parties_claiming_one_new_iswc_at_once_one_commits_the_other_is_told_why(clients):
    """Each claim passes CheckTx on its own node; the loser is dropped when the winner commits.
    Its sender hears IDENTIFIER_TAKEN then, not a timeout."""
    bands = [(key, committed(clients, clients[number].register_party(
        key, {"@type": "MusicGroup", "name": f"Claimant {number}"})))
        for number, key in enumerate((generate_key_pair(), generate_key_pair()))]
    digits = f"{time.time_ns() % 10 ** 9:09d}"
    iswc = f"T{digits}{iswc_check_digit(digits)}"
    answers = at_once([(clients[number + 1].register_work, key, {
        "@type": "MusicComposition", "name": "Contested", "composer": [band["id"]],
        "iswcCode": iswc}) for number, (key, band) in enumerate(bands)])
    refusals = [answer for answer in answers if isinstance(answer, TransactionRefused)]
    works = [answer for answer in answers if isinstance(answer, dict)]
    assert len(works) == 1 and len(refusals) == 1
    assert (refusals[0].status, refusals[0].code, refusals[0].field) == (
        400, "IDENTIFIER_TAKEN", "asset.data.iswcCode")
    committed(clients, works[0])
    assert clients[0].lookup_iswc(iswc)["records"][0]["id"] == works[0]["id"]


@pytest.mark.parametrize("post_pair", [party_and_work, right_and_sub_right])
def test_a_dependent_pair_posted_back_to_back_commits_in_one_block(testnet, clients, released,
                                                                    post_pair):
    """The second names the first, still in the mempool: the node's HTTP pre-check lets
    CheckTx decide, and CheckTx sees what it accepted before (as in test_network.py)."""
    same_block = 0
    for attempt in range(3):
        client = clients[attempt % 4]
        # An idle chain proposes a block for the first transaction at once; while the
        # warm-up's block is agreed, the pair waits in the mempool for the next one.
        client.register_party(generate_key_pair(), {"@type": "Person", "name": "Warm-up"},
                              mode="async")
        time.sleep(0.1)
        first, second = post_pair(client, released)
        wait_everywhere(clients, second["id"])
        assert clients[(attempt + 1) % 4].get_transaction(first["id"]) == first
        same_block += block_of(testnet, first["id"]) == block_of(testnet, second["id"])
    assert same_block >= 1


@pytest.fixture(scope="module")
def catalogue(clients, released):
    """What the refusals are judged against, on top of the release: a licence the artist
    gives a label (worldwide but the US, streams and downloads, until 2099, 1,000 uses), an
    exclusive UK streaming sub-licence of it, a sub-licence not in force until 2090, both
    held by a shop, and a second recording that no Copyright covers."""
    artist, label, shop = released["artist"], generate_key_pair(), generate_key_pair()
    track = released["track"]
    licence = committed(clients, clients[0].derive_right(artist, {
        "source": released["copyright"]["id"], "usageType": ["on_demand_stream", "download"],
        "territory": {"include": ["Worldwide"], "exclude": ["US"]}, "validFrom": "2020-01-01",
        "validThrough": "2099-12-31", "exclusive": False, "numberOfUses": 1000,
        "license": LICENSE}, licensees=[(label.public_key, 100)]))
    exclusive = clients[1].derive_right(label, sub_licence(
        licence, territory={"include": ["GB"]}, usageType=["on_demand_stream"],
        validThrough="2030-12-31", numberOfUses=10, exclusive=True),
        licensees=[(shop.public_key, 100)], mode="sync")
    future = clients[2].derive_right(label, sub_licence(
        licence, territory={"include": ["FR"]}, validFrom="2090-01-01",
        validThrough="2099-12-31", numberOfUses=5), licensees=[(shop.public_key, 100)], mode="sync")
    bare_track = clients[3].register_manifestation(artist, {
        "@type": "MusicRecording", "name": "Source (live)", "byArtist": [band_of(track)],
        "recordingOf": work_of(track["asset"]["data"])}, mode="sync")
    for tx in (exclusive, future, bare_track):
        wait_everywhere(clients, tx["id"])
    return {**released, "label": label, "shop": shop, "licence": licence, "future": future,
            "bare_track": bare_track, "band": clients[1].get_transaction(band_of(track))}


def band_of(track):
    return track["asset"]["data"]["byArtist"][0]


def sub_licence(source, **terms):
    """Terms well inside `source` (the catalogue's licence) unless `terms` say otherwise."""
    return {"source": source["id"], "usageType": ["download"], "territory": {"include": ["DE"]},
            "validFrom": "2026-01-01", "validThrough": "2026-12-31", "exclusive": False,
            "numberOfUses": 1, "license": LICENSE, **terms}


def signed(tx, *keypairs):
    return tx.sign([keypair.private_key for keypair in keypairs]).to_dict()


def record(cls, keypair, data, amount=1):
    """Signed as a careless client would: the context added, nothing normalised."""
    return signed(cls.create([keypair.public_key], [([keypair.public_key], amount)],
                             asset={"@context": COALAIP_CONTEXT, **data}), keypair)


def a_person(**data):
    return record(Party, generate_key_pair(), {"@type": "Person", **data})


def a_work(c, **data):
    return record(Work, c["artist"], {"@type": "MusicComposition", "name": "Pace",
                                      "composer": [band_of(c["track"])], **data})


def a_recording(c, **data):
    return record(Manifestation, c["artist"], {
        "@type": "MusicRecording", "name": "Pace", "byArtist": [band_of(c["track"])],
        "recordingOf": work_of(c["track"]["asset"]["data"]), **data})


def a_copyright(c, signer="artist", holders=None, **terms):
    data = {"rightsOf": c["track"]["id"], "territory": {"include": ["GB"]},
            "validFrom": "2030-01-01", **terms}
    key = c[signer]
    return signed(Copyright.build([key.public_key], data, holders=holders), key)


def a_right(c, signer="label", source="licence", **terms):
    key = c[signer]
    return signed(Right.build([key.public_key], sub_licence(c[source], **terms),
                              holders=[(generate_key_pair().public_key, 100)]), key)


def a_split(c, signer="artist", payees=None):
    key = c[signer]
    return signed(Split.build([key.public_key], {
        "subject": c["track"]["id"], "payees": payees or [(key.public_key, 10000)]}), key)


def payees_out_of_order(c):
    first, second = sorted(generate_key_pair().public_key for _ in range(2))
    return record(Split, c["artist"], {
        "@type": "RoyaltySplit", "subject": c["track"]["id"],
        "payees": [{"publicKey": second, "shareBp": 5000}, {"publicKey": first, "shareBp": 5000}]})


def assignment_of_a_party(c):
    band = Transaction.from_dict(c["band"])
    tx = RightsAssignment.build(band.to_inputs(), [([generate_key_pair().public_key], 1)],
                                band.id, ACTION)
    return signed(tx, c["artist"])


def assignment_not_in_force(c):
    future = Transaction.from_dict(c["future"])
    return signed(RightsAssignment.assign(future, c["shop"].public_key,
                                          generate_key_pair().public_key), c["shop"])


def plain_transfer_of_the_copyright(c):
    held = Transaction.from_dict(c["copyright"])
    return signed(Transaction.transfer(held.to_inputs(), [([generate_key_pair().public_key], 100)],
                                       asset_id=held.id), c["artist"])


def coalaip_work_as_a_plain_create(c):
    """A Work as pycoalaip builds one, under a plain CREATE: the registry would never read
    it, nor check its ISWC against the registered Works'."""
    key = generate_key_pair()
    return signed(Transaction.create([key.public_key], [([key.public_key], 1)], asset={
        "@context": ["https://coalaip.org/context/v1", "http://schema.org/"],
        "@type": "AbstractWork", "@id": "", "name": c["track"]["asset"]["data"]["name"],
        "iswcCode": "T0345246801"}), key)


def forged_signature(c):
    """A party whose fulfillment signs another transaction, its id recomputed to match."""
    key = generate_key_pair()
    tx = record(Party, key, {"@type": "Person", "name": "Mallory"})
    other = record(Party, key, {"@type": "Person", "name": "Trent"})
    tx["inputs"][0]["fulfillment"] = other["inputs"][0]["fulfillment"]
    tx["id"] = None
    tx["id"] = Transaction._to_hash(Transaction._to_str(tx))
    return tx


# (code, field, the refused transaction); field None for the host's refusals, which name none.
REFUSALS = [
    ("SCHEMA_VIOLATION", "asset.data", lambda c: a_person(name="x", nickname="y")),
    ("RECORD_SHAPE", "outputs",
     lambda c: record(Party, generate_key_pair(), {"@type": "MusicGroup", "name": "x"}, amount=2)),
    ("PARTY_NAME_MISSING", "asset.data", lambda c: a_person(givenName="Ada")),
    ("INVALID_ISNI", "asset.data.isni", lambda c: a_person(name="x", isni="0000000121032684")),
    ("INVALID_IPI_NAME_NUMBER", "asset.data.ipiNameNumber",
     lambda c: a_person(name="x", ipiNameNumber="00014107339")),
    ("INVALID_ISWC", "asset.data.iswcCode", lambda c: a_work(c, iswcCode="T0345246802")),
    ("INVALID_ISRC", "asset.data.isrcCode", lambda c: a_recording(c, isrcCode="G1AYE6900531")),
    ("IDENTIFIER_NOT_CANONICAL", "asset.data.iswcCode",
     lambda c: a_work(c, iswcCode="T-123.456.789-4")),
    ("IDENTIFIER_TAKEN", "asset.data.isrcCode", lambda c: a_recording(c, isrcCode="GBAYE2600001")),
    # Its link may be in a mempool: the pre-check leaves the answer to CheckTx.
    ("LINK_NOT_FOUND", "asset.data.composer[0]", lambda c: a_work(c, composer=["e" * 64])),
    ("LINK_WRONG_KIND", "asset.data.composer[0]", lambda c: a_work(c, composer=[c["track"]["id"]])),
    ("MANIFESTATION_WORK_LINK", "asset.data",
     lambda c: a_recording(c, manifestationOf=work_of(c["track"]["asset"]["data"]))),
    ("MANIFESTATION_ISRC_NOT_RECORDING", "asset.data.isrcCode", lambda c: record(
        Manifestation, c["artist"], {"@type": "MusicAlbum", "name": "Source", "byArtist": [
            band_of(c["track"])], "manifestationOf": work_of(c["track"]["asset"]["data"]),
            "isrcCode": "GBAYE2600002"})),
    ("COPYRIGHT_NOT_REGISTRANT", "inputs[0].owners_before", lambda c: a_copyright(c, "label")),
    ("COPYRIGHT_CONFLICT", "asset.data.territory", lambda c: a_copyright(c)),
    ("SHARES_INVALID", "outputs", lambda c: a_copyright(
        c, holders=[(c["artist"].public_key, 60), (c["label"].public_key, 30)])),
    ("INVALID_DATE", "asset.data.validFrom", lambda c: a_copyright(c, validFrom="2030-02-30")),
    ("INVALID_PERIOD", "asset.data.validThrough",
     lambda c: a_copyright(c, validThrough="2029-12-31")),
    ("EMPTY_TERRITORY", "asset.data.territory",
     lambda c: a_copyright(c, territory={"include": ["GB"], "exclude": ["GB"]})),
    ("RIGHT_NOT_HOLDER", "inputs[0].owners_before", lambda c: a_right(c, "artist")),
    ("RIGHT_SOURCE_NOT_IN_FORCE", "asset.data.source", lambda c: a_right(
        c, "shop", "future", territory={"include": ["FR"]}, validFrom="2090-01-01",
        validThrough="2090-12-31")),
    ("RIGHT_EXCEEDS_TERRITORY", "asset.data.territory",
     lambda c: a_right(c, territory={"include": ["US"]})),
    ("RIGHT_EXCEEDS_PERIOD", "asset.data.validThrough",
     lambda c: a_right(c, validThrough="2100-01-01")),
    ("RIGHT_EXCEEDS_PERIOD", "asset.data.validFrom", lambda c: a_right(c, validFrom="2019-12-31")),
    ("RIGHT_EXCEEDS_USAGE", "asset.data.usageType", lambda c: a_right(c, usageType=["sync"])),
    # 1,000 uses less the 10 and 5 given to the two sub-licences leaves 985.
    ("RIGHT_EXCEEDS_USES", "asset.data.numberOfUses", lambda c: a_right(c, numberOfUses=986)),
    ("RIGHT_EXCLUSIVITY_CONFLICT", "asset.data.exclusive",
     lambda c: a_right(c, territory={"include": ["GB"]}, usageType=["on_demand_stream"])),
    ("ASSIGNMENT_NOT_A_RIGHT", "asset.id", assignment_of_a_party),
    ("ASSIGNMENT_NOT_IN_FORCE", "asset.id", assignment_not_in_force),
    ("ASSET_NEEDS_OWN_OPERATION", "operation", plain_transfer_of_the_copyright),
    ("RECORD_NEEDS_OWN_OPERATION", "asset.data.@type", coalaip_work_as_a_plain_create),
    ("SPLIT_PAYEES_INVALID", "asset.data.payees[1].publicKey", payees_out_of_order),
    ("SPLIT_TOTAL_INVALID", "asset.data.payees",
     lambda c: a_split(c, payees=[(c["artist"].public_key, 9999)])),
    ("SPLIT_NO_COPYRIGHT", "asset.data.subject",
     lambda c: a_split({**c, "track": c["bare_track"]})),
    ("SPLIT_NOT_HOLDERS", "inputs[0].owners_before", lambda c: a_split(c, "label")),
    ("HOST_DUPLICATE_TRANSACTION", None, lambda c: c["licence"]),
    ("HOST_INVALID_SIGNATURE", None, forged_signature),
]


@pytest.mark.parametrize("number, code, field, build",
                         [(number, *row) for number, row in enumerate(REFUSALS)],
                         ids=[row[0] for row in REFUSALS])
def test_every_invalid_case_is_refused_by_the_network_with_its_code(clients, catalogue,
                                                                    number, code, field, build):
    tx = build(catalogue)
    with pytest.raises(TransactionRefused) as refused:
        clients[number % 4].submit(tx, mode="sync")
    assert (refused.value.status, refused.value.code, refused.value.field) == (400, code, field)


def test_after_every_refusal_each_node_is_up_and_all_agree(testnet, clients):
    for client in clients:
        assert client.network()["parameters"]
    wait_until(lambda: all_agree(testnet), what="every node at the same height and app hash")
