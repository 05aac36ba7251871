"""COPYRIGHT: the copyright in a Work or Manifestation, held in 100 shares.

Spec: docs/spec/copyright.md. Only the registrant(s) of the subject record may register
it, and one subject has at most one Copyright for any country on any day.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import copyright as client_part
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.shares import SharedRecord
from bigchaindb_resonate.validators.terms import periods_overlap, territories_overlap

SUBJECTS = ("MANIFESTATION", "WORK")


class CopyrightNotRegistrant(ResonateValidationError):
    code = "COPYRIGHT_NOT_REGISTRANT"
    meaning = "a Copyright must be signed by exactly the registrant(s) of the record it covers"


class CopyrightConflict(ResonateValidationError):
    code = "COPYRIGHT_CONFLICT"
    meaning = "another Copyright already covers the same record in an overlapping territory and period"


def terms_overlap(first, second):
    """Two records' terms share at least one country on at least one day."""
    return (territories_overlap(first["territory"], second["territory"])
            and periods_overlap(first, second))


class Copyright(SharedRecord):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_FIELDS = ("rightsOf",)
    build = client_builder(client_part.build)

    def check_stateful(self, ledger):
        data = self.asset["data"]
        subject = ledger.linked(data["rightsOf"], SUBJECTS, "asset.data.rightsOf")
        registrants = sorted(subject.inputs[0].owners_before)
        if sorted(self.inputs[0].owners_before) != registrants:
            raise CopyrightNotRegistrant(field="inputs[0].owners_before",
                                         expected=f"exactly {registrants}")
        # Checked for every registrant, the same one included: a registrant who assigned a
        # Copyright away must not be able to issue the same shares a second time.
        for other in ledger.find_records(self.OPERATION, "rightsOf", data["rightsOf"]):
            if terms_overlap(data, other.asset["data"]):
                raise CopyrightConflict(f"Copyright `{other.id}` covers the same record",
                                        field="asset.data.territory",
                                        expected="a territory or period disjoint from it")
