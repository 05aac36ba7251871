"""RIGHTS_ASSIGNMENT: moves a Copyright or Right, or some of its shares, to new holders.

Spec: docs/spec/rights_assignment.md. TRANSFER-like: the host checks that the inputs exist,
are unspent, are signed by their holders and balance the outputs; this module adds that
the asset is a Copyright or Right in force, and that the new outputs are proper shares.
`metadata` is a COALA IP RightsTransferAction.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.schemas import COALAIP_CONTEXT
from bigchaindb_resonate.types.base import ResonateTransfer
from bigchaindb_resonate.types.shares import ASSIGNED_BY, check_shares, in_force

ASSIGNABLE = ("COPYRIGHT", "RIGHT")


class AssignmentNotARight(ResonateValidationError):
    code = "ASSIGNMENT_NOT_A_RIGHT"
    meaning = "only a Copyright or a Right moves by RIGHTS_ASSIGNMENT"


class AssignmentNotInForce(ResonateValidationError):
    code = "ASSIGNMENT_NOT_IN_FORCE"
    meaning = "the Copyright or Right is not valid on the consensus date (not yet started, or expired)"


class RightsAssignment(ResonateTransfer):
    OPERATION = ASSIGNED_BY
    SCHEMA = "rights_assignment_v1.0"

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

    @classmethod
    def assign(cls, holding, holder, recipient, shares=None, metadata=None):
        """Assign what `holder` (a public key) holds in the outputs of transaction `holding`
        to `recipient`: all of it, or `shares` of it with the rest kept by `holder`."""
        outputs = [index for index, output in enumerate(holding.outputs)
                   if output.public_keys == [holder]]
        held = sum(holding.outputs[index].amount for index in outputs)
        shares = held if shares is None else shares
        if not 0 < shares <= held:
            raise ValueError(f"{holder} holds {held} shares there, cannot assign {shares}")
        recipients = [([recipient], shares)] + ([([holder], held - shares)] if shares < held else [])
        asset_id = holding.id if holding.operation in ASSIGNABLE else holding.asset["id"]
        action = {"@context": COALAIP_CONTEXT, "@type": "RightsTransferAction", **(metadata or {})}
        return cls.build(holding.to_inputs(outputs), recipients, asset_id, action)
