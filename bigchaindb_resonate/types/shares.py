"""How Copyrights and Rights are held: in integer shares, one holder per output.

A Copyright or Right registers 100 shares; its holders are the public keys of its unspent
outputs (`LedgerView.current_holders`). A RIGHTS_ASSIGNMENT moves shares on; the host
already makes its amounts balance, so the total stays 100 for the life of the asset.

Spec: docs/spec/copyright.md (shares), docs/spec/right.md, docs/spec/rights_assignment.md.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations.rights_assignment import OPERATION as ASSIGNED_BY
from bigchaindb_resonate.operations.shares import TOTAL_SHARES
from bigchaindb_resonate.types.base import ResonateRecord
from bigchaindb_resonate.validators.terms import check_period, check_territory, period_covers


class InvalidShares(ResonateValidationError):
    code = "SHARES_INVALID"
    meaning = ("shares are outputs of one public key each, no key twice, each above 0, "
               "and a registration issues exactly 100")


def check_shares(outputs, total=None):
    """One key per output, no key twice, every amount positive, summing to `total` if given."""
    seen = set()
    for index, output in enumerate(outputs):
        field = f"outputs[{index}]"
        keys = output["public_keys"]
        if len(keys) != 1:
            raise InvalidShares(f"the output has {len(keys)} public keys",
                                field=f"{field}.public_keys", expected="exactly one public key")
        if keys[0] in seen:
            raise InvalidShares(f"`{keys[0]}` holds two outputs", field=f"{field}.public_keys",
                                expected="each holder in one output")
        seen.add(keys[0])
        if int(output["amount"]) < 1:
            raise InvalidShares("a share of 0", field=f"{field}.amount", expected="at least 1")
    issued = sum(int(output["amount"]) for output in outputs)
    if total is not None and issued != total:
        raise InvalidShares(f"the outputs issue {issued} shares", field="outputs",
                            expected=f"amounts summing to exactly {total}")


def holder_keys(ledger, asset_id):
    """Every public key that holds part of the asset now, sorted."""
    return sorted({key for keys, _ in ledger.current_holders(asset_id) for key in keys})


def in_force(record, ledger):
    """True when the consensus date falls within the record's validity period; False also
    before the first block, when there is no consensus date to judge by."""
    day = ledger.consensus_date()
    return day is not None and period_covers(record, day)


class SharedRecord(ResonateRecord):
    """A record held in shares whose terms are a territory and a validity period: the part
    Copyright and Right have in common."""

    TRANSFERRED_BY = ASSIGNED_BY

    @classmethod
    def check_stateless(cls, tx):
        check_shares(tx["outputs"], TOTAL_SHARES)
        data = tx["asset"]["data"]
        check_territory(data["territory"], "asset.data.territory")
        check_period(data, "asset.data")
