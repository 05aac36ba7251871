"""Stream to own as integer arithmetic: what a play costs and where every token goes.

Pure functions over integers (tokens; 1 token = 0.001 credit) and basis points (10000 is
the whole), shared by the PLAY rules, the client's builder and the tests.

How a paid play divides is a rule that changes with the rule version in force
(rule_versions.py), so `payouts` is the one place that knows every version's division; the
play's rules, the client's builder and a channel's settlement all call it with the network's
parameters in force at the play's height. In this order (docs/spec/play.md):
  coop    = price * coop_share_bp // 10000
  pool    = price - coop
  version 2 on: pool = min(price, max(pool, min_play_payout)), coop = price - pool
  payee_i = pool * shareBp_i // 10000          (each payee rounded down)
  the remainder pool - sum(payee_i) goes to the co-op (version 1), or a token each to the
  first payees in the split's order (version 2 on: the payees' pool is paid out whole),
so every token of the price lands with exactly one recipient.
"""
BASIS_POINTS = 10000
# Plays 0..8 are paid; after the ninth paid play the listener owns the track.
PAID_PLAYS = 9


def price(play_number):
    """Tokens a listener's play costs, given the count of their earlier plays of the track:
    2 ** (n + 1) for n = 0..8 (2, 4, ..., 512; 1022 in all), then nothing."""
    if play_number < 0:
        raise ValueError(f"a play number counts earlier plays: {play_number} < 0")
    return 2 ** (play_number + 1) if play_number < PAID_PLAYS else 0


def owns(plays):
    """After `plays` plays of a track, does the listener own it?"""
    return plays >= PAID_PLAYS


# The first rule version whose payouts top the payees up (rule_versions.PENNY_PER_PLAY; kept
# here too, since the client library imports this module without the node's).
PENNY_PER_PLAY = 2


def payouts(amount, payees, parameters):
    """How `amount` tokens divide under the rules in force: ([(payee key, tokens)] in the
    payees' order, the co-op's tokens). `payees` are (public key, share in basis points)
    summing to 10000; `parameters` the network's in force (coop_share_bp, and rules_version
    with min_play_payout; without rules_version, version 1)."""
    coop = amount * parameters["coop_share_bp"] // BASIS_POINTS
    pool = amount - coop
    penny_per_play = parameters.get("rules_version", 1) >= PENNY_PER_PLAY and payees
    if penny_per_play:
        # Topped up from the co-op's share; the listener never pays more than the price.
        pool = min(amount, max(pool, parameters["min_play_payout"]))
    paid = [(key, pool * share // BASIS_POINTS) for key, share in payees]
    remainder = pool - sum(tokens for _, tokens in paid)
    if not penny_per_play:
        return paid, amount - pool + remainder
    # Below len(payees) tokens: the payees' pool is paid out whole.
    paid = [(key, tokens + (index < remainder)) for index, (key, tokens) in enumerate(paid)]
    return paid, amount - pool


def play_outputs(amount, payees, parameters, listener, spent):
    """The outputs a play paying `amount` out of `spent` tokens must have, in order, as
    ([public key], tokens): each payee with tokens, the co-op (`parameters["platform_key"]`),
    the change."""
    platform_key = parameters["platform_key"]
    paid, coop = payouts(amount, payees, parameters)
    outputs = [([key], tokens) for key, tokens in paid if tokens > 0]
    if coop > 0:
        outputs.append(([platform_key], coop))
    if spent > amount:
        outputs.append(([listener], spent - amount))
    return outputs


def pooled_payouts(plays, parameters):
    """What several plays pay together, as one output per key: `plays` are (price, payees)
    pairs; each divides as `payouts` does under `parameters` (so each key gets exactly what
    the same plays paid one by one would give it), then tokens are summed per key.
    [(public key, tokens)] in order of first appearance (each play's payees, then the co-op
    at `parameters["platform_key"]`), without zeros."""
    pooled = {}
    for amount, payees in plays:
        paid, coop = payouts(amount, payees, parameters)
        for key, tokens in [*paid, (parameters["platform_key"], coop)]:
            pooled[key] = pooled.get(key, 0) + tokens
    return [(key, tokens) for key, tokens in pooled.items() if tokens > 0]
