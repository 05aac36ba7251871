"""Story builders shared by the tests that play through a real network: the role keys a
testnet writes, a recording released for streaming (registered through different nodes),
and the catalogue a listener plays from."""
import json

from bigchaindb.common.crypto import CryptoKeypair, generate_key_pair

from bigchaindb_resonate.client import TransactionRefused

from .conftest import wait_everywhere

LICENCE = {"usageType": ["on_demand_stream"], "territory": {"include": ["Worldwide"]},
           "validFrom": "2020-01-01", "exclusive": False,
           "license": {"uri": "https://resonate.coop/licences/stream-v1.pdf", "hash": "5e" * 32}}


def role_keypair(testnet, role):
    document = json.loads((testnet.directory / "keys" / f"{role}.json").read_text())
    return CryptoKeypair(document["private_key"], document["public_key"])


def validator(testnet, name):
    """The key pair node `name` votes and proposes with."""
    from bigchaindb_resonate.operations.parameter_election import validator_keypair

    return validator_keypair(testnet.validator_key(name).path)


def play_across_a_change(client, keypair, catalogue):
    """The listener `keypair` plays the catalogue's track. Built under the rules in force
    at the next block, a play may land in the block from which others are (a new share
    or rule version): refused PLAY_WRONG_OUTPUTS then, and only then, it is built again."""
    args = (keypair, catalogue["track"]["id"], catalogue["licence"]["id"], "GB")
    try:
        return client.play(*args)
    except TransactionRefused as refused:
        assert refused.code == "PLAY_WRONG_OUTPUTS", refused
        return client.play(*args)


def release(clients, artist, platform, group, name, payees, **recording):
    """The artist's group, a recording of its new work and the recording's Copyright, the
    platform's streaming licence and the split `payees` ((public key, basis points) pairs);
    `recording` adds fields to the recording (an `isrcCode`)."""
    band = clients[0].register_party(artist, {"@type": "MusicGroup", "name": group})
    work = clients[1].register_work(artist, {"@type": "MusicComposition", "name": name,
                                             "composer": [band["id"]]})
    track = clients[2].register_manifestation(artist, {
        "@type": "MusicRecording", "name": name, "recordingOf": work["id"],
        "byArtist": [band["id"]], **recording})
    copyright = clients[3].register_copyright(artist, {
        "rightsOf": track["id"], "territory": {"include": ["Worldwide"]}, "validFrom": "2020-01-01"})
    licence = clients[0].derive_right(artist, {"source": copyright["id"], **LICENCE},
                                      licensees=[(platform.public_key, 100)])
    split = clients[1].set_split(artist, track["id"], payees)
    wait_everywhere(clients, split["id"])
    return {"track": track, "copyright": copyright, "licence": licence, "split": split}


def catalogue(testnet, clients):
    """Everything a play needs: a recording released with a 70/30 split between its artist
    and producer, and the credit token."""
    treasury, platform = role_keypair(testnet, "treasury"), role_keypair(testnet, "platform")
    artist, producer = generate_key_pair(), generate_key_pair()
    released = release(clients, artist, platform, "Kokoroko", "Abusey Junction",
                       [(artist.public_key, 7000), (producer.public_key, 3000)])
    credit = clients[2].issue_credit_token(treasury)
    wait_everywhere(clients, credit["id"])
    assert clients[3].network()["credit"] == credit["id"]
    return {"treasury": treasury, "platform": platform, "artist": artist, "producer": producer,
            **released}
