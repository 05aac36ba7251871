import base58
import pytest

from bigchaindb_resonate.conditions import generate_key_pair
from bigchaindb_resonate.vouchers import (
    VoucherSignatureError, b58decode, inclusion_proof, make_voucher, merkle_root,
    proves_inclusion, verify_signature)


@pytest.fixture(scope="module")
def listener():
    return generate_key_pair()


def voucher(signer, sequence=1, **changes):
    fields = dict(channel="c" * 64, listener=signer.public_key, sequence=sequence,
                  track="t" * 64, play=sequence - 1, price=2 ** sequence, total=2 ** (sequence + 1) - 2,
                  territory="GB", right="r" * 64)
    return make_voucher(signer.private_key, **{**fields, **changes})


def test_a_signed_voucher_verifies(listener):
    verify_signature(voucher(listener))


@pytest.mark.parametrize("field, value", [("total", 7), ("play", 5), ("territory", "FR"),
                                          ("sequence", 9), ("version", 2)])
def test_any_changed_field_breaks_the_signature(listener, field, value):
    with pytest.raises(VoucherSignatureError):
        verify_signature({**voucher(listener), field: value})


def test_another_key_cannot_sign_for_the_listener(listener):
    forged = voucher(generate_key_pair(), listener=listener.public_key)
    with pytest.raises(VoucherSignatureError):
        verify_signature(forged)


@pytest.mark.parametrize("broken", [{"signature": "0OIl"}, {"signature": ""}, {"listener": "x"}])
def test_malformed_signatures_and_keys_are_refused(listener, broken):
    with pytest.raises(VoucherSignatureError):
        verify_signature({**voucher(listener), **broken})


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_every_voucher_proves_its_inclusion_and_no_other(listener, count):
    vouchers = [voucher(listener, sequence) for sequence in range(1, count + 1)]
    root = merkle_root(vouchers)
    outsider = voucher(listener, count + 1)
    for index, one in enumerate(vouchers):
        proof = inclusion_proof(vouchers, index)
        assert proves_inclusion(one, proof, root)
        assert not proves_inclusion(outsider, proof, root)


def test_a_repeated_last_voucher_changes_the_root(listener):
    vouchers = [voucher(listener, sequence) for sequence in (1, 2, 3)]
    assert merkle_root(vouchers) != merkle_root(vouchers + vouchers[-1:])
    assert merkle_root(vouchers) != merkle_root(list(reversed(vouchers)))


def test_a_settlement_commits_to_at_least_one_voucher():
    with pytest.raises(ValueError):
        merkle_root([])


@pytest.mark.parametrize("text", [
    "", "1", "111", "11A", "2", "z" * 88, "1" * 3 + "3mJr7AoUXx2Wqd", "3mJr7AoUXx2Wqd  ",
    generate_key_pair().public_key, "5" * 64 + " ",
])
def test_b58decode_gives_the_bytes_the_base58_package_gives(text):
    assert b58decode(text) == base58.b58decode(text)


@pytest.mark.parametrize("text", ["0OIl", "abc0", "é", "1 1"])
def test_b58decode_refuses_what_the_base58_package_refuses(text):
    with pytest.raises(ValueError):
        base58.b58decode(text)
    with pytest.raises(ValueError):
        b58decode(text)


# -- signatures verified once per process (CheckTx, then DeliverTx)

@pytest.fixture
def verified(monkeypatch):
    """An empty record of verified signatures, and a count of real verifications."""
    from bigchaindb_resonate import vouchers

    record = vouchers.VerifiedSignatures(4)
    monkeypatch.setattr(vouchers, "VERIFIED", record)
    calls, verify = [], vouchers.VerifyKey.verify

    def counted(key, message, signature):
        calls.append(message)
        return verify(key, message, signature)

    monkeypatch.setattr(vouchers.VerifyKey, "verify", counted)
    return record, calls


def test_a_signature_verified_once_is_not_verified_again(listener, verified):
    record, calls = verified
    good = voucher(listener)
    verify_signature(good)
    verify_signature(dict(good))  # DeliverTx parses its own copy
    assert len(calls) == 1 and len(record) == 1


def test_a_remembered_signature_answers_what_a_fresh_check_answers(listener, verified):
    record, calls = verified
    good = voucher(listener)
    forged = voucher(generate_key_pair(), listener=listener.public_key)
    cases = [good, {**good, "total": good["total"] + 1}, {**good, "signature": forged["signature"]},
             {**good, "listener": generate_key_pair().public_key}, forged, good]

    def outcomes():
        answers = []
        for case in cases:
            try:
                verify_signature(case)
                answers.append("valid")
            except VoucherSignatureError:
                answers.append("refused")
        return answers

    fresh = outcomes()  # the good voucher is remembered from its first check on
    assert outcomes() == fresh == ["valid", "refused", "refused", "refused", "refused", "valid"]
    assert len(record) == 1  # refusals are never remembered: each was checked again
    assert len(calls) == 1 + 2 * 4


def test_the_record_keeps_at_most_its_capacity_forgetting_the_oldest(listener, verified):
    record, calls = verified
    signed = [voucher(listener, sequence) for sequence in range(1, 7)]
    for one in signed:
        verify_signature(one)
    assert len(record) == record.capacity == 4
    verify_signature(signed[-1])  # still remembered
    assert len(calls) == 6
    verify_signature(signed[0])  # forgotten: verified again
    assert len(calls) == 7 and len(record) == 4
