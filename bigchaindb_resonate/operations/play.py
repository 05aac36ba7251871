"""PLAY, the client part (rules: types/play.py; spec: docs/spec/play.md)."""
from bigchaindb_resonate.operations.common import COALAIP_CONTEXT, as_transaction, move
from bigchaindb_resonate.validators.royalties import play_outputs, price
from bigchaindb_resonate.validators.terms import normalise_country

OPERATION = "PLAY"
SCHEMA = "play_v1.0"


def pay(credits, listener, play, payees, parameters):
    """An unsigned PLAY by the public key `listener`, spending `credits`: (committed
    transaction, output index) pairs of the listener's credit outputs, holding at least the
    price. `play` names `track`, `territory`, `right`, `playNumber` and (for a paid play)
    the `split` in force, whose (key, basis points) `payees` are given; `parameters` are
    the network's in force (platform_key, coop_share_bp, rules_version, min_play_payout:
    the outputs follow the rule version in force, validators/royalties.py)."""
    credits = [(as_transaction(tx), index) for tx, index in credits]
    amount = price(play["playNumber"])
    spent = sum(tx.outputs[index].amount for tx, index in credits)
    if spent < amount:
        raise ValueError(f"play number {play['playNumber']} costs {amount} tokens; "
                         f"the credits given hold {spent}")
    record = {"@context": COALAIP_CONTEXT, "@type": "Play", "listener": listener,
              "track": play["track"], "territory": normalise_country(play["territory"]), "right": play["right"],
              "playNumber": play["playNumber"], "price": amount}
    if amount and play.get("split") is not None:  # no split in force: the node says PLAY_NO_SPLIT
        record["split"] = play["split"]
    inputs = [input_ for tx, index in credits for input_ in tx.to_inputs([index])]
    recipients = play_outputs(amount, payees, parameters, listener, spent)
    return move(OPERATION, inputs, recipients, credits[0][0].asset_id, record)
