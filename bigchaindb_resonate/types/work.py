"""WORK: registers a musical work (COALA IP `MusicComposition`): what was composed and by
whom, before any recording or release of it. A work is abstract, so it never names what it
is a manifestation of; manifestations name their work (links point backwards only).

Spec: docs/spec/work.md. The registrant's keys hold the record.

The module-level helpers serve every record that carries an identifier and names parties;
MANIFESTATION uses them too.
"""
from bigchaindb_resonate.errors import IdentifierTaken
from bigchaindb_resonate.operations import work as client_part
from bigchaindb_resonate.types.base import (
    ResonateRecord, check_canonical, check_record_shape, client_builder,
)
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.validators.identifiers import normalise_iswc
from bigchaindb_resonate.validators.terms import check_date


def check_date_published(data):
    if "datePublished" in data:
        check_date(data["datePublished"], "asset.data.datePublished")


def check_parties(ledger, data, keys):
    """Every id listed under each of `keys` names a PARTY record."""
    for key in keys:
        for index, party_id in enumerate(data.get(key, ())):
            ledger.linked(party_id, (Party.OPERATION,), f"asset.data.{key}[{index}]")


def check_unclaimed(ledger, record, key):
    """No other record of `record`'s operation, committed or earlier in the block, holds
    the identifier under `key`."""
    data = record.asset["data"]
    if key not in data:
        return
    others = [tx.id for tx in ledger.find_records(record.operation, key, data[key])
              if tx.id != record.id]
    if others:
        raise IdentifierTaken(f"`{data[key]}` is registered to {record.operation} `{others[0]}`",
                              field=f"asset.data.{key}", expected="an identifier no record holds")


class Work(ResonateRecord):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_FIELDS = ("iswcCode",)

    @classmethod
    def check_stateless(cls, tx):
        check_record_shape(tx)
        data = tx["asset"]["data"]
        check_canonical(data, "iswcCode", normalise_iswc)
        check_date_published(data)

    def check_stateful(self, ledger):
        check_parties(ledger, self.asset["data"], ("composer", "lyricist"))
        check_unclaimed(ledger, self, "iswcCode")

    build = client_builder(client_part.build)
