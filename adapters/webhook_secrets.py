"""Webhook signing secrets in the key store (apart from the event log, like face-template
keys): each is the store's random 32-byte key under `webhook-secret:<id>`, shown to its
owner once as `whsec_<base64>`; destroying it ends its use."""

from __future__ import annotations

import base64

from domain.faces import KeyStore

PREFIX = "whsec_"


class KeyStoreWebhookSecrets:
    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    @staticmethod
    def _name(secret_id: str) -> str:
        return f"webhook-secret:{secret_id}"

    def create(self, secret_id: str) -> str:
        return PREFIX + base64.b64encode(self.keys.create(self._name(secret_id))).decode()

    def get(self, secret_id: str) -> str | None:
        key = self.keys.get(self._name(secret_id))
        return PREFIX + base64.b64encode(key).decode() if key is not None else None

    def destroy(self, secret_id: str) -> None:
        self.keys.destroy(self._name(secret_id))
