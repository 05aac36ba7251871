"""PARAMETER_ELECTION: the validators change one network parameter from an agreed height.

Spec: docs/spec/parameter_election.md. Built on BigchainDB's own election mechanism
(`bigchaindb/elections/election.py`, as its upsert-validator election is): a validator
proposes (parameter, value, activation height); every validator holds its voting power in
vote tokens; the election concludes in the block where the VOTEs sent to it hold more than
two thirds of them (`Election.process_block`, run at every block's end). Its `on_approval`
records the change (ledger.PARAMETER_CHANGES); from the activation height on, every rule
reads the new value (LedgerView.network_parameters), before it the old one. An election
that has not concluded by its activation height expires: votes at or after it are refused.
"""
from bigchaindb.elections.election import Election

from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.ledger import PARAMETER_CHANGES, LedgerView
from bigchaindb_resonate.operations import parameter_election as client_part
from bigchaindb_resonate.parameters import PARAMETERS, ParameterValueError, check_value, with_defaults
from bigchaindb_resonate.types.base import ResonateRecord, client_builder

# What an election is at a height (status()).
ONGOING, CONCLUDED, ACTIVE, EXPIRED, INCONCLUSIVE = (
    "ongoing", "concluded", "active", "expired", "inconclusive")


class ParameterUnknown(ResonateValidationError):
    code = "PARAMETER_UNKNOWN"
    meaning = "the election names no network parameter (docs/spec/parameters.md lists them)"


class ParameterOutOfRange(ResonateValidationError):
    code = "PARAMETER_OUT_OF_RANGE"
    meaning = "the proposed value is outside the parameter's documented range"


class ParameterActivationTooSoon(ResonateValidationError):
    code = "PARAMETER_ACTIVATION_TOO_SOON"
    meaning = "the activation height is less than activation_lead_blocks after the proposal"


class ParameterActivationTooLate(ResonateValidationError):
    code = "PARAMETER_ACTIVATION_TOO_LATE"
    meaning = "the activation height is more than activation_max_lead_blocks after the proposal"


class ParameterChangePending(ResonateValidationError):
    code = "PARAMETER_CHANGE_PENDING"
    meaning = "an election for this parameter is still open, or has passed and is not yet in force"


class ElectionConcluded(ResonateValidationError):
    code = "ELECTION_CONCLUDED"
    meaning = "the parameter election has concluded; it takes no more votes"


class ElectionNotCommitted(ResonateValidationError):
    code = "ELECTION_NOT_COMMITTED"
    meaning = "a vote goes in a block after its election's: votes beside it would never count"


class ElectionExpired(ResonateValidationError):
    code = "ELECTION_EXPIRED"
    meaning = "the parameter election reached its activation height without concluding"


def passes(votes, total):
    """More than two thirds, in integers (upstream compares floats with >= 2/3)."""
    return 3 * votes > 2 * total


class ParameterElection(ResonateRecord, Election):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    # Vote tokens move only by BigchainDB's VOTE; the node files votes under their election.
    TRANSFERRED_BY = client_part.VOTE
    INDEXED_FIELDS = ("parameter",)

    build = client_builder(client_part.build)

    @property
    def proposal(self):
        return self.asset["data"]

    def validate(self, bigchain, current_transactions=()):
        # BigchainDB's election rules first: not a duplicate, signed, proposed by one
        # validator, every validator holding exactly its voting power in votes.
        Election.validate(self, bigchain, list(current_transactions))
        self.check_stateful(LedgerView(bigchain, current_transactions))
        return self

    def check_stateful(self, ledger):
        proposal = self.proposal
        name, height = proposal["parameter"], ledger.height()
        if name not in PARAMETERS:
            raise ParameterUnknown(f"no parameter `{name}`", field="asset.data.parameter",
                                   expected=", ".join(PARAMETERS))
        try:
            check_value(name, proposal["value"])
        except ParameterValueError as exc:
            raise ParameterOutOfRange(str(exc), field="asset.data.value",
                                      expected=PARAMETERS[name].range) from None
        # A chain whose genesis set no parameters still has the table's defaults for these.
        parameters = ledger.network_parameters() or with_defaults({})
        earliest = height + parameters["activation_lead_blocks"]
        # Never below the earliest: a too small maximum must not stop every change.
        latest = max(earliest, height + parameters["activation_max_lead_blocks"])
        if proposal["activation_height"] < earliest:
            raise ParameterActivationTooSoon(
                f"proposed at height {height} for height {proposal['activation_height']}",
                field="asset.data.activation_height", expected=f"at least {earliest}")
        if proposal["activation_height"] > latest:
            raise ParameterActivationTooLate(
                f"proposed at height {height} for height {proposal['activation_height']}",
                field="asset.data.activation_height", expected=f"at most {latest}")
        earlier = ledger.find_records(self.OPERATION, "parameter", name)
        if earlier and is_pending(ledger, earlier[-1]):
            raise ParameterChangePending(
                f"election `{earlier[-1].id}` changes {name}", field="asset.data.parameter",
                expected="a vote in that election, or a proposal once it is settled")

    def check_vote(self, ledger):
        """Refuse a VOTE in this election before it is committed (upstream's
        Election.process_block skips votes whose election is not committed yet, and later
        blocks count them as already cast, so they would never conclude it), and once it
        has concluded or expired."""
        if ledger.in_this_block(self.id):
            raise ElectionNotCommitted(f"election `{self.id}` is not committed yet",
                                       field="asset.id", expected="a vote once the election is in a block")
        if ledger.parameter_change(self.id) is not None:
            raise ElectionConcluded(f"election `{self.id}` has concluded", field="asset.id")
        height = ledger.height()
        if height >= self.proposal["activation_height"]:
            raise ElectionExpired(f"election `{self.id}` needed its votes before height "
                                  f"{self.proposal['activation_height']}; this is {height}",
                                  field="asset.id")

    # -- BigchainDB's election hooks (Election.process_block and rollback)

    def votes(self, ledger):
        """The committed votes sent to this election (the node files them by election)."""
        votes = ledger.asset_transactions(self.id)[1:]
        return Election.count_votes(self.to_public_key(self.id), votes)

    def total_votes(self):
        return sum(output.amount for output in self.outputs)

    def has_concluded(self, bigchain, current_votes=()):
        """Upstream's rule (the validator set has not changed since the proposal; this
        block's votes take the committed ones across the threshold) with the threshold
        counted in integers. Votes at or after the activation height are refused, so an
        election only concludes below it."""
        ledger = LedgerView(bigchain)
        if ledger.validators_changed_since(self.id):
            return False
        committed = self.votes(ledger)
        now = committed + Election.count_votes(self.to_public_key(self.id), current_votes)
        return not passes(committed, self.total_votes()) and passes(now, self.total_votes())

    def on_approval(self, bigchain, new_height):
        proposal = self.proposal
        connection = bigchain.connection
        connection.run(connection.collection(PARAMETER_CHANGES).replace_one(
            {"_id": self.id},
            {"_id": self.id, "parameter": proposal["parameter"], "value": proposal["value"],
             "activation_height": proposal["activation_height"], "election": self.id,
             "concluded_height": new_height}, upsert=True))
        return None  # no validator update

    def on_rollback(self, bigchain, new_height):
        connection = bigchain.connection
        connection.run(connection.collection(PARAMETER_CHANGES).delete_one(
            {"_id": self.id, "concluded_height": new_height}))


def is_pending(ledger, election):
    """True while `election` may still change its parameter later than now: it is open, or
    has passed and is not in force yet. One that expired, or can no longer conclude because
    the validator set changed, is not."""
    if election.proposal["activation_height"] <= ledger.height():
        return False
    if ledger.in_this_block(election.id) or ledger.parameter_change(election.id):
        return True
    return not ledger.validators_changed_since(election.id)


def status(ledger, election, height):
    """What `election` is at `height`: ongoing, concluded (passed, not in force yet),
    active, expired or inconclusive (the validator set changed before it concluded)."""
    change = ledger.parameter_change(election.id)
    activation = election.proposal["activation_height"]
    if change is not None:
        return ACTIVE if activation <= height else CONCLUDED
    if activation <= height:
        return EXPIRED
    return INCONCLUSIVE if ledger.validators_changed_since(election.id) else ONGOING
