"""SPLIT: the royalty split of a recording: who is paid from its plays, in basis points.

Spec: docs/spec/split.md. The subject is a MANIFESTATION (the track) or a COPYRIGHT in
one; only all current holders of the Copyright(s) together set or change it. Splits are
never spent or edited: a newer SPLIT of the same subject replaces the older one from its
commit on (`split_in_force`), and the older ones stay readable.
"""
import base58

from bigchaindb_resonate.errors import RecordShape, ResonateValidationError
from bigchaindb_resonate.operations import split as client_part
from bigchaindb_resonate.types.base import ResonateRecord, check_record_shape, client_builder
from bigchaindb_resonate.types.copyright import Copyright
from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.shares import holder_keys
from bigchaindb_resonate.validators.royalties import BASIS_POINTS

SUBJECTS = (Manifestation.OPERATION, Copyright.OPERATION)


class SplitPayeesInvalid(ResonateValidationError):
    code = "SPLIT_PAYEES_INVALID"
    meaning = "payees are distinct Ed25519 public keys listed in ascending order"


class SplitTotalInvalid(ResonateValidationError):
    code = "SPLIT_TOTAL_INVALID"
    meaning = "the payees' shares must sum to exactly 10000 basis points"


class SplitNoCopyright(ResonateValidationError):
    code = "SPLIT_NO_COPYRIGHT"
    meaning = "the recording has no Copyright, so nobody may set its split"


class SplitNotHolders(ResonateValidationError):
    code = "SPLIT_NOT_HOLDERS"
    meaning = "a split must be signed by exactly the current holders of the recording's Copyright(s)"


def check_payees(payees):
    """Ascending by public key (so each split has one canonical form), no key twice, each
    key 32 bytes, summing to 10000 (the schema keeps each share within 1..10000)."""
    for index, payee in enumerate(payees):
        field = f"asset.data.payees[{index}].publicKey"
        if len(base58.b58decode(payee["publicKey"])) != 32:
            raise SplitPayeesInvalid(f"`{payee['publicKey']}` is not 32 bytes", field=field,
                                     expected="an Ed25519 public key")
        if index and payee["publicKey"] <= payees[index - 1]["publicKey"]:
            raise SplitPayeesInvalid("payees out of order or repeated", field=field,
                                     expected=f"after `{payees[index - 1]['publicKey']}`")
    total = sum(payee["shareBp"] for payee in payees)
    if total != BASIS_POINTS:
        raise SplitTotalInvalid(f"the shares sum to {total}", field="asset.data.payees",
                                expected=f"exactly {BASIS_POINTS}")


def copyrights_of(ledger, subject):
    """The Copyright records whose holders decide a subject's split."""
    if subject.operation == Copyright.OPERATION:
        return [subject]
    return ledger.find_records(Copyright.OPERATION, "rightsOf", subject.id)


def split_in_force(ledger, track_id):
    """The SPLIT that pays a track's plays now: the latest (commit order) whose subject is
    the track; failing that, the latest whose subject is a Copyright in the track. None
    when there is neither."""
    own = ledger.find_records(Split.OPERATION, "subject", track_id)
    if own:
        return own[-1]  # find_records answers in commit order
    # Splits of several Copyrights come from several lists: order them by commit.
    found = copyright_splits(ledger, track_id)
    return ledger.in_commit_order(found)[-1] if found else None


def copyright_splits(ledger, track_id):
    """The SPLITs whose subject is a Copyright in the track."""
    return [split for copyright in ledger.find_records(Copyright.OPERATION, "rightsOf", track_id)
            for split in ledger.find_records(Split.OPERATION, "subject", copyright.id)]


def payees_of(split):
    """A split's payees as (public key, basis points), in its order."""
    return [(payee["publicKey"], payee["shareBp"]) for payee in split.asset["data"]["payees"]]


class Split(ResonateRecord):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_FIELDS = ("subject",)

    @classmethod
    def check_stateless(cls, tx):
        check_record_shape(tx)
        if sorted(tx["outputs"][0]["public_keys"]) != sorted(tx["inputs"][0]["owners_before"]):
            raise RecordShape("a split is held by the holders who signed it",
                              field="outputs[0].public_keys", expected="the signers' keys")
        check_payees(tx["asset"]["data"]["payees"])

    def check_stateful(self, ledger):
        subject = ledger.linked(self.asset["data"]["subject"], SUBJECTS, "asset.data.subject")
        copyrights = copyrights_of(ledger, subject)
        if not copyrights:
            raise SplitNoCopyright(f"no Copyright has rightsOf `{subject.id}`",
                                   field="asset.data.subject",
                                   expected="a recording with a Copyright, or a Copyright")
        holders = sorted({key for copyright in copyrights
                          for key in holder_keys(ledger, copyright.id)})
        if sorted(set(self.inputs[0].owners_before)) != holders:
            raise SplitNotHolders(field="inputs[0].owners_before", expected=f"exactly {holders}")

    build = client_builder(client_part.build)
