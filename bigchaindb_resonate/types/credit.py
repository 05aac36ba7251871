"""CREDIT: creates the network's one credit token, a divisible asset held by the treasury.

Spec: docs/spec/credit.md. Listeners buy credits by a plain TRANSFER from the treasury and
spend them in plays; balances are unspent outputs of this asset. Only a treasury key named
in the genesis may create it, and only once, so every play on the network spends the same
asset and one listener's credits always combine.
"""
from bigchaindb_resonate.errors import ResonateValidationError, RecordShape
from bigchaindb_resonate.operations import credit as client_part
from bigchaindb_resonate.operations.credit import MAX_SUPPLY  # noqa: F401 (the type's supply cap)
from bigchaindb_resonate.types.base import ResonateRecord, client_builder


class NetworkHasNoParameters(ResonateValidationError):
    code = "NETWORK_HAS_NO_PARAMETERS"
    meaning = "the chain's genesis names no treasury, so credits and plays cannot exist on it"


class CreditNotTreasury(ResonateValidationError):
    code = "CREDIT_NOT_TREASURY"
    meaning = "only a treasury key named in the genesis may create the credit token"


class CreditAlreadyIssued(ResonateValidationError):
    code = "CREDIT_ALREADY_ISSUED"
    meaning = "the network's credit token exists already; buy credits by a treasury TRANSFER"


class Credit(ResonateRecord):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_FIELDS = ("@type",)

    @classmethod
    def check_stateless(cls, tx):
        if len(tx["inputs"]) != 1 or len(tx["inputs"][0]["owners_before"]) != 1:
            raise RecordShape("the credit token has one signer, a treasury key", field="inputs",
                              expected="one input with one owner")
        if len(tx["outputs"]) != 1 or tx["outputs"][0]["public_keys"] != tx["inputs"][0]["owners_before"]:
            raise RecordShape("the whole supply starts with the treasury key that creates it",
                              field="outputs", expected="one output held by the signer")

    def check_stateful(self, ledger):
        parameters = parameters_in_force(ledger)
        [signer] = self.inputs[0].owners_before
        if signer not in parameters["treasury_keys"]:
            raise CreditNotTreasury(f"`{signer}` is not a treasury key", field="inputs[0].owners_before",
                                    expected="one of the genesis treasury_keys")
        existing = credit_token(ledger)
        if existing is not None and existing.id != self.id:
            raise CreditAlreadyIssued(f"the credit token is `{existing.id}`", field="operation",
                                      expected="a TRANSFER of that asset")

    def already_exists(self):
        # The same treasury key builds the same token again, byte for byte: the integrator
        # needs to hear that the token exists, not that a transaction repeats.
        return CreditAlreadyIssued(f"the credit token is `{self.id}`", field="operation",
                                   expected="a TRANSFER of that asset")

    build = client_builder(client_part.build)


def parameters_in_force(ledger):
    """The network parameters in force (LedgerView.network_parameters); a chain whose
    genesis carried none is refused NetworkHasNoParameters."""
    parameters = ledger.network_parameters()
    if parameters is None:
        raise NetworkHasNoParameters(field="genesis app_state.resonate")
    return parameters


def credit_token(ledger):
    """The network's credit token (the first CREDIT committed or earlier in the block)."""
    return ledger.first_record(Credit.OPERATION, "@type", "ResonateCredit")


def check_credit_asset(tx, ledger, refusal):
    """`tx` moves the network's credit token: `refusal` (the type's own) otherwise."""
    token = credit_token(ledger)
    if token is None or tx.asset["id"] != token.id:
        raise refusal(field="asset.id", expected=token.id if token else "a credit token on the network")
