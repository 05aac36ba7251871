"""Rule tables for CHANNEL_SETTLE_BATCH over the in-memory market of test_channels.py, with
three listeners (Carol, Dave, Erin) each holding a channel towards Bob, the platform, on a
chain under rule version 3 (batched settlements), the first that accepts a batch."""
import copy
import json

import pytest
from bigchaindb.models import Transaction

from bigchaindb_resonate import admission
from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.errors import SchemaViolation, TransactionTooLarge
from bigchaindb_resonate.operations import channel_close, channel_settle_batch
from bigchaindb_resonate.operations.channel_settle_batch import whole_vouchers
from bigchaindb_resonate.rule_versions import BATCHED_SETTLEMENTS
from bigchaindb_resonate.transaction import Transaction as LightTransaction
from bigchaindb_resonate.types.channel_settle import (
    ChannelBadSignature, ChannelDoubleSettlement, ChannelExpired, ChannelOverdrawn,
    ChannelPlayNumberMismatch, ChannelSequenceGap, ChannelStaleVoucher, ChannelWrongCommitment,
    ChannelWrongSplits, ChannelWrongTotal,
)
from bigchaindb_resonate.types.channel_settle_batch import (
    ChannelBatchNotInForce, ChannelBatchRepeatedChannel, ChannelBatchUnknownTerms,
)
from bigchaindb_resonate.types.channels import (
    ChannelClosed, ChannelOutputLocked, ChannelStaleState, ChannelWrongInput, ChannelWrongOutputs,
    ChannelWrongState, channel_part, state_of,
)
from bigchaindb_resonate.types.play import PlayNumberMismatch, PlayUnknownTerritory, count_earlier_plays
from bigchaindb_resonate.types.split import payees_of
from bigchaindb_resonate.validators.royalties import price
from bigchaindb_resonate.vouchers import make_voucher, merkle_root
from .test_channels import (
    CHANNEL_PARAMETERS, DAY, DELAY, Chain, check, http_get, opened, signed, totals_and_lines,
)
from .test_copyright import ALICE, BOB, CAROL
from .test_play import CREDIT, LICENCE, MARKET, PURCHASE, SPLIT, TRACK, a_play_under

DAVE, ERIN = generate_key_pair(), generate_key_pair()
KEYS = {key.public_key: key for key in (CAROL, DAVE, ERIN)}
# Alice (the treasury) sells Dave and Erin credits too.
MORE = Transaction.from_dict(LightTransaction.transfer(
    "TRANSFER", LightTransaction.from_dict(PURCHASE.to_dict()).to_inputs([1]),
    [([DAVE.public_key], 5000), ([ERIN.public_key], 5000), ([ALICE.public_key], 10 ** 6 - 15000)],
    CREDIT.id).sign([ALICE.private_key]).to_dict())
SPLITS = {TRACK.id: (SPLIT.id, payees_of(SPLIT))}
# The parameters in force: what builders pay by (penny per play stays from version 2).
PARAMETERS = {**CHANNEL_PARAMETERS, "rules_version": BATCHED_SETTLEMENTS, "min_play_payout": 8}


@pytest.fixture
def chain():
    return Chain(PARAMETERS, MARKET + [MORE])


def channels(chain, deposit=2000):
    made = [opened(deposit), opened(deposit, credits=((MORE, 0),), listener=DAVE),
            opened(deposit, credits=((MORE, 1),), listener=ERIN)]
    chain.commit(*made)
    return made


def read(tx, channel):
    """What the channel read answers (reads._channel_answer), as builders take it."""
    return {**state_of(tx, channel), "latest_transaction": tx.id,
            "channel_output": {"transaction_id": tx.id, "output_index": channel_part(tx, channel)[0]}}


def vouchers(channel, count, first_play=0, first_sequence=1, settled=0, signer=None, **changes):
    """`count` consecutive vouchers of the track by the channel's listener."""
    listener = channel.metadata["listener"]
    made, total = [], settled
    for offset in range(count):
        play = first_play + offset
        total += price(play)
        fields = dict(channel=channel.id, listener=listener, sequence=first_sequence + offset,
                      track=TRACK.id, play=play, price=price(play), total=total, territory="GB",
                      right=LICENCE.id)
        made.append(make_voucher((signer or KEYS[listener]).private_key, **{**fields, **changes}))
    return made


def batch(settlements, signer=BOB, splits=SPLITS, alter=None, parameters=PARAMETERS):
    """A signed batch of (latest transaction, channel id, vouchers); `alter(tx)` changes the
    unsigned transaction first."""
    tx = channel_settle_batch.settle_batch([(read(latest, channel), made) for latest, channel, made in settlements],
                                           splits, parameters, CREDIT.id)
    if alter:
        alter(tx)
    return signed(tx, signer)


def test_a_batch_pays_every_payee_what_the_same_plays_pay_and_each_channel_moves_on(chain):
    carol, dave, erin = channels(chain)
    paid = batch([(carol, carol.id, vouchers(carol, 10)), (dave, dave.id, vouchers(dave, 3)),
                  (erin, erin.id, vouchers(erin, 1))])
    check(paid, chain)
    alone = settlement_after(carol, carol, vouchers(carol, 10))
    expected = {}
    for number in [*range(10), *range(3), 0]:
        for output in a_play_under(PARAMETERS, number).outputs[:-1] if price(number) else []:
            expected[output.public_keys[0]] = expected.get(output.public_keys[0], 0) + output.amount
    assert {output.public_keys[0]: output.amount for output in paid.outputs[3:]} == expected
    assert [output.amount for output in paid.outputs[:3]] == [2000 - 1022 + 1, 2000 - 14 + 1, 2000 - 2 + 1]
    assert [output.public_keys for output in paid.outputs[:3]] == [
        [listener.public_key, BOB.public_key] for listener in (CAROL, DAVE, ERIN)]
    assert paid.outputs[0].fulfillment.condition_uri == alone.outputs[0].fulfillment.condition_uri
    chain.commit(paid)
    view = chain.view()
    assert [count_earlier_plays(view, key.public_key, TRACK.id) for key in (CAROL, DAVE, ERIN)] == [10, 3, 1]
    # Each channel's next transaction spends the batch's output for it.
    check(settlement_after(paid, dave, vouchers(dave, 2, first_play=3, first_sequence=4, settled=14)), chain)
    check(signed(channel_close.close(read(paid, erin.id), CREDIT.id), ERIN), chain)
    chain.store.consensus_time = None
    status, body = http_get(chain.store, f"/channels/{dave.id}")
    assert status == 200 and (body["settled"], body["sequence"]) == (14, 3)
    assert body["channel_output"] == {"transaction_id": paid.id, "output_index": 1, "amount": 2000 - 14 + 1}
    assert http_get(chain.store, f"/listeners/{ERIN.public_key}/channel")[1]["channel"] == erin.id


@pytest.mark.parametrize("rules_version, is_valid", [(1, False), (2, False), (3, True), (4, True)])
def test_a_batch_is_valid_from_rule_version_3_on_and_a_settlement_under_every_version(
        rules_version, is_valid, monkeypatch):
    from bigchaindb_resonate import rule_versions
    from bigchaindb_resonate.rule_versions import RuleVersion

    # Version 4, for this test only: a later version keeps batches valid.
    monkeypatch.setitem(rule_versions.VERSIONS, 4, RuleVersion(4, "test", "nothing for batches"))
    parameters = {**PARAMETERS, "rules_version": rules_version}
    chain = Chain(parameters, MARKET + [MORE])
    carol, dave, _ = channels(chain)
    paid = batch([(carol, carol.id, vouchers(carol, 3)), (dave, dave.id, vouchers(dave, 1))],
                 parameters=parameters)
    if is_valid:
        check(paid, chain)
    else:
        with pytest.raises(ChannelBatchNotInForce) as refused:
            check(paid, chain)
        assert refused.value.code == "CHANNEL_BATCH_NOT_IN_FORCE" and refused.value.field == "operation"
    check(settlement_after(carol, carol, vouchers(carol, 3), parameters), chain)


def settlement_after(latest, channel, made, parameters=PARAMETERS):
    from bigchaindb_resonate.operations import channel_settle

    return signed(channel_settle.settle(read(latest, channel.id), made, SPLITS, parameters, CREDIT.id), BOB)


def test_whole_vouchers_are_what_the_listener_signed_and_the_root_is_theirs(chain):
    carol, dave, _ = channels(chain)
    made = {carol.id: vouchers(carol, 4), dave.id: vouchers(dave, 2)}
    paid = batch([(carol, carol.id, made[carol.id]), (dave, dave.id, made[dave.id])])
    for entry in paid.metadata["channels"]:
        assert whole_vouchers(paid.metadata, entry) == made[entry["channel"]]
        assert entry["root"] == merkle_root(made[entry["channel"]])
    assert len(paid.metadata["terms"]) == 1  # one track, licence and territory: one entry
    assert set(paid.metadata["channels"][0]["vouchers"][0]) == {"terms", "play", "signature"}


def test_a_batch_continues_a_channel_settled_before(chain):
    carol, dave, _ = channels(chain)
    first = settlement_after(carol, carol, vouchers(carol, 2))
    chain.commit(first)
    check(batch([(first, carol.id, vouchers(carol, 3, first_play=2, first_sequence=3, settled=6)),
                 (dave, dave.id, vouchers(dave, 1))]), chain)


def resigned(channel, made, index, **fields):
    body = {key: value for key, value in made[index].items() if key not in ("signature", "version")}
    made = list(made)
    made[index] = make_voucher(KEYS[body["listener"]].private_key, **{**body, **fields})
    return made


def more_to_the_coop(tokens):
    """Keep amounts balanced when the channel output holds `tokens` fewer."""
    def alter(tx):
        tx.outputs[-1].amount += tokens
    return alter


@pytest.mark.parametrize("build, error, alter", [
    # the first voucher does not continue the channel's state before
    (lambda c: vouchers(c, 2, first_sequence=2), ChannelSequenceGap, None),
    (lambda c: vouchers(c, 2, first_sequence=0), ChannelStaleVoucher, None),
    (lambda c: vouchers(c, 2, settled=4), ChannelWrongTotal, more_to_the_coop(4)),
    (lambda c: vouchers(c, 2, first_play=1), ChannelPlayNumberMismatch, None),
    (lambda c: vouchers(c, 2, signer=CAROL), ChannelBadSignature, None),  # Dave's channel, Carol's key
    # a field the batch leaves out, signed otherwise: the whole voucher's signature fails
    (lambda c: resigned(c, vouchers(c, 2), 1, price=2, total=4), ChannelWrongCommitment, None),
    (lambda c: resigned(c, vouchers(c, 2), 1, price=2, total=4), ChannelBadSignature, "root over whole"),
])
def test_per_channel_refusals_name_the_channel_and_voucher(chain, build, error, alter):
    carol, dave, _ = channels(chain)
    if alter == "root over whole":  # the root the node computes, so the signature decides
        alter = altered(lambda m: m["channels"][1].update(root=merkle_root(whole_vouchers(m, m["channels"][1]))))
    with pytest.raises(error) as refused:
        check(batch([(carol, carol.id, vouchers(carol, 1)), (dave, dave.id, build(dave))], alter=alter), chain)
    assert refused.value.field.startswith("metadata.channels[1].")


def test_overdrawn(chain):
    # As for a settlement, conservation stops a total above the channel output; the
    # anchor token itself is not for vouchers.
    carol, dave = opened(), opened(13, credits=((MORE, 0),), listener=DAVE)
    chain.commit(carol, dave)
    tx = channel_settle_batch.settle_batch([(read(carol, carol.id), vouchers(carol, 1)),
                                            ({**read(dave, dave.id), "deposit": 14}, vouchers(dave, 3))],
                                           SPLITS, PARAMETERS, CREDIT.id)
    del tx.outputs[1]  # Dave's channel output would hold 14 - 14 + 1: the anchor
    tx.metadata = copy.deepcopy(tx.metadata)
    tx.metadata["channels"][1]["deposit"] = 13
    with pytest.raises(ChannelOverdrawn) as refused:
        check(signed(tx, BOB), chain)
    assert refused.value.field == "metadata.channels[1].vouchers[2].total"


def altered(change):
    def alter(tx):
        tx.metadata = copy.deepcopy(tx.metadata)
        change(tx.metadata)
    return alter


@pytest.mark.parametrize("change, error", [
    (lambda m: m["channels"][1].update(root="ab" * 32), ChannelWrongCommitment),
    (lambda m: m["channels"][1].update(count=2), ChannelWrongCommitment),
    (lambda m: m["channels"][1].update(deposit=1999), ChannelWrongState),
    (lambda m: m.update(splits={}), ChannelWrongSplits),
    (lambda m: m["channels"][0].update(vouchers=[{**m["channels"][0]["vouchers"][0], "terms": 1}]),
     ChannelBatchUnknownTerms),
    (lambda m: m["channels"].append(m["channels"][0]), ChannelBatchRepeatedChannel),
    (lambda m: m["terms"][0].update(territory="XX"), PlayUnknownTerritory),
    (lambda m: m["channels"][0]["vouchers"][0].update(price=2), SchemaViolation),
])
def test_batch_metadata_refusals(chain, change, error):
    carol, dave, _ = channels(chain)
    with pytest.raises(error):
        check(batch([(carol, carol.id, vouchers(carol, 1)), (dave, dave.id, vouchers(dave, 1))],
                    alter=altered(change)), chain)


def test_inputs_and_outputs_must_be_exactly_the_channels_then_the_payouts(chain):
    carol, dave, _ = channels(chain)
    settlements = [(carol, carol.id, vouchers(carol, 2)), (dave, dave.id, vouchers(dave, 1))]

    def fewer_inputs(tx):
        tx.inputs = tx.inputs[:1]
        del tx.outputs[1]
        tx.outputs[0].amount -= sum(output.amount for output in tx.outputs) - carol.outputs[0].amount
    with pytest.raises(ChannelWrongInput):
        check(batch(settlements, alter=fewer_inputs), chain)

    def swapped(tx):
        tx.inputs.reverse()
    with pytest.raises(ChannelWrongInput) as refused:
        check(batch(settlements, alter=swapped), chain)
    assert refused.value.field == "inputs[0].fulfills"

    def moved_a_token(tx):
        tx.outputs[0].amount -= 1
        tx.outputs[-1].amount += 1
    with pytest.raises(ChannelWrongOutputs):
        check(batch(settlements, alter=moved_a_token), chain)


def test_same_block_and_repeats_are_refused_as_for_a_settlement(chain):
    carol, dave, _ = channels(chain)
    paid = batch([(carol, carol.id, vouchers(carol, 2)), (dave, dave.id, vouchers(dave, 1))])
    single = settlement_after(carol, carol, vouchers(carol, 3))
    check(paid, chain)
    with pytest.raises(ChannelStaleState) as refused:  # a settlement of Carol's channel after the batch
        check(single, chain, pending=[paid])
    with pytest.raises(ChannelStaleState) as refused:  # the batch after the settlement
        check(paid, chain, pending=[single])
    assert refused.value.field == "inputs[0].fulfills"
    with pytest.raises(ChannelDoubleSettlement):
        check(paid, chain, pending=[paid])
    other = batch([(dave, dave.id, vouchers(dave, 2))])
    with pytest.raises(ChannelStaleState) as refused:
        check(other, chain, pending=[paid])
    assert refused.value.field == "inputs[0].fulfills"
    # a play number taken by a batch earlier in the block
    with pytest.raises(ChannelPlayNumberMismatch) as refused:
        check(settlement_after(paid, carol, vouchers(carol, 1, first_sequence=3, settled=6)), chain,
              pending=[paid])
    assert refused.value.expected == "2"
    chain.commit(paid)
    with pytest.raises(ChannelDoubleSettlement):
        check(paid, chain)


def test_a_direct_play_of_a_batch_settled_number_is_refused(chain):
    # Carol's channel is refunded after the batch: her next PLAY must count its plays.
    carol, dave, _ = channels(chain)
    paid = batch([(carol, carol.id, vouchers(carol, 2)), (dave, dave.id, vouchers(dave, 1))])
    chain.commit(paid)
    close = signed(channel_close.close(read(paid, carol.id), CREDIT.id), CAROL)
    chain.commit(close, time=DAY)
    from bigchaindb_resonate.operations import channel_refund
    refund = signed(channel_refund.refund(read(close, carol.id), CREDIT.id), CAROL)
    chain.commit(refund, time=DAY + DELAY)
    with pytest.raises(PlayNumberMismatch) as refused:
        a_play_under(PARAMETERS, 0, ((refund, 0),)).check_stateful(chain.view(time=DAY + DELAY))
    assert refused.value.expected == "2"
    a_play_under(PARAMETERS, 2, ((refund, 0),)).check_stateful(chain.view(time=DAY + DELAY))
    with pytest.raises(ChannelClosed):
        check(batch([(paid, carol.id, vouchers(carol, 1, first_play=2, first_sequence=3, settled=6))]),
              chain, time=DAY + DELAY)


def test_a_closing_channel_settles_in_a_batch_until_its_delay_ends(chain):
    carol, dave, _ = channels(chain)
    close = signed(channel_close.close(read(dave, dave.id), CREDIT.id), DAVE)
    chain.commit(close, time=DAY + 100)
    settlements = [(carol, carol.id, vouchers(carol, 1)), (close, dave.id, vouchers(dave, 1))]
    check(batch(settlements), chain, time=DAY + 100 + DELAY - 1)
    with pytest.raises(ChannelExpired) as refused:
        check(batch(settlements), chain, time=DAY + 100 + DELAY)
    assert refused.value.field == "metadata.channels[1].channel"


def test_a_batchs_channel_outputs_are_locked_and_its_payouts_free(chain):
    carol, dave, _ = channels(chain)
    paid = batch([(carol, carol.id, vouchers(carol, 2)), (dave, dave.id, vouchers(dave, 1))])
    chain.commit(paid)
    light = LightTransaction.from_dict(paid.to_dict())

    def transfer(index, signer):
        return signed(LightTransaction.transfer("TRANSFER", light.to_inputs([index]), [
            (light.outputs[index].public_keys, light.outputs[index].amount)], CREDIT.id), signer)
    with pytest.raises(ChannelOutputLocked):
        check(transfer(1, BOB), chain)
    payout = next(index for index, output in enumerate(paid.outputs) if output.public_keys == [ALICE.public_key])
    check(transfer(payout, ALICE), chain)


def test_batch_plays_report_and_total_like_direct_plays():
    direct, batched = Chain(PARAMETERS, MARKET + [MORE]), Chain(PARAMETERS, MARKET + [MORE])
    done, wallet = [], (PURCHASE, 0)
    for number in range(10):
        done.append(a_play_under(PARAMETERS, number, (wallet,)))
        wallet = (done[-1], len(done[-1].outputs) - 1)
    direct.commit(*done)
    carol = opened()
    batched.commit(carol)
    batched.commit(batch([(carol, carol.id, vouchers(carol, 10))]))
    kept_direct, rebuilt_direct, _ = totals_and_lines(direct)
    kept_batch, rebuilt_batch, lines = totals_and_lines(batched)
    assert kept_batch == rebuilt_batch == kept_direct == rebuilt_direct
    assert [line["voucher"] for line in lines if line["kind"] == "play"] == list(range(1, 11))


def test_the_audit_checks_a_batchs_whole_vouchers(chain):
    from bigchaindb_resonate.reports.audit import _batch_problems

    carol, dave, _ = channels(chain)
    paid = batch([(carol, carol.id, vouchers(carol, 3)), (dave, dave.id, vouchers(dave, 2))])
    assert _batch_problems(paid.metadata) == []
    forged = copy.deepcopy(paid.metadata)
    forged["channels"][1]["vouchers"][0]["play"] = 1
    assert _batch_problems(forged) == ["voucher 1 is not signed by its listener",
                                       "voucher 1 is not included in its root",
                                       "voucher 2 is not included in its root"]


def test_the_batch_has_its_own_size_limit():
    filler = {"operation": "CHANNEL_SETTLE_BATCH", "x": "y" * 100_000}
    admission.decode(json.dumps(filler).encode())
    with pytest.raises(TransactionTooLarge):
        admission.decode(json.dumps({**filler, "operation": "PLAY"}).encode())
    with pytest.raises(TransactionTooLarge):
        admission.decode(json.dumps({**filler, "x": "y" * admission.MAX_TRANSACTION_BYTES_BY_OPERATION[
            "CHANNEL_SETTLE_BATCH"]}).encode())


def test_many_channels_are_read_at_once_as_each_is_read_alone(chain):
    from bigchaindb_resonate import api
    from .test_reads import api_client

    carol, dave, erin = channels(chain)
    chain.commit(batch([(carol, carol.id, vouchers(carol, 2)), (dave, dave.id, vouchers(dave, 1))]))
    chain.store.consensus_time = None
    client = api_client(chain.store)
    asked = [dave.id, erin.id, TRACK.id, carol.id]
    response = client.post(api.PREFIX + "/channels", json={"channels": asked})
    assert response.status_code == 200
    alone = [http_get(chain.store, f"/channels/{channel_id}") for channel_id in asked]
    assert response.get_json()["channels"] == [body if status == 200 else None for status, body in alone]
    for refused in ({"channels": []}, {"channels": ["nope"]}, {"channels": [1]}, [carol.id]):
        assert client.post(api.PREFIX + "/channels", json=refused).status_code == 400


@pytest.mark.parametrize("channel_count, per_channel", [(1, 1), (1, 100), (100, 10), (10, 100)])
def test_the_size_estimate_bounds_a_signed_batch(channel_count, per_channel):
    settlements = []
    for number in range(channel_count):
        listener, channel_id = generate_key_pair(), "%064x" % (number + 1)
        state = {"channel": channel_id, "listener": listener.public_key, "receiver": BOB.public_key,
                 "deposit": 5000, "settled": 0, "sequence": 0, "latest_transaction": channel_id}
        made, total = [], 0
        for play in range(per_channel):
            total += price(play)
            made.append(make_voucher(listener.private_key, channel=channel_id, listener=listener.public_key,
                                     sequence=play + 1, track=TRACK.id, play=play, price=price(play),
                                     total=total, territory="GB", right=LICENCE.id))
        settlements.append((state, made))
    tx = channel_settle_batch.settle_batch(settlements, SPLITS, PARAMETERS, CREDIT.id)
    size = admission.encoded_size(LightTransaction.from_dict(tx.to_dict()).sign([BOB.private_key]).to_dict())
    estimate = channel_settle_batch.estimated_bytes(channel_count, channel_count * per_channel)
    assert size <= estimate <= 1.3 * size + 1000
