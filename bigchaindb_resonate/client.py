"""The Python client: build, sign and submit our transactions, learn why one was refused,
and read the registry back (the routes of docs/openapi.yaml).

    client = Client("http://127.0.0.1:9984")
    tx = client.register_party(keypair, {"@type": "MusicGroup", "name": "Kokoroko"})
    client.holders_of(tx["id"])

A refusal raises `TransactionRefused` carrying the network's stable `code`, the `field` at
fault and what was `expected`: the same body every node's HTTP API returns. Builders take
one key pair or a list of them (every one signs); they build through the type classes
(`types/`), so identifiers in display form are normalised before signing.
"""
import requests


class ClientError(RuntimeError):
    pass


class TransactionRefused(ClientError):
    def __init__(self, status, body):
        self.status = status
        self.body = body
        self.code = body.get("code")
        self.field = body.get("field")
        self.expected = body.get("expected")
        self.detail = body.get("detail") or body.get("message")
        super().__init__(f"{self.code or status}: {self.detail}"
                         + (f" (field {self.field})" if self.field else "")
                         + (f"; expected {self.expected}" if self.expected else ""))


class Client:
    def __init__(self, api_url, timeout=30):
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _request(self, method, path, **options):
        try:
            return self.session.request(method, f"{self.api_url}/api/v1/{path}",
                                        timeout=self.timeout, **options)
        except requests.ConnectionError as exc:
            raise ClientError(f"cannot reach the node at {self.api_url}: is it running? "
                              f"(`resonate testnet status` lists the nodes)") from exc

    def _get(self, path, **params):
        """The JSON answer, or None when the node finds nothing (404)."""
        response = self._request("GET", path, params=params)
        if response.status_code == 404:
            return None
        if response.status_code == 400:
            raise ClientError(f"bad query: {response.json().get('message')}")
        response.raise_for_status()
        return response.json()

    def submit(self, tx, mode="commit"):
        """Post a signed transaction dict; with mode=commit, return once it is in a block."""
        tx_dict = tx if isinstance(tx, dict) else tx.to_dict()
        response = self._request("POST", "transactions", params={"mode": mode}, json=tx_dict)
        if response.status_code != 202:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text}
            raise TransactionRefused(response.status_code, body)
        return tx_dict

    def get_transaction(self, txid):
        return self._get(f"transactions/{txid}")

    def transactions_for_asset(self, asset_id, operation=None):
        params = {"asset_id": asset_id}
        if operation:
            params["operation"] = operation
        return self._get("transactions", **params)

    def search_assets(self, text, limit=10):
        return self._get("assets", search=text, limit=limit)

    # -- writes

    def _register(self, operation, keypairs, data, mode, **options):
        signers = _keypairs(keypairs)
        tx = type_of(operation).build([keypair.public_key for keypair in signers], data, **options)
        return self.submit(tx.sign([keypair.private_key for keypair in signers]), mode)

    def register_party(self, keypairs, data, mode="commit"):
        """Register a PARTY held by its signer."""
        return self._register("PARTY", keypairs, data, mode)

    def register_work(self, keypairs, data, mode="commit"):
        """Register a WORK (MusicComposition); `composer` and `lyricist` list PARTY ids."""
        return self._register("WORK", keypairs, data, mode)

    def register_manifestation(self, keypairs, data, mode="commit"):
        """Register a MANIFESTATION naming its WORK by recordingOf, manifestationOf or
        manifestationOfWork."""
        return self._register("MANIFESTATION", keypairs, data, mode)

    def register_copyright(self, keypairs, data, holders=None, mode="commit"):
        """Register a COPYRIGHT in a WORK or MANIFESTATION, signed by that record's
        registrant(s); `holders` are (public key, shares) pairs summing to 100 (by default a
        sole signer holds all 100)."""
        return self._register("COPYRIGHT", keypairs, data, mode, holders=holders)

    def derive_right(self, keypairs, data, licensees=None, mode="commit"):
        """Derive a RIGHT (a licence) from the Copyright or Right named by `data["source"]`,
        signed by all of its current holders; `licensees` as (public key, shares) pairs."""
        return self._register("RIGHT", keypairs, data, mode, holders=licensees)

    def assign(self, keypair, asset_id, recipient, shares=None, action=None, mode="commit"):
        """RIGHTS_ASSIGNMENT: move `shares` (all, by default) of what `keypair` holds in a
        Copyright or Right to the public key `recipient`; the rest stays with the holder.
        `action` adds to the RightsTransferAction (e.g. `transferContract`)."""
        from bigchaindb.models import Transaction

        held = [holder for holder in (self.holders_of(asset_id) or {}).get("holders", [])
                if holder["public_keys"] == [keypair.public_key]]
        if not held:
            raise ClientError(f"{keypair.public_key} holds no shares of {asset_id}")
        # One assignment spends one holding output (RightsAssignment.assign).
        usable = [holder for holder in held if shares is None or holder["amount"] >= shares]
        if not usable or (shares is None and len(held) > 1):
            raise ClientError(f"{keypair.public_key} holds {[h['amount'] for h in held]} shares "
                              f"of {asset_id} in separate outputs; assign from one at a time")
        holding = Transaction.from_dict(self.get_transaction(usable[0]["transaction_id"]))
        tx = type_of("RIGHTS_ASSIGNMENT").assign(holding, keypair.public_key, recipient, shares,
                                                 action)
        return self.submit(tx.sign([keypair.private_key]), mode)

    # -- reads of the registry (docs/openapi.yaml); None when the node finds nothing

    def record(self, record_id):
        return self._get(f"resonate/records/{record_id}")

    def history(self, record_id):
        return self._get(f"resonate/records/{record_id}/history")

    def holders_of(self, record_id):
        return self._get(f"resonate/records/{record_id}/holders")

    def rights_of(self, record_id, whole_tree=False):
        return self._get(f"resonate/records/{record_id}/rights",
                         depth="all" if whole_tree else "1")

    def holdings(self, public_key):
        return self._get(f"resonate/holders/{public_key}")

    def recordings_of(self, work_id):
        return self._get(f"resonate/works/{work_id}/recordings")

    def lookup_iswc(self, iswc):
        return self._get("resonate/lookup", iswc=iswc)

    def lookup_isrc(self, isrc):
        return self._get("resonate/lookup", isrc=isrc)

    # -- credits, splits and stream to own (docs/spec/credit.md, split.md, play.md)

    def network(self):
        """The genesis parameters (treasury_keys, platform_key, coop_share_bp) and the
        credit token's id."""
        return self._get("resonate/network")

    def balance(self, public_key):
        """A key's credit tokens and the unspent outputs holding them; None before the
        credit token exists."""
        return self._get(f"resonate/credits/{public_key}")

    def credit_history(self, public_key):
        return self._get(f"resonate/credits/{public_key}/history")

    def splits_of(self, track_id):
        """A track's royalty splits in commit order and the one in force."""
        return self._get(f"resonate/tracks/{track_id}/splits")

    def owns(self, public_key, track_id):
        """How many plays of the track the key has made, and whether it owns it."""
        return self._get(f"resonate/tracks/{track_id}/listeners/{public_key}")

    def _credits(self, public_key, amount):
        """(transaction, output index) of the key's own credit outputs, largest first, until
        they hold `amount` tokens (at least one output)."""
        from bigchaindb.models import Transaction

        held = sorted((entry for entry in (self.balance(public_key) or {}).get("outputs", [])
                       if entry["public_keys"] == [public_key]),
                      key=lambda entry: (-entry["amount"], entry["transaction_id"], entry["output_index"]))
        chosen, total = [], 0
        for entry in held:
            if chosen and total >= amount:
                break
            chosen.append(entry)
            total += entry["amount"]
        if not chosen or total < amount:
            raise ClientError(f"{public_key} holds {total} credit tokens, needs {max(amount, 1)}")
        return [(Transaction.from_dict(self.get_transaction(entry["transaction_id"])),
                 entry["output_index"]) for entry in chosen]

    def issue_credit_token(self, treasury, mode="commit"):
        """CREDIT: the network's credit token, created once by a genesis treasury key pair,
        which then holds the whole supply."""
        return self._register("CREDIT", treasury, None, mode)

    def buy_credits(self, treasury, listener, amount, mode="commit"):
        """A treasury TRANSFER of `amount` tokens (1 token = 0.001 credit) to the public key
        `listener`, signed by the `treasury` key pair; the rest returns to the treasury."""
        from bigchaindb.models import Transaction

        credits = self._credits(treasury.public_key, amount)
        spent = sum(tx.outputs[index].amount for tx, index in credits)
        recipients = [([listener], amount)] + ([([treasury.public_key], spent - amount)]
                                               if spent > amount else [])
        inputs = [input_ for tx, index in credits for input_ in tx.to_inputs([index])]
        tx = Transaction.transfer(inputs, recipients, asset_id=self.network()["credit"])
        return self.submit(tx.sign([treasury.private_key]), mode)

    def set_split(self, keypairs, subject, payees, mode="commit"):
        """SPLIT: `payees` as (public key, basis points) pairs summing to 10000, for a
        MANIFESTATION or COPYRIGHT, signed by every current holder of its Copyright(s)."""
        return self._register("SPLIT", keypairs, {"subject": subject, "payees": payees}, mode)

    def build_play(self, keypair, track_id, right_id, territory):
        """The listener's next PLAY of a track, signed, not sent: priced by their count of
        committed plays, paying the split in force, streamed under `right_id`."""
        from bigchaindb_resonate.validators.royalties import price

        number = self.owns(keypair.public_key, track_id)["plays"]
        splits = self.splits_of(track_id)
        in_force = next((split for split in splits["splits"] if split["id"] == splits["in_force"]),
                        {"id": None, "payees": []})
        payees = [(payee["publicKey"], payee["shareBp"]) for payee in in_force["payees"]]
        tx = type_of("PLAY").pay(
            self._credits(keypair.public_key, price(number)), keypair.public_key,
            {"track": track_id, "territory": territory, "right": right_id, "playNumber": number,
             "split": in_force["id"]}, payees, self.network()["parameters"])
        return tx.sign([keypair.private_key]).to_dict()

    def play(self, keypair, track_id, right_id, territory, mode="commit"):
        """Build the listener's next PLAY (build_play) and submit it."""
        return self.submit(self.build_play(keypair, track_id, right_id, territory), mode)

    # -- usage and royalty reports (bigchaindb_resonate/reports/)

    def report_context(self, scope="network", at_height=None):
        """The chain id, block (height, app hash, time), network parameters and tracks a
        report of `scope` is computed with; None when the scope's record is not found."""
        return self._get("resonate/reports/context", scope=scope,
                         **({} if at_height is None else {"at_height": at_height}))

    def report_summary(self, scope=None, payee=None, from_date=None, to_date=None):
        """Summary figures from the totals the node keeps at commit (fast at any ledger
        size): of `scope` (default network) or of one `payee` key; with from_date and
        to_date (YYYY-MM-DD), also per consensus day. None when the scope's record is not
        found."""
        params = {name: value for name, value in (("scope", scope), ("payee", payee),
                                                  ("from_date", from_date), ("to_date", to_date))
                  if value is not None}
        return self._get("resonate/reports/summary", **params)

    def report_totals(self, keys):
        """{key: stored totals document} for those of `keys` (at most 100) the node holds."""
        return self._get("resonate/reports/totals", key=list(keys))["totals"]

    def report(self, scope="network", fmt="json", at_height=None, **period):
        """The report's text in chunks, as the node computes it; None when the scope's
        record is not found. `period`: from_height, to_height, from_time, to_time."""
        params = {"scope": scope, "format": fmt, **period}
        if at_height is not None:
            params["at_height"] = at_height
        response = self._request("GET", "resonate/reports", params=params, stream=True)
        if response.status_code == 404:
            return None
        if response.status_code == 400:
            raise ClientError(f"bad query: {response.json().get('message')}")
        response.raise_for_status()
        response.encoding = "utf-8"
        return response.iter_content(chunk_size=1 << 16, decode_unicode=True)


def _keypairs(keypairs):
    """One key pair (a CryptoKeypair is itself a tuple) or several."""
    return [keypairs] if hasattr(keypairs, "private_key") else list(keypairs)


def type_of(operation):
    """The type class of an operation, looked up when used: type modules may be newer than
    this client."""
    from bigchaindb_resonate import registry

    cls = registry.type_for(operation)
    if cls is None:
        raise ClientError(f"this version of bigchaindb_resonate has no {operation} type")
    return cls
