"""Helpers of the takedown journeys: a public request filed with a solved proof of work, and
the reviewer's side of it."""

from __future__ import annotations

from typing import Any

from adapters.proof_of_work import solve
from tests.e2e.conftest import Api
from tests.e2e.review_helpers import staff

STATEMENT = "I am the person in this video and I never consented to it being made or shared."


async def proof(api: Api) -> str:
    challenge = await api.call("GET", "/takedown-requests/challenge")
    return solve(challenge["challenge"])


async def file_request(api: Api, generation_id: str | None, *, category: str = "intimate_imagery",
                       expect: int = 201, **changes: Any) -> Any:
    body: dict[str, Any] = {
        "proof_of_work": await proof(api), "generation_id": generation_id,
        "category": category, "relation": "depicted_person",
        "good_faith_statement": STATEMENT, "signature": "Jane Roe",
        "contact": {"email": "jane@example.org"}}
    body.update(changes)
    return await api.call("POST", "/takedown-requests", json=body, expect=expect)


async def status(api: Api, filed: dict[str, Any], expect: int = 200) -> Any:
    return await api.call("GET", filed["status_url"], params={"token": filed["token"]},
                          expect=expect)


async def takedown_case(api: Api, reviewer: str, generation_id: str) -> dict[str, Any]:
    """The open case of a takedown request about the video, as a reviewer's queue lists it."""
    queue = await api.call("GET", "/review/cases", reviewer)
    [case] = [c for c in queue["items"] if c["subject_id"] == generation_id
              and c["queue"] == "takedowns"]
    return dict(case)


async def reviewer(api: Api, name: str = "tess") -> str:
    return (await staff(api, name))[1]
