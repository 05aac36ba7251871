"""RIGHTS_ASSIGNMENT, the client part (rules: types/rights_assignment.py; spec:
docs/spec/rights_assignment.md)."""
from bigchaindb_resonate.operations import copyright, right
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, as_transaction, move

OPERATION = "RIGHTS_ASSIGNMENT"
SCHEMA = "rights_assignment_v1.0"
ASSIGNABLE = (copyright.OPERATION, right.OPERATION)


def assign(holding, holder, recipient, shares=None, metadata=None):
    """Assign what `holder` (a public key) holds in the outputs of the committed transaction
    `holding` (a Copyright, Right or earlier assignment) to `recipient`: all of it, or
    `shares` of it with the rest kept by `holder`. `metadata` adds to the
    RightsTransferAction (e.g. `transferContract`)."""
    holding = as_transaction(holding)
    outputs = [index for index, output in enumerate(holding.outputs)
               if output.public_keys == [holder]]
    held = sum(holding.outputs[index].amount for index in outputs)
    shares = held if shares is None else shares
    if not 0 < shares <= held:
        raise ValueError(f"{holder} holds {held} shares there, cannot assign {shares}")
    recipients = [([recipient], shares)] + ([([holder], held - shares)] if shares < held else [])
    asset_id = holding.id if holding.operation in ASSIGNABLE else holding.asset["id"]
    action = {"@context": COALAIP_CONTEXT, "@type": "RightsTransferAction", **(metadata or {})}
    return move(OPERATION, holding.to_inputs(outputs), recipients, asset_id, action)
