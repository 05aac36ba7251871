"""CHANNEL_SETTLE_BATCH: pays the next vouchers of many channels in one transaction, each
channel exactly as a CHANNEL_SETTLE of it would.

Spec: docs/spec/channel_settle_batch.md. Input i spends the channel output of the i-th
channel of `metadata.channels`, output i is that channel's output after, then the pooled
payouts of every voucher of every channel. Each channel's vouchers are checked by the rules
CHANNEL_SETTLE applies (`settle_channel`, types/channel_settle.py) on the whole vouchers
its compact entry stands for (operations/channel_settle_batch.whole_vouchers); records,
counts, licences and splits are read once per batch. It is filed as each channel's latest
transaction, and under each voucher's play count key, as a settlement is. It is valid from
rule version 3 on (rule_versions.BATCHED_SETTLEMENTS): a node of the release before it
refuses it, so an upgraded one does too until the network votes that version in.
"""
from bigchaindb.common.exceptions import DoubleSpend

from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import channel_settle_batch as client_part
from bigchaindb_resonate.operations.channels import REFUND, SPENDS_CHANNEL_OUTPUT
from bigchaindb_resonate.rule_versions import BATCHED_SETTLEMENTS
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.channel_settle import (
    ChannelDoubleSettlement, SettlementReads, check_voucher_terms, play_key, settle_channel,
)
from bigchaindb_resonate.types.channels import (
    ChannelTransaction, ChannelWrongInput, channel_key, latest_of, listener_key, moved_on,
    spends_latest, state_of,
)
from bigchaindb_resonate.validators.royalties import pooled_payouts


class ChannelBatchUnknownTerms(ResonateValidationError):
    code = "CHANNEL_BATCH_UNKNOWN_TERMS"
    meaning = "a voucher's `terms` is not the index of an entry of the batch's `terms`"


class ChannelBatchRepeatedChannel(ResonateValidationError):
    code = "CHANNEL_BATCH_REPEATED_CHANNEL"
    meaning = "a batch settles each channel once: two entries name the same channel"


class ChannelBatchNotInForce(ResonateValidationError):
    code = "CHANNEL_BATCH_NOT_IN_FORCE"
    meaning = ("the rule version in force is below 3 (batched settlements): settle each "
               "channel with a CHANNEL_SETTLE until the network votes version 3 in")


def _inputs(tx):
    return tx["inputs"] if isinstance(tx, dict) else tx.inputs


class ChannelSettleBatch(ChannelTransaction):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA

    @classmethod
    def held_for(cls, tx, index):
        # Output i < the number of inputs (one per channel) is the i-th channel's output.
        return SPENDS_CHANNEL_OUTPUT if index < len(_inputs(tx)) else None

    @classmethod
    def extra_index_keys(cls, metadata):
        terms = metadata["terms"]
        return [key for entry in metadata["channels"] for key in (
            channel_key(entry["channel"]), listener_key(entry["listener"]),
            *(play_key(entry["listener"], terms[voucher["terms"]]["track"])
              for voucher in entry["vouchers"]))]

    @classmethod
    def check_stateless(cls, tx):
        # Cheap checks only (this also runs each time a stored batch is parsed); they make
        # whole_vouchers and the index keys well defined.
        metadata = tx["metadata"]
        terms = metadata["terms"]
        for index, entry in enumerate(terms):
            check_voucher_terms(entry, f"metadata.terms[{index}]")
        seen = set()
        for position, entry in enumerate(metadata["channels"]):
            field = f"metadata.channels[{position}]"
            if entry["channel"] in seen:
                raise ChannelBatchRepeatedChannel(f"channel `{entry['channel']}` again",
                                                  field=f"{field}.channel", expected="another channel")
            seen.add(entry["channel"])
            for index, voucher in enumerate(entry["vouchers"]):
                if voucher["terms"] >= len(terms):
                    raise ChannelBatchUnknownTerms(f"terms {voucher['terms']}",
                                                   field=f"{field}.vouchers[{index}].terms",
                                                   expected=f"below {len(terms)}")

    def check_channel(self, ledger, parameters):
        version = ledger.rules_version()
        if version < BATCHED_SETTLEMENTS:
            raise ChannelBatchNotInForce(f"rules version {version}", field="operation",
                                         expected=f"rules version {BATCHED_SETTLEMENTS} or later in force")
        entries = self.metadata["channels"]
        if len(self.inputs) != len(entries):
            raise ChannelWrongInput(f"{len(self.inputs)} inputs", field="inputs",
                                    expected=f"one per channel, {len(entries)}, in order")
        reads = SettlementReads(ledger, parameters)
        afters, plays = [], []
        for position, entry in enumerate(entries):
            where, channel = f"metadata.channels[{position}]", entry["channel"]
            before = state_of(self.state_before(ledger, channel, position, f"{where}.channel"), channel)
            after, paid = settle_channel(reads, before, client_part.whole_vouchers(self.metadata, entry),
                                         entry["count"], entry["root"], where)
            self.check_state(after, {**entry, "receiver": self.metadata["receiver"]}, where)
            afters.append(after)
            plays += paid
        reads.check_splits(self.metadata["splits"])
        self.check_outputs(afters, [([key], tokens) for key, tokens in pooled_payouts(plays, parameters)])

    def double_spent(self, ledger):
        for position, (entry, input_) in enumerate(zip(self.metadata["channels"], self.inputs)):
            where = f"metadata.channels[{position}].channel"
            latest = latest_of(ledger, entry["channel"], where)
            if not spends_latest(latest, entry["channel"], input_) or latest.operation == REFUND:
                return moved_on(latest, entry["channel"], position, where)
        return DoubleSpend(f"an input of `{self.id}` is spent already")

    def already_exists(self):
        return ChannelDoubleSettlement(f"batch settlement `{self.id}` is committed already",
                                       field="metadata.channels", expected="the channels' next vouchers")

    settle_batch = client_builder(client_part.settle_batch)
