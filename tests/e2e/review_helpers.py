"""Helpers of the review console's HTTP and browser tests: staff of a grade, and a video the
worker held with a real evidence frame and a real render in the blob store."""

from __future__ import annotations

from uuid import UUID

import cv2
import numpy as np

from tests.e2e.conftest import Api
from tests.verification_media import placeholder_video


async def staff(api: Api, name: str, role: str = "reviewer", grade: str = "reviewer",
                member_id: str | None = None) -> tuple[str, str]:
    body = {"name": name, "role": role, "grade": grade}
    if member_id:
        body["member_id"] = member_id
    made = await api.call("POST", "/admin/staff", api.admin, expect=201, json=body)
    return made["id"], made["secret"]


def evidence_frame(seed: int = 0) -> bytes:
    """A colourful JPEG with fine detail (what a blur must remove)."""
    rng = np.random.default_rng(seed)
    picture = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    picture[::8] = (255, 0, 0)  # stripes: fine, coloured detail
    ok, data = cv2.imencode(".jpg", picture)
    assert ok
    return bytes(data)


async def held_with_media(api: Api, token: str, prompt: str = "a harbour at dusk",
                          reasons: tuple[str, ...] = ("SAFETY",)) -> tuple[str, str, bytes]:
    """A generation rendered (a real MP4 in the blob store) and held with one real evidence
    frame; returns (generation id, case id, the frame's bytes)."""
    made = await api.call("POST", "/generations", token, expect=201,
                          json={"prompt": prompt, "seconds": 5})
    gid, app, blobs = made["generation_id"], api.container.app, api.container.blobs
    render = blobs.put(placeholder_video(prompt), "video/mp4")
    frame = evidence_frame(len(prompt))
    digest = blobs.put(frame, "image/jpeg")
    await api.worker(app.record_render, UUID(gid), render, 48, 2.0, "w1", 1)
    held = await api.worker(app.hold_generation, UUID(gid), reasons,
                            {"frames": [digest], "safety": {"label": "violence",
                                                            "score": 0.61}})
    return gid, held["case_id"], frame
