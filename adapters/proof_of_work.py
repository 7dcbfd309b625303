"""The cost of filing a public takedown request without an account: an ALTCHA proof of work
(the `altcha` library, PoW v2, PBKDF2/SHA-256). The API hands out a challenge signed with a
server key; the client finds the counter whose derived key starts with the required prefix
(about 256 derivations of `cost` PBKDF2 rounds: a second or so of a browser's time, a
thousand times that for a flood) and sends the solution with its request. The challenge's
nonce then names the request, so a solution files one request only (domain/takedown.py)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import altcha

from domain.errors import DomainError

ALGORITHM = "PBKDF2/SHA-256"
KEY_NAME = "server:takedown-proof-of-work"  # the signing key's name in the key store


class ProofOfWorkError(DomainError):
    code = "proof-of-work-invalid"
    status = 422


class ProofOfWork:
    def __init__(self, secret: bytes, cost: int = 5000, ttl: timedelta = timedelta(minutes=10)
                 ) -> None:
        self.secret = secret
        self.cost = cost
        self.ttl = ttl

    def challenge(self) -> dict[str, Any]:
        """Expires on the wall clock (the library checks it against `time.time()`)."""
        made = altcha.create_challenge(ALGORITHM, self.cost, hmac_secret=self.secret,
                                       expires_at=int(time.time() + self.ttl.total_seconds()))
        challenge: dict[str, Any] = made.to_dict()
        return challenge

    def verify(self, payload: str) -> str:
        """The challenge's nonce when `payload` (base64 JSON {challenge, solution}) solves a
        challenge this server signed that has not expired; else ProofOfWorkError."""
        result = altcha.verify_solution(payload, self.secret)
        if not result.verified:
            why = "expired" if result.expired else "signature" if result.invalid_signature \
                else "solution" if result.invalid_solution else (result.error or "payload")
            raise ProofOfWorkError(f"the proof of work does not verify ({why}); solve a new "
                                   "challenge from GET /takedown-requests/challenge",
                                   reason=why)
        nonce: str = altcha.Payload.from_base64(payload).challenge.parameters.nonce
        return nonce


def solve(challenge: dict[str, Any]) -> str:
    """A client's side, for tests and scripts: the payload that answers `challenge`."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    if solution is None:
        raise RuntimeError("the challenge could not be solved in time")
    return str(altcha.Payload(parsed, solution).to_base64())
