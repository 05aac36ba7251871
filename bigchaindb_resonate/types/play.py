"""PLAY: a listener streams a track and pays for it in credits, stream to own.

Spec: docs/spec/play.md. TRANSFER-like on the network's CREDIT asset: the host checks that
the inputs exist, are unspent (also within the block), are signed and balance the outputs;
this module adds that the listener pays exactly the price curve for their count of earlier
plays, to exactly the payees of the split in force and the co-op (validators/royalties.py),
under a streaming licence the co-op holds. How the price divides is the rule version's in
force at the play's height (docs/spec/rule_versions.md). `metadata` is the Play record.

Counting earlier plays is also what stops a replay or two conflicting plays: the second
one's `playNumber` is no longer the count.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import play as client_part
from bigchaindb_resonate.rule_versions import check_known
from bigchaindb_resonate.types.base import ResonateTransfer, client_builder
from bigchaindb_resonate.types.channels import channel_id_of, listener_credits, live_channel
from bigchaindb_resonate.types.copyright import Copyright
from bigchaindb_resonate.types.credit import check_credit_asset, parameters_in_force
from bigchaindb_resonate.types.manifestation import Manifestation, work_of
from bigchaindb_resonate.types.right import SOURCES, Right, source_field, source_id, usages
from bigchaindb_resonate.types.shares import holder_keys, in_force
from bigchaindb_resonate.types.split import payees_of, split_in_force
from bigchaindb_resonate.validators.royalties import play_outputs, price
from bigchaindb_resonate.validators.terms import COUNTRY_CODES, covers_country

STREAMING = "on_demand_stream"


class PlayUnknownTerritory(ResonateValidationError):
    code = "PLAY_UNKNOWN_TERRITORY"
    meaning = "the listener's territory must be an ISO 3166-1 alpha-2 country code"


class PlayWrongPrice(ResonateValidationError):
    code = "PLAY_WRONG_PRICE"
    meaning = "the price is not the curve's for the play number (2^(n+1) tokens for n = 0..8, then 0)"


class PlayNotCredit(ResonateValidationError):
    code = "PLAY_NOT_CREDIT"
    meaning = "a play spends the network's credit token and nothing else"


class PlayNotListener(ResonateValidationError):
    code = "PLAY_NOT_LISTENER"
    meaning = "every input must spend a credit output held by the listener alone"


class PlayNumberMismatch(ResonateValidationError):
    code = "PLAY_NUMBER_MISMATCH"
    meaning = ("the play number is not the count of the listener's earlier plays of the track "
               "(a replay, or a conflicting play, committed or earlier in the block)")


class PlayNoSplit(ResonateValidationError):
    code = "PLAY_NO_SPLIT"
    meaning = "a paid play needs a royalty split in force for the track"


class PlayWrongSplit(ResonateValidationError):
    code = "PLAY_WRONG_SPLIT"
    meaning = "a paid play names the split in force for the track; a free play names none"


class PlayRightNotPlatform(ResonateValidationError):
    code = "PLAY_RIGHT_NOT_PLATFORM"
    meaning = "the licence is not held (even in part) by the co-op's platform key"


class PlayRightNotStreaming(ResonateValidationError):
    code = "PLAY_RIGHT_NOT_STREAMING"
    meaning = "the licence does not allow on-demand streaming"


class PlayRightTerritory(ResonateValidationError):
    code = "PLAY_RIGHT_TERRITORY"
    meaning = "the licence does not cover the listener's territory"


class PlayRightNotInForce(ResonateValidationError):
    code = "PLAY_RIGHT_NOT_IN_FORCE"
    meaning = "the licence is not valid on the consensus date"


class PlayRightOtherTrack(ResonateValidationError):
    code = "PLAY_RIGHT_OTHER_TRACK"
    meaning = "the licence does not derive from a Copyright in the track or the track's work"


class PlayListenerHasChannel(ResonateValidationError):
    code = "PLAY_LISTENER_HAS_CHANNEL"
    meaning = ("the listener has an open or closing payment channel: their plays are paid "
               "through it until it is refunded (so no play is paid twice)")


class PlayWrongOutputs(ResonateValidationError):
    code = "PLAY_WRONG_OUTPUTS"
    meaning = ("the outputs are not exactly the payees' shares, the co-op's share and the "
               "listener's change, in that order")


def root_copyright(ledger, right):
    """The Copyright at the end of a Right's chain of sources."""
    record = right
    while record.operation != Copyright.OPERATION:
        data = record.asset["data"]
        record = ledger.linked(source_id(data), SOURCES, f"asset.data.{source_field(data)}")
    return record


def check_licence(ledger, play, track, platform_key, field="metadata"):
    """The play's `right` lets the co-op stream the track where and when the play happens.
    `play` has `right` and `territory` (a PLAY's metadata, or a channel's voucher at `field`)."""
    right = ledger.linked(play["right"], (Right.OPERATION,), f"{field}.right")
    data = right.asset["data"]
    if platform_key not in holder_keys(ledger, right.id):
        raise PlayRightNotPlatform(field=f"{field}.right", expected=f"held by `{platform_key}`")
    if STREAMING not in usages(data):
        raise PlayRightNotStreaming(f"usage types {sorted(usages(data))}", field=f"{field}.right",
                                    expected=f"usageType with {STREAMING}")
    if not covers_country(data["territory"], play["territory"]):
        raise PlayRightTerritory(f"{play['territory']} is not in {data['territory']}",
                                 field=f"{field}.territory", expected="a licensed country")
    if not in_force(data, ledger):
        raise PlayRightNotInForce(field=f"{field}.right",
                                  expected=f"in force on {ledger.consensus_date()}")
    subject = root_copyright(ledger, right).asset["data"]["rightsOf"]
    if subject not in (track.id, work_of(track.asset["data"])):
        raise PlayRightOtherTrack(f"its Copyright covers `{subject}`", field=f"{field}.right",
                                  expected="a Right from a Copyright in the track or its work")


def split_to_pay(ledger, track_id, field):
    """The split in force that pays a paid play of the track."""
    split = split_in_force(ledger, track_id)
    if split is None:
        raise PlayNoSplit(field=field, expected="a SPLIT of the track or its Copyright")
    return split


def count_earlier_plays(ledger, listener, track_id):
    """How many plays of the track the listener made, committed or earlier in the block,
    paid by PLAY or through a payment channel (a settlement is filed under the same key
    once per play it pays, types/channel_settle.py): a count the rule index keeps, never
    a list."""
    return len(ledger.find_by_metadata(Play.OPERATION, {"listener": listener, "track": track_id}))


class Play(ResonateTransfer):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_METADATA = (("listener", "track"),)

    @classmethod
    def check_stateless(cls, tx):
        play = tx["metadata"]
        if play["territory"] not in COUNTRY_CODES:
            raise PlayUnknownTerritory(f"`{play['territory']}`", field="metadata.territory",
                                       expected="an ISO 3166-1 alpha-2 code")
        expected = price(play["playNumber"])
        if play["price"] != expected:
            raise PlayWrongPrice(f"{play['price']} tokens for play number {play['playNumber']}",
                                 field="metadata.price", expected=str(expected))

    def check_stateful(self, ledger):
        play = self.metadata
        parameters = parameters_in_force(ledger)
        check_credit_asset(self, ledger, PlayNotCredit)
        spent = listener_credits(ledger, self.inputs, play["listener"], PlayNotListener)
        channel = live_channel(ledger, play["listener"])
        if channel is not None:
            raise PlayListenerHasChannel(f"channel `{channel_id_of(channel, play['listener'])}`", field="metadata.listener",
                                         expected="plays paid through that channel until it is refunded")
        track = ledger.linked(play["track"], (Manifestation.OPERATION,), "metadata.track")
        count = count_earlier_plays(ledger, play["listener"], track.id)
        if play["playNumber"] != count:
            raise PlayNumberMismatch(f"play number {play['playNumber']}", field="metadata.playNumber",
                                     expected=str(count))
        payees = self._payees(ledger, play)
        check_licence(ledger, play, track, parameters["platform_key"])
        check_known(parameters["rules_version"])  # the payout rule below is that version's
        expected = play_outputs(play["price"], payees, parameters, play["listener"], spent)
        actual = [(output.public_keys, output.amount) for output in self.outputs]
        if actual != expected:
            raise PlayWrongOutputs(field="outputs", expected=str(expected))

    @staticmethod
    def _payees(ledger, play):
        """The payees a play pays: the split in force's, or none for a free play."""
        if play["price"] == 0:
            if "split" in play:
                raise PlayWrongSplit("a free play pays no split", field="metadata.split",
                                     expected="no split")
            return []
        split = split_to_pay(ledger, play["track"], "metadata.track")
        if play.get("split") != split.id:
            raise PlayWrongSplit(f"`{play.get('split')}`", field="metadata.split", expected=split.id)
        return payees_of(split)

    pay = client_builder(client_part.pay)
