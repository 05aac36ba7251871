"""RIGHTS_ASSIGNMENT: moves a Copyright or Right, or some of its shares, to new holders.

Spec: docs/spec/rights_assignment.md. TRANSFER-like: the host checks that the inputs exist,
are unspent, are signed by their holders and balance the outputs; this module adds that
the asset is a Copyright or Right in force, and that the new outputs are proper shares.
`metadata` is a COALA IP RightsTransferAction.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import rights_assignment as client_part
from bigchaindb_resonate.operations.rights_assignment import ASSIGNABLE
from bigchaindb_resonate.types.base import ResonateTransfer, client_builder
from bigchaindb_resonate.types.shares import check_shares, in_force


class AssignmentNotARight(ResonateValidationError):
    code = "ASSIGNMENT_NOT_A_RIGHT"
    meaning = "only a Copyright or a Right moves by RIGHTS_ASSIGNMENT"


class AssignmentNotInForce(ResonateValidationError):
    code = "ASSIGNMENT_NOT_IN_FORCE"
    meaning = "the Copyright or Right is not valid on the consensus date (not yet started, or expired)"


class RightsAssignment(ResonateTransfer):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA

    @classmethod
    def check_stateless(cls, tx):
        check_shares(tx["outputs"])

    def check_stateful(self, ledger):
        # The host has checked that the inputs exist and belong to this asset, so it exists.
        asset = ledger.get_transaction(self.asset["id"])
        if asset.operation not in ASSIGNABLE:
            raise AssignmentNotARight(f"the asset is a {asset.operation}", field="asset.id",
                                      expected=" or ".join(ASSIGNABLE))
        if not in_force(asset.asset["data"], ledger):
            raise AssignmentNotInForce(field="asset.id",
                                       expected=f"in force on {ledger.consensus_date()}")

    assign = client_builder(client_part.assign)
