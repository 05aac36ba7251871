"""Reads of network governance: the parameters in force at a height, each parameter's
history with the elections that set it, and where each parameter election stands.

Answers come from a LedgerView over the node's committed storage, through the functions
validation uses (types/parameter_election.py, ledger.parameter_changes), so a read never
disagrees with what the validators enforce. Served under /api/v1/resonate/ (api.py).
"""
from bigchaindb_resonate.ledger import LedgerView, genesis_parameters, parameter_changes
from bigchaindb_resonate.parameters import PARAMETERS, history
from bigchaindb_resonate.types.parameter_election import (
    CONCLUDED, ONGOING, ParameterElection, passes, status,
)


def parameters_at(bigchain, height=None):
    """Every parameter in force at `height` (default: the next block) with the height it
    has been in force since and the election that set it (None: the genesis); None on a
    chain whose genesis set no parameters."""
    ledger = LedgerView(bigchain)
    height = ledger.height() if height is None else height
    genesis = genesis_parameters(bigchain.connection)
    if genesis is None:
        return None
    changes = parameter_changes(bigchain.connection, height)
    answer = {}
    for name in PARAMETERS:
        steps = [step for step in history(genesis, changes, name) if step["from_height"] <= height]
        answer[name] = {"value": steps[-1]["value"], "since_height": steps[-1]["from_height"],
                        "election": steps[-1]["election"]}
    return {"height": height, "parameters": answer}


def parameter_history(bigchain, name):
    """Every value `name` has had or will have (scheduled), with the height each comes
    into force from and the election that set it, and the open election changing it;
    None for an unknown parameter or a chain without parameters."""
    ledger = LedgerView(bigchain)
    genesis = genesis_parameters(bigchain.connection)
    if name not in PARAMETERS or genesis is None:
        return None
    height = ledger.height()
    steps = history(genesis, parameter_changes(bigchain.connection, height), name)
    for step, following in zip(steps, steps[1:] + [None]):
        step["to_height"] = following["from_height"] - 1 if following else None
    open_election = latest_open(ledger, name, height)
    return {"parameter": name, "range": PARAMETERS[name].range, "meaning": PARAMETERS[name].meaning,
            "next_height": height, "history": steps,
            "open_election": open_election and summary(ledger, open_election, height)}


def latest_open(ledger, name, height):
    """The election of `name` that is open or passed and not yet in force, or None: only
    the latest can be (a second is refused while one is)."""
    found = ledger.find_records(ParameterElection.OPERATION, "parameter", name)
    if not found:
        return None
    latest = found[-1]
    return latest if status(ledger, latest, height) in (ONGOING, CONCLUDED) else None


def elections(bigchain):
    """Every parameter election now open or passed and not yet in force."""
    ledger = LedgerView(bigchain)
    height = ledger.height()
    found = (latest_open(ledger, name, height) for name in PARAMETERS)
    return {"next_height": height,
            "elections": [summary(ledger, election, height) for election in found if election]}


def election(bigchain, election_id):
    """Where a parameter election stands at the next block, or None for no such election."""
    ledger = LedgerView(bigchain)
    tx = ledger.record(election_id, (ParameterElection.OPERATION,))
    return tx and summary(ledger, tx, ledger.height())


def summary(ledger, election, height):
    proposal = election.proposal
    votes = ledger.asset_transactions(election.id)[1:]
    voted = {key for vote in votes for input_ in vote.inputs for key in input_.owners_before}
    total = election.total_votes()
    change = ledger.parameter_change(election.id)
    return {"id": election.id, "parameter": proposal["parameter"], "value": proposal["value"],
            "activation_height": proposal["activation_height"],
            "proposer": election.inputs[0].owners_before[0],
            "status": status(ledger, election, height), "votes": election.votes(ledger),
            "total": total, "needed": needed(total),
            "concluded_height": change["concluded_height"] if change else None,
            "voters": [{"public_key": output.public_keys[0], "power": output.amount,
                        "voted": output.public_keys[0] in voted} for output in election.outputs]}


def needed(total):
    """The fewest votes that pass (more than two thirds of `total`)."""
    return next(votes for votes in range(2 * total // 3, total + 1) if passes(votes, total))
