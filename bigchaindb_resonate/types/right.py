"""RIGHT: a licence derived from a Copyright or from a parent Right, held in 100 shares.

Spec: docs/spec/right.md. Only the current holders of the source derive, while the source
is in force, and a derived Right never carries more than its source: territory, period,
usage types, number of uses and exclusivity are all bounded by it and by its siblings.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import right as client_part
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.copyright import terms_overlap
from bigchaindb_resonate.types.shares import SharedRecord, holder_keys, in_force
from bigchaindb_resonate.validators.terms import USAGE_TYPES, period_within, territory_within

SOURCES = ("COPYRIGHT", "RIGHT")
# COALA IP's current name for the link first; older documents call it `allowedBy`.
SOURCE_FIELDS = ("source", "allowedBy")


class RightNotHolder(ResonateValidationError):
    code = "RIGHT_NOT_HOLDER"
    meaning = "a Right must be signed by exactly the current holders of its source"


class RightSourceNotInForce(ResonateValidationError):
    code = "RIGHT_SOURCE_NOT_IN_FORCE"
    meaning = "the source is not valid on the consensus date (not yet started, or expired)"


class RightExceedsTerritory(ResonateValidationError):
    code = "RIGHT_EXCEEDS_TERRITORY"
    meaning = "the territory reaches beyond the source's territory"


class RightExceedsPeriod(ResonateValidationError):
    code = "RIGHT_EXCEEDS_PERIOD"
    meaning = "the validity period reaches beyond the source's period"


class RightExceedsUsage(ResonateValidationError):
    code = "RIGHT_EXCEEDS_USAGE"
    meaning = "a usage type is not allowed by the source Right"


class RightExceedsUses(ResonateValidationError):
    code = "RIGHT_EXCEEDS_USES"
    meaning = "the number of uses exceeds what remains of the source's uses"


class RightExclusivityConflict(ResonateValidationError):
    code = "RIGHT_EXCLUSIVITY_CONFLICT"
    meaning = ("an exclusive Right would overlap another Right from the same source in "
               "territory, usage and period")


def source_field(data):
    """The link property the record uses: `source`, or the older `allowedBy`."""
    return next(name for name in SOURCE_FIELDS if name in data)


def source_id(data):
    return data[source_field(data)]


def usages(data):
    """What a record allows: a Copyright allows every usage."""
    return frozenset(data.get("usageType", USAGE_TYPES))


def derived_rights(ledger, record_id):
    """The Rights derived from a record (by either link name), in commit order, then those
    earlier in the block."""
    return list(ledger.find_records("RIGHT", "source", record_id))


def remaining_uses(source_data, siblings):
    """Uses of a limited source not yet given to derived Rights; None when unlimited."""
    if "numberOfUses" not in source_data:
        return None
    return source_data["numberOfUses"] - sum(
        tx.asset["data"].get("numberOfUses", 0) for tx in siblings)


def exclusivity_conflicts(first, second):
    return ((first["exclusive"] or second["exclusive"]) and terms_overlap(first, second)
            and bool(usages(first) & usages(second)))


class Right(SharedRecord):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_FIELDS = ("source",)
    FIELD_ALIASES = {"allowedBy": "source"}
    build = client_builder(client_part.build)

    def check_stateful(self, ledger):
        data = self.asset["data"]
        field = f"asset.data.{source_field(data)}"
        source = ledger.linked(source_id(data), SOURCES, field).asset["data"]
        holders = holder_keys(ledger, source_id(data))
        if sorted(set(self.inputs[0].owners_before)) != holders:
            raise RightNotHolder(field="inputs[0].owners_before", expected=f"exactly {holders}")
        if not in_force(source, ledger):
            raise RightSourceNotInForce(f"the source is valid {_period_text(source)}",
                                        field=field, expected=f"in force on {ledger.consensus_date()}")
        if not territory_within(data["territory"], source["territory"]):
            raise RightExceedsTerritory(field="asset.data.territory",
                                        expected=f"within {source['territory']}")
        if not period_within(data, source):
            starts_too_early = data["validFrom"] < source["validFrom"]
            raise RightExceedsPeriod(f"the Right is valid {_period_text(data)}",
                                     field="asset.data." + ("validFrom" if starts_too_early else "validThrough"),
                                     expected=f"within {_period_text(source)}")
        extra = sorted(usages(data) - usages(source))
        if extra:
            raise RightExceedsUsage(f"{extra} not in the source", field="asset.data.usageType",
                                    expected=f"a subset of {sorted(usages(source))}")
        siblings = derived_rights(ledger, source_id(data))
        self._check_uses(data, remaining_uses(source, siblings))
        for sibling in siblings:
            if exclusivity_conflicts(data, sibling.asset["data"]):
                raise RightExclusivityConflict(f"overlaps Right `{sibling.id}`",
                                               field="asset.data.exclusive",
                                               expected="no overlap with an exclusive sibling")

    @staticmethod
    def _check_uses(data, remaining):
        if remaining is None:
            return
        if "numberOfUses" not in data:
            raise RightExceedsUses("unlimited uses from a limited source",
                                   field="asset.data.numberOfUses", expected=f"at most {remaining}")
        if data["numberOfUses"] > remaining:
            raise RightExceedsUses(f"{data['numberOfUses']} uses", field="asset.data.numberOfUses",
                                   expected=f"at most {remaining}")


def _period_text(record):
    return f"from {record['validFrom']} through {record.get('validThrough', 'no end')}"
