"""Stream to own as integer arithmetic: what a play costs and where every token goes.

Pure functions over integers (tokens; 1 token = 0.001 credit) and basis points (10000 is
the whole), shared by the PLAY rules, the client's builder and the tests.

Rounding, in this order (docs/spec/play.md):
  coop    = price * coop_share_bp // 10000
  pool    = price - coop
  payee_i = pool * shareBp_i // 10000          (each payee rounded down)
  the remainder pool - sum(payee_i) goes to the co-op too,
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


def payouts(amount, payees, coop_share_bp):
    """How `amount` tokens divide: ([(payee key, tokens)] in the payees' order, the co-op's
    tokens). `payees` are (public key, share in basis points) summing to 10000."""
    coop = amount * coop_share_bp // BASIS_POINTS
    pool = amount - coop
    paid = [(key, pool * share // BASIS_POINTS) for key, share in payees]
    return paid, coop + pool - sum(tokens for _, tokens in paid)


def play_outputs(amount, payees, coop_share_bp, platform_key, listener, spent):
    """The outputs a play paying `amount` out of `spent` tokens must have, in order, as
    ([public key], tokens): each payee with tokens, the co-op (platform key), the change."""
    paid, coop = payouts(amount, payees, coop_share_bp)
    outputs = [([key], tokens) for key, tokens in paid if tokens > 0]
    if coop > 0:
        outputs.append(([platform_key], coop))
    if spent > amount:
        outputs.append(([listener], spent - amount))
    return outputs


def pooled_payouts(plays, coop_share_bp, platform_key):
    """What several plays pay together, as one output per key: `plays` are (price, payees)
    pairs; each divides as `payouts` does (so each key gets exactly what the same plays
    paid one by one would give it), then tokens are summed per key. [(public key, tokens)]
    in order of first appearance (each play's payees, then the co-op), without zeros."""
    pooled = {}
    for amount, payees in plays:
        paid, coop = payouts(amount, payees, coop_share_bp)
        for key, tokens in [*paid, (platform_key, coop)]:
            pooled[key] = pooled.get(key, 0) + tokens
    return [(key, tokens) for key, tokens in pooled.items() if tokens > 0]
