"""MANIFESTATION: registers a perceivable form of a WORK (COALA IP `Manifestation`): a
recording, an album or a release. A `url` means the manifestation is digital.

It names its work by exactly one of three properties with the same meaning: `recordingOf`
(schema.org's, for a MusicRecording), `manifestationOf` (COALA IP's) or
`manifestationOfWork` (written by older COALA IP tools). Code reading a manifestation's
work calls `work_of` rather than picking a property.

Spec: docs/spec/manifestation.md. The registrant's keys hold the record.
"""
from bigchaindb_resonate.errors import ResonateValidationError
from bigchaindb_resonate.operations import manifestation as client_part
from bigchaindb_resonate.types.base import (
    ResonateRecord, check_canonical, check_record_shape, client_builder,
)
from bigchaindb_resonate.types.work import (
    Work, check_date_published, check_parties, check_unclaimed,
)
from bigchaindb_resonate.validators.identifiers import normalise_isrc

WORK_LINKS = ("recordingOf", "manifestationOf", "manifestationOfWork")
RECORDING = "MusicRecording"


class ManifestationWorkLink(ResonateValidationError):
    code = "MANIFESTATION_WORK_LINK"
    meaning = ("a manifestation names its work by exactly one of recordingOf, manifestationOf "
               "or manifestationOfWork, and only a MusicRecording by recordingOf")


class IsrcOnlyOnRecordings(ResonateValidationError):
    code = "MANIFESTATION_ISRC_NOT_RECORDING"
    meaning = "an ISRC identifies a recording: only a MusicRecording carries `isrcCode`"


def work_link(data):
    """The property by which a valid manifestation record (`asset.data`) names its work."""
    return next(key for key in WORK_LINKS if key in data)


def work_of(data):
    """The id of the WORK a valid manifestation record (`asset.data`) names."""
    return data[work_link(data)]


class Manifestation(ResonateRecord):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    # Every work link is filed under the one name, so the registry finds a Work's
    # recordings by key (reads.recordings), whichever property each uses.
    INDEXED_FIELDS = ("isrcCode", WORK_LINKS[-1])
    FIELD_ALIASES = {link: WORK_LINKS[-1] for link in WORK_LINKS[:-1]}

    @classmethod
    def check_stateless(cls, tx):
        check_record_shape(tx)
        data = tx["asset"]["data"]
        links = [key for key in WORK_LINKS if key in data]
        if len(links) != 1:
            raise ManifestationWorkLink(f"the record names {len(links)} work links",
                                        field="asset.data",
                                        expected="exactly one of " + ", ".join(WORK_LINKS))
        if links == ["recordingOf"] and data["@type"] != RECORDING:
            raise ManifestationWorkLink(f"a {data['@type']} is not a recording",
                                        field="asset.data.recordingOf", expected="manifestationOf")
        if "isrcCode" in data and data["@type"] != RECORDING:
            raise IsrcOnlyOnRecordings(f"a {data['@type']} has no ISRC", field="asset.data.isrcCode",
                                       expected=f"@type {RECORDING}")
        check_canonical(data, "isrcCode", normalise_isrc)
        check_date_published(data)

    def check_stateful(self, ledger):
        data = self.asset["data"]
        link = work_link(data)
        ledger.linked(data[link], (Work.OPERATION,), f"asset.data.{link}")
        check_parties(ledger, data, ("byArtist",))
        check_unclaimed(ledger, self, "isrcCode")

    build = client_builder(client_part.build)
