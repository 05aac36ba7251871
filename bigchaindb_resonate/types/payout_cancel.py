"""PAYOUT_CANCEL: an open payout request withdrawn by its payee, or refused by its
treasury key; its tokens return to the payee.

Spec: docs/spec/payout_cancel.md. TRANSFER-like on the credit token: spends the open
request's held output into one output held by the payee. Either key that may spend the
held output alone may sign: the host's signature check admits no one else.
"""
from bigchaindb_resonate.operations import payout_cancel as client_part
from bigchaindb_resonate.types.base import client_builder
from bigchaindb_resonate.types.payout_request import RequestSpender


class PayoutCancel(RequestSpender):
    OPERATION = client_part.OPERATION
    SCHEMA = client_part.SCHEMA
    INDEXED_METADATA = (("request",), ("payee",))

    def check_stateful(self, ledger):
        self.check_request(ledger, lambda asked: asked["payee"])

    cancel = client_builder(client_part.cancel)
