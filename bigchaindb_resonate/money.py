"""Tokens as money at the payout rate, in integer minor units (needs no server).

The network's `payout_rate` is tokens per one unit of `payout_currency` (parameters.py).
An amount of tokens is worth `tokens * 10^e / rate` minor units, where e is the currency's
minor-unit exponent in ISO 4217 (2 for EUR: cents). The result is rounded down, so a
payout never pays more than its tokens are worth: the fraction of a minor unit left over
stays with the co-op, and every node and client computes the same integer.
"""

# ISO 4217 currencies whose minor unit is not a hundredth (the list's exponents); any
# other three-letter code has 2. Frozen with the rules: a settlement states its amount in
# minor units, which validators recompute from this table.
EXPONENTS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                     "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def exponent(currency):
    """How many decimal places the currency's minor unit has."""
    return EXPONENTS.get(currency, 2)


def money_minor(tokens, rate, currency):
    """`tokens` at `rate` tokens per unit of `currency`, in minor units, rounded down."""
    return tokens * 10 ** exponent(currency) // rate


def format_money(minor, currency):
    """Minor units as people read them: 1234, EUR -> '12.34 EUR'."""
    places = exponent(currency)
    sign, minor = ("-" if minor < 0 else ""), abs(minor)
    if not places:
        return f"{sign}{minor} {currency}"
    whole, fraction = divmod(minor, 10 ** places)
    return f"{sign}{whole}.{fraction:0{places}d} {currency}"
