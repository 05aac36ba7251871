"""The artist and label dashboard: a page every node serves under
/api/v1/resonate/dashboard/ (page/: HTML, CSS and JavaScript shipped in the package, no
network access needed), and the two JSON reads it draws from.

`subject` resolves whom the page is about, once per page load: a PARTY (an artist, a
band, a label) or a bare public key, its keys, and the tracks it is credited on or paid
by. `figures` is what the page asks again each time a block commits: everything it
draws for those tracks and keys, from the report totals kept at commit
(reports/totals.py) and keyed registry reads, so its cost follows the number of tracks,
keys and days asked about, never the ledger's size (docs/storage.md).

A label's view is the same page: a label party's tracks are those whose splits pay a key
holding its PARTY record, grouped by their artists (`byArtist`).
"""
import datetime

from bigchaindb_resonate import money, reads
from bigchaindb_resonate.host import documents_by_key
from bigchaindb_resonate.ledger import (
    CHAIN_HEAD, LATEST_BLOCK_TIME, OWNER_INDEX, LedgerView, entry_id, owner_key)
from bigchaindb_resonate.reports import totals
from bigchaindb_resonate.reports.compute import Scope, StoreLedger, party_name
from bigchaindb_resonate.types.copyright import Copyright
from bigchaindb_resonate.types.manifestation import Manifestation
from bigchaindb_resonate.types.party import Party
from bigchaindb_resonate.types.split import Split, payees_of, split_in_force

MAX_TRACKS = 100
MAX_KEYS = 20
DEFAULT_DAYS = 30
MAX_DAYS = 92
MAX_DAY_LOOKUPS = 2000  # tracks x days, as the report summary allows
# A payee key's name: the first PARTY among the first transactions that named the key.
# A party registers before it is paid, and a key paid by every play has a long list.
FIRST_TRANSACTIONS_NAMING = 20


class DashboardError(ValueError):
    """A question the dashboard's reads cannot answer as asked (a bad query)."""


class SubjectNotFound(LookupError):
    """The party or track asked about is not on the ledger."""


def _keys_of(holders):
    return sorted({key for holder in holders for key in holder["public_keys"]})


def _party(bigchain, party_id):
    """A PARTY record's data and the keys holding it, or None."""
    found = reads.record(bigchain, party_id)
    if found is None or found["operation"] != Party.OPERATION:
        return None
    return found["data"], _keys_of(found["holders"])


def party_of_key(conn, key):
    """The name of the first PARTY record among the first FIRST_TRANSACTIONS_NAMING
    committed transactions with an output naming `key` (the owner index, in commit
    order), or None: a bounded number of lookups by key, however often the key was paid."""
    def entry(document_id):  # a fresh query each time: BigchainDB's collection is lazy
        return conn.run(conn.collection(OWNER_INDEX).find_one({"_id": document_id}))

    head = entry(owner_key(key))
    for number in range(min(head["count"] if head else 0, FIRST_TRANSACTIONS_NAMING)):
        txid = entry(entry_id(owner_key(key), number))["id"]
        if reads.operations_of(conn, [txid]).get(txid) == Party.OPERATION:
            return party_name(documents_by_key(conn, "assets", [txid])[0]["data"])
    return None


def tracks_paying(conn, keys):
    """The MANIFESTATIONs whose splits (their own or a Copyright's in them) pay any of
    `keys`, in force now or earlier. One pass over `assets`, as the report's party scope
    makes; then lookups by key."""
    wanted = set(keys)
    if not wanted:
        return []
    found = reads.find_documents(conn, "assets", {"data.@type": "RoyaltySplit"},
                                 ["id", "data.subject", "data.payees"])
    paying = [doc for doc in found
              if wanted & {payee.get("publicKey") for payee in doc["data"].get("payees", ())}]
    operations = reads.operations_of(conn, [doc["id"] for doc in paying])
    subjects = sorted({doc["data"]["subject"] for doc in paying
                       if operations.get(doc["id"]) == Split.OPERATION})
    kinds = reads.operations_of(conn, subjects)
    tracks = {subject for subject in subjects if kinds.get(subject) == Manifestation.OPERATION}
    copyrights = [subject for subject in subjects if kinds.get(subject) == Copyright.OPERATION]
    tracks.update(doc["data"]["rightsOf"] for doc in documents_by_key(conn, "assets", copyrights))
    return sorted(track for track, operation in reads.operations_of(conn, sorted(tracks)).items()
                  if operation == Manifestation.OPERATION)


def subject(bigchain, party=None, key=None):
    """Whom a dashboard is about: `party` (a PARTY id) or `key` (a public key). Its name,
    kind, roles, keys, and the tracks it is credited on (`byArtist`, or `composer` or
    `lyricist` of their work, as the report's party scope) or paid by."""
    if (party is None) == (key is None):
        raise DashboardError("ask for one of party=<PARTY id> or key=<public key>")
    conn = bigchain.connection
    if key is not None:
        tracks = tracks_paying(conn, [key])
        return {"kind": "key", "id": key, "name": None, "type": None, "roles": [],
                "keys": [key], "tracks": tracks, "names": names_of(bigchain, tracks)}
    found = _party(bigchain, party)
    if found is None:
        raise SubjectNotFound(f"no PARTY {party}")
    data, keys = found
    credited = StoreLedger(bigchain).scope_tracks(Scope("party", party))
    tracks = sorted(set(credited) | set(tracks_paying(conn, keys)))
    return {"kind": "party", "id": party, "name": party_name(data), "type": data["@type"],
            "roles": data.get("roles", []), "keys": keys, "tracks": tracks,
            "names": names_of(bigchain, tracks)}


def names_of(bigchain, tracks):
    """{public key: name} for the keys holding a PARTY the `tracks` credit (`byArtist`) and
    for the payees of their splits in force that registered a PARTY (party_of_key)."""
    conn, ledger = bigchain.connection, LedgerView(bigchain)
    artists = sorted({artist for doc in documents_by_key(conn, "assets", tracks)
                      for artist in doc["data"].get("byArtist", ())})
    names = {}
    for artist in artists:
        found = _party(bigchain, artist)
        if found is not None:
            names.update(dict.fromkeys(found[1], party_name(found[0])))
    payees = sorted({payee for split in (split_in_force(ledger, track) for track in tracks)
                     if split for payee, _ in payees_of(split)} - set(names))
    names.update({key: name for key, name in ((key, party_of_key(conn, key)) for key in payees)
                  if name})
    return names


def _tip(conn):
    """The latest block's height and consensus time, and its UTC date."""
    latest = conn.run(conn.collection(CHAIN_HEAD).find_one({"_id": LATEST_BLOCK_TIME})) or {}
    time = latest.get("time")
    return {"height": latest.get("height", 0), "time": time,
            "date": None if time is None else totals.date_of(time)}


def _dates_until(last, days):
    end = datetime.date.fromisoformat(last)
    return [(end - datetime.timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1)]


def _figures(document, names):
    return {name: (document or {}).get(name, 0) for name in names}


def figures(bigchain, tracks, keys, days=DEFAULT_DAYS):
    """What a dashboard draws for `tracks` (MANIFESTATION ids) and the subject's `keys`:
    per track its name, artists, play figures, listeners' progress, the split in force
    with what each of its payees (and each of `keys`) earned by the track; per artist
    the sums of its tracks; per consensus day of the last `days` up to the latest block
    the tracks' play figures; per key what it was paid in all; the payout rate and
    currency and the co-op's key and share."""
    if not 1 <= len(tracks) <= MAX_TRACKS or len(set(tracks)) != len(tracks):
        raise DashboardError(f"ask for 1 to {MAX_TRACKS} distinct tracks (track=...&track=...)")
    if len(keys) > MAX_KEYS:
        raise DashboardError(f"ask for at most {MAX_KEYS} keys")
    if not 1 <= days <= MAX_DAYS or len(tracks) * days > MAX_DAY_LOOKUPS:
        raise DashboardError(f"days must be from 1 to {MAX_DAYS}, and at most "
                             f"{MAX_DAY_LOOKUPS // len(tracks)} for {len(tracks)} tracks")
    conn = bigchain.connection
    operations = reads.operations_of(conn, tracks)
    missing = [track for track in tracks if operations.get(track) != Manifestation.OPERATION]
    if missing:
        raise SubjectNotFound(f"no MANIFESTATION {missing[0]}")
    ledger = LedgerView(bigchain)
    parameters = ledger.network_parameters() or {}
    platform, currency = parameters.get("platform_key"), parameters.get("payout_currency")
    data = {doc["id"]: doc["data"] for doc in documents_by_key(conn, "assets", tracks)}
    splits = {track: split_in_force(ledger, track) for track in tracks}
    shares = {track: payees_of(split) if split else [] for track, split in splits.items()}
    artists = sorted({artist for track in tracks for artist in data[track].get("byArtist", ())})
    artist_names = {doc["id"]: party_name(doc["data"])
                    for doc in documents_by_key(conn, "assets", artists)}
    tip = _tip(conn)
    dates = _dates_until(tip["date"], days) if tip["date"] else []
    earners = {track: sorted({*(payee for payee, _ in shares[track]), *keys,
                              *([platform] if platform else [])})
               for track in tracks}
    wanted = [f"payee|{key}" for key in keys]
    for track in tracks:
        wanted += [f"track|{track}", *(f"track-day|{track}|{date}" for date in dates)]
    stored = totals.read(conn, wanted)

    rows = []
    for track in tracks:
        split = splits[track]
        document = stored.get(f"track|{track}", {})
        earned = {key: document.get(totals.track_payee(key), 0) for key in earners[track]}
        rows.append({
            "id": track, "name": data[track]["name"], "isrc": data[track].get("isrcCode"),
            "artists": data[track].get("byArtist", []),
            **_figures(document, totals.PLAY_FIGURES),
            "reached": list(_figures(document, totals.PROGRESS_FIGURES).values()),
            "split": split and {"id": split.id, "payees": [
                {"public_key": payee, "share_bp": share} for payee, share in shares[track]]},
            "earned": earned,
            "days": [_figures(stored.get(f"track-day|{track}|{date}"), totals.PLAY_FIGURES)
                     for date in dates]})

    def summed(chosen):
        return {**{name: sum(row[name] for row in chosen) for name in totals.PLAY_FIGURES},
                "earned": {key: sum(row["earned"].get(key, 0) for row in chosen) for key in keys}}

    return {
        "at": tip,
        "money": {"currency": currency, "rate": parameters.get("payout_rate"),
                  "exponent": money.exponent(currency) if currency else None},
        "coop": {"public_key": platform, "share_bp": parameters.get("coop_share_bp")},
        "tracks": [{name: value for name, value in row.items() if name != "days"} for row in rows],
        "artists": [{"id": artist, "name": artist_names.get(artist),
                     "tracks": [row["id"] for row in rows if artist in row["artists"]],
                     **summed([row for row in rows if artist in row["artists"]])}
                    for artist in artists],
        "days": [{"date": date, **{name: sum(row["days"][index][name] for row in rows)
                                   for name in totals.PLAY_FIGURES}}
                 for index, date in enumerate(dates)],
        "keys": [{"public_key": key, **_figures(stored.get(f"payee|{key}"), totals.PAYEE_FIGURES)}
                 for key in keys],
        "totals": summed(rows),
    }
