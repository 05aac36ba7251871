"""The Python client: build, sign and submit our transactions, and learn why one was refused.

    client = Client("http://127.0.0.1:9984")
    tx = client.register_party(keypair, {"@type": "MusicGroup", "name": "Kokoroko"})

A refusal raises `TransactionRefused` carrying the network's stable `code`, the `field` at
fault and what was `expected`: the same body every node's HTTP API returns.
"""
import requests

from bigchaindb_resonate.types.party import Party


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

    def _get(self, path, **params):
        response = self.session.get(f"{self.api_url}/api/v1/{path}", params=params,
                                    timeout=self.timeout)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def submit(self, tx, mode="commit"):
        """Post a signed transaction dict; with mode=commit, return once it is in a block."""
        tx_dict = tx if isinstance(tx, dict) else tx.to_dict()
        try:
            response = self.session.post(f"{self.api_url}/api/v1/transactions",
                                         params={"mode": mode}, json=tx_dict, timeout=self.timeout)
        except requests.ConnectionError as exc:
            raise ClientError(f"cannot reach the node at {self.api_url}: is it running? "
                              f"(`resonate testnet status` lists the nodes)") from exc
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

    def register_party(self, keypair, data, mode="commit"):
        """Register a party held by `keypair`; identifiers in display form are normalised."""
        tx = Party.build([keypair.public_key], data).sign([keypair.private_key])
        return self.submit(tx, mode)
