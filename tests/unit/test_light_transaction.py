"""The client library's transaction core and builders against BigchainDB Server's own code:
the same inputs and keys give the same bytes, id and signatures, and the server accepts
what the client builds."""
import base58
import pytest
from bigchaindb.common.transaction import Transaction as HostTransaction
from bigchaindb.common.utils import serialize as host_serialize
from hypothesis import given, settings, strategies as st
from nacl.signing import SigningKey

from bigchaindb_resonate import operations, registry
from bigchaindb_resonate.conditions import KeyPair, generate_key_pair
from bigchaindb_resonate.operations import (
    channel_close, channel_open, channel_refund, channel_settle, channel_settle_batch, channel_topup,
    copyright, credit, manifestation, parameter_election, party, payout_cancel, payout_request,
    payout_settle, play, right, rights_assignment, split, work,
)
from bigchaindb_resonate.vouchers import make_voucher
from bigchaindb_resonate.transaction import MAX_AMOUNT, Transaction, serialize


def fixed_keypair(seed):
    signing_key = SigningKey(bytes([seed]) * 32)
    return KeyPair(base58.b58encode(bytes(signing_key)).decode(),
                   base58.b58encode(bytes(signing_key.verify_key)).decode())


KEYS = [fixed_keypair(seed) for seed in range(1, 6)]
ALICE, BOB, CAROL, DAVE, ERIN = KEYS
PRIVATE = [key.private_key for key in KEYS]


# -- the core: CREATE and TRANSFER of any shape BigchainDB 2.0 builds

keys = st.sampled_from([key.public_key for key in KEYS])
owners = st.lists(keys, min_size=1, max_size=3)
# Amounts that still fit one output once a transfer gathers them.
recipients = st.lists(st.tuples(owners, st.integers(1, MAX_AMOUNT // 3)), min_size=1, max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 63 - 1) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
documents = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


@settings(max_examples=60, deadline=None)
@given(signers=owners, holders=recipients, asset=documents, metadata=st.none() | documents,
       new_holders=st.lists(owners, min_size=1, max_size=2))
def test_create_and_transfer_have_the_servers_bytes_id_and_signatures(signers, holders, asset, metadata,
                                                                      new_holders):
    light = Transaction.create("CREATE", signers, holders, asset, metadata)
    host = HostTransaction.create(signers, holders, metadata=metadata, asset=asset)
    assert serialize(light.to_dict()) == host_serialize(host.to_dict())  # unsigned
    light.sign(PRIVATE), host.sign(PRIVATE)
    assert serialize(light.to_dict()) == host_serialize(host.to_dict())
    assert light.id == host.id
    HostTransaction.validate_id(light.to_dict())
    assert HostTransaction.from_dict(light.to_dict()).inputs_valid()

    # Spend every output: one input per output, whatever its condition.
    total = sum(amount for _, amount in holders)
    moved = [(keys_, 1) for keys_ in new_holders[1:]]
    moved.insert(0, (new_holders[0], total - len(moved)))
    if moved[0][1] < 1:
        moved = [(new_holders[0], total)]
    light_move = Transaction.transfer("TRANSFER", light.to_inputs(), moved, light.id, metadata)
    host_move = HostTransaction.transfer(host.to_inputs(), moved, host.id, metadata)
    light_move.sign(PRIVATE), host_move.sign(PRIVATE)
    assert serialize(light_move.to_dict()) == host_serialize(host_move.to_dict())
    assert HostTransaction.from_dict(light_move.to_dict()).inputs_valid(host.outputs)


def test_a_nested_threshold_output_has_the_servers_condition():
    holders = [([ALICE.public_key, [BOB.public_key, CAROL.public_key]], 3)]
    light = Transaction.create("CREATE", [DAVE.public_key], holders, {"n": 1}).sign(PRIVATE)
    host = HostTransaction.create([DAVE.public_key], holders, asset={"n": 1}).sign(PRIVATE)
    assert serialize(light.to_dict()) == host_serialize(host.to_dict())


def test_a_transaction_read_back_from_a_node_spends_like_the_one_built():
    built = Transaction.create("CREATE", [ALICE.public_key], [([ALICE.public_key, BOB.public_key], 2)],
                               {"n": 2}).sign(PRIVATE)
    read_back = Transaction.from_dict(built.to_dict())
    assert read_back.to_dict() == built.to_dict()
    spend = Transaction.transfer("TRANSFER", read_back.to_inputs(), [([CAROL.public_key], 2)],
                                 read_back.id).sign(PRIVATE)
    assert HostTransaction.from_dict(spend.to_dict()).inputs_valid(
        HostTransaction.from_dict(built.to_dict()).outputs)


@pytest.mark.parametrize("signer", [CAROL, ERIN])
def test_one_side_alone_signs_a_channel_output_and_the_server_accepts_it(signer):
    built = channel_close.close(CHANNEL, "%064x" % 8).sign([signer.private_key])
    host = HostTransaction.from_dict(built.to_dict())
    output = channel_open.open_channel([(signed_purchase(), 0)], CAROL.public_key, ERIN.public_key,
                                       3000).outputs[0]
    assert host.inputs_valid([HostTransaction.from_dict(
        {**built.to_dict(), "outputs": [output.to_dict()]}).outputs[0]])


def test_nobody_else_signs_a_channel_output():
    with pytest.raises(ValueError):
        channel_close.close(CHANNEL, "%064x" % 8).sign([ALICE.private_key])


def test_signing_without_a_needed_private_key_says_which():
    tx = Transaction.create("CREATE", [ALICE.public_key, BOB.public_key], [([ALICE.public_key], 1)])
    with pytest.raises(ValueError, match=BOB.public_key):
        tx.sign([ALICE.private_key])


@pytest.mark.parametrize("amount", [0, MAX_AMOUNT + 1])
def test_amounts_outside_what_an_output_holds_are_refused_when_built(amount):
    with pytest.raises(ValueError):
        Transaction.create("CREATE", [ALICE.public_key], [([ALICE.public_key], amount)])


def test_new_key_pairs_sign_what_the_server_verifies():
    key = generate_key_pair()
    tx = Transaction.create("CREATE", [key.public_key], [([key.public_key], 1)]).sign([key.private_key])
    assert HostTransaction.from_dict(tx.to_dict()).inputs_valid()


# -- every type's builder: the client's (operations/) against the server's (types/)

PARTY_ID, WORK_ID, TRACK_ID, COPYRIGHT_ID, RIGHT_ID, SPLIT_ID = ("%064x" % n for n in range(1, 7))
RECORD = {"@type": "MusicComposition", "name": "Osiris", "iswcCode": "T-034.524.680-1",
          "composer": [PARTY_ID]}
TERMS = {"territory": {"include": ["GB"]}, "validFrom": "2020-01-01"}
LICENCE = {"usageType": ["on_demand_stream"], "territory": {"include": ["GB"]},
           "validFrom": "2020-01-01", "exclusive": False,
           "license": {"uri": "https://resonate.coop/l.pdf", "hash": "ab" * 32}}
PARAMETERS = {"platform_key": ERIN.public_key, "coop_share_bp": 3000}
CHANNEL_ID = "%064x" % 7
# A channel read (what the builders of later channel transactions take): Carol's channel
# to the platform (Erin), with nothing settled yet.
CHANNEL = {"channel": CHANNEL_ID, "listener": CAROL.public_key, "receiver": ERIN.public_key,
           "deposit": 3000, "settled": 0, "sequence": 0, "latest_transaction": CHANNEL_ID}
VOUCHERS = [make_voucher(CAROL.private_key, channel=CHANNEL_ID, listener=CAROL.public_key,
                         sequence=number + 1, track=TRACK_ID, play=number, price=2 ** (number + 1),
                         total=2 ** (number + 2) - 2, territory="GB", right=RIGHT_ID)
            for number in range(3)]


def signed_copyright():
    return Transaction.from_dict(copyright.build([ALICE.public_key], {"rightsOf": TRACK_ID, **TERMS},
                                                 holders=[(BOB.public_key, 100)]).sign(PRIVATE).to_dict())


def signed_purchase():
    token = credit.build([ALICE.public_key], supply=10 ** 6).sign(PRIVATE)
    return credit.sell([(token.to_dict(), 0)], ALICE.public_key, CAROL.public_key, 5000, token.id).sign(PRIVATE)


def signed_payout_request():
    purchase = signed_purchase()
    return payout_request.request([(purchase.to_dict(), 0)], CAROL.public_key, ALICE.public_key,
                                  2000, purchase.asset_id).sign([CAROL.private_key])


# Each builds one transaction with `side`: the client's module or the server's class.
BUILDS = {
    "PARTY": lambda side: side.build([ALICE.public_key], {"@type": "Person", "name": "Ada",
                                                          "isni": "ISNI 0000 0001 2103 2683"}),
    "WORK": lambda side: side.build([ALICE.public_key, BOB.public_key], RECORD),
    "MANIFESTATION": lambda side: side.build([ALICE.public_key], {
        "@type": "MusicRecording", "name": "Osiris", "recordingOf": WORK_ID,
        "isrcCode": "GB-AYE-69-00531", "byArtist": [PARTY_ID]}),
    "COPYRIGHT": lambda side: side.build([ALICE.public_key], {"rightsOf": TRACK_ID, **TERMS},
                                         holders=[(BOB.public_key, 60), (CAROL.public_key, 40)]),
    "RIGHT": lambda side: side.build([BOB.public_key], {"source": COPYRIGHT_ID, **LICENCE},
                                     holders=[(ERIN.public_key, 100)]),
    "RIGHTS_ASSIGNMENT": lambda side: side.assign(signed_copyright(), BOB.public_key,
                                                  CAROL.public_key, 30, {"transferContract": LICENCE["license"]}),
    "CREDIT": lambda side: side.build([ALICE.public_key]),
    "SPLIT": lambda side: side.build([BOB.public_key], {
        "subject": TRACK_ID, "payees": [(CAROL.public_key, 2500), (BOB.public_key, 7500)]}),
    "PLAY": lambda side: side.pay([(signed_purchase(), 0)], CAROL.public_key, {
        "track": TRACK_ID, "territory": "GB", "right": RIGHT_ID, "playNumber": 3,
        "split": SPLIT_ID}, [(BOB.public_key, 7500), (CAROL.public_key, 2500)], PARAMETERS),
    "PARAMETER_ELECTION": lambda side: side.build(
        ALICE.public_key, [(BOB.public_key, 10), (ALICE.public_key, 10)], "coop_share_bp", 1500, 40,
        seed="8c5e3b0e-2f7e-4d0c-9d8f-0d6e8a1b2c3d"),
    "PAYOUT_REQUEST": lambda side: side.request([(signed_purchase(), 0)], CAROL.public_key,
                                                ALICE.public_key, 2000, signed_purchase().asset_id),
    "PAYOUT_SETTLE": lambda side: side.settle(signed_payout_request(), "SEPA-2026-0001",
                                              {"payout_rate": 800, "payout_currency": "EUR"}),
    "PAYOUT_CANCEL": lambda side: side.cancel(signed_payout_request()),
    "CHANNEL_OPEN": lambda side: side.open_channel([(signed_purchase(), 0)], CAROL.public_key,
                                                   ERIN.public_key, 3000),
    "CHANNEL_TOPUP": lambda side: side.top_up(CHANNEL, [(signed_purchase(), 0)], 1000),
    "CHANNEL_SETTLE": lambda side: side.settle(CHANNEL, VOUCHERS, {TRACK_ID: (SPLIT_ID, [
        (BOB.public_key, 7500), (CAROL.public_key, 2500)])}, PARAMETERS, "%064x" % 8),
    "CHANNEL_CLOSE": lambda side: side.close(CHANNEL, "%064x" % 8),
    "CHANNEL_REFUND": lambda side: side.refund({**CHANNEL, "closing": "%064x" % 9}, "%064x" % 8),
    "CHANNEL_SETTLE_BATCH": lambda side: side.settle_batch([(CHANNEL, VOUCHERS)], {TRACK_ID: (SPLIT_ID, [
        (BOB.public_key, 7500), (CAROL.public_key, 2500)])}, PARAMETERS, "%064x" % 8),
}
CLIENT_MODULES = {module.OPERATION: module for module in (
    party, work, manifestation, copyright, right, rights_assignment, credit, split, play,
    parameter_election, payout_request, payout_settle, payout_cancel,
    channel_open, channel_topup, channel_settle, channel_close, channel_refund, channel_settle_batch)}


def test_every_type_has_a_client_builder_case():
    assert set(BUILDS) == set(CLIENT_MODULES) == set(registry.OPERATIONS)


@pytest.mark.parametrize("operation", registry.OPERATIONS)
def test_the_type_takes_its_name_and_schema_from_its_client_part(operation):
    cls, module = registry.type_for(operation), CLIENT_MODULES[operation]
    assert (cls.OPERATION, cls.SCHEMA) == (module.OPERATION, module.SCHEMA)
    assert module.__name__ == f"{operations.__name__}.{cls.__module__.rsplit('.', 1)[1]}"


@pytest.mark.parametrize("operation", registry.OPERATIONS)
def test_the_client_builds_and_signs_each_type_byte_for_byte_as_the_server(operation):
    by_client = BUILDS[operation](CLIENT_MODULES[operation]).sign(PRIVATE).to_dict()
    by_server = BUILDS[operation](registry.type_for(operation)).sign(PRIVATE).to_dict()
    assert serialize(by_client) == host_serialize(by_server)
    assert by_client["operation"] == operation


@pytest.mark.parametrize("operation", registry.OPERATIONS)
def test_the_server_parses_what_the_client_builds_and_its_signatures_hold(operation):
    tx = BUILDS[operation](CLIENT_MODULES[operation]).sign(PRIVATE).to_dict()
    parsed = HostTransaction.from_dict(tx, skip_schema_validation=False)  # id, schema, stateless
    assert type(parsed) is registry.type_for(operation)
    if "data" in tx["asset"]:
        assert parsed.inputs_valid()


def test_a_credit_purchase_is_the_servers_plain_transfer():
    purchase = signed_purchase()
    token = HostTransaction.from_dict(credit.build([ALICE.public_key], supply=10 ** 6).sign(PRIVATE).to_dict())
    host = HostTransaction.transfer(token.to_inputs([0]), [([CAROL.public_key], 5000),
                                                          ([ALICE.public_key], 10 ** 6 - 5000)],
                                    asset_id=token.id).sign(PRIVATE)
    assert serialize(purchase.to_dict()) == host_serialize(host.to_dict())


def test_a_paid_play_with_no_split_in_force_names_none():
    tx = play.pay([(signed_purchase(), 0)], CAROL.public_key, {
        "track": TRACK_ID, "territory": "GB", "right": RIGHT_ID, "playNumber": 0, "split": None},
        [], PARAMETERS)
    assert "split" not in tx.metadata  # the node then answers PLAY_NO_SPLIT, not a schema error


def test_on_a_node_every_refusal_is_the_hosts_validation_error():
    """BigchainDB turns only its ValidationError into a refusal; without the server the same
    classes sit on a plain exception (test_client.py)."""
    from bigchaindb.common import exceptions as host_exceptions

    from bigchaindb_resonate.errors import ResonateValidationError, all_error_classes, error_body

    assert issubclass(ResonateValidationError, host_exceptions.ValidationError)
    assert all(issubclass(cls, host_exceptions.ValidationError) for cls in all_error_classes())
    assert error_body(host_exceptions.DoubleSpend("spent"))["code"] == "HOST_DOUBLE_SPEND"
    assert error_body(host_exceptions.ValidationError("other"))["code"] == "HOST_VALIDATION_ERROR"
