"""Reference media over HTTP: an uploaded picture is hashed (PDQ) on upload and recorded in
`Work.ReferenceAdded`; the process's work scanner finds it in a clip that shows it, and
still does once the work is withdrawn (nothing licenses a withdrawn work); too-plain and
undecodable uploads are answered for what they are."""

from __future__ import annotations

import asyncio
from uuid import UUID

import numpy as np

from domain.faces import MatchDecision
from domain.work import Work
from tests.e2e.conftest import Api
from tests.work_media import clip, degrade, filled, photo, png, sampled


async def test_an_uploaded_reference_is_hashed_and_found_in_a_clip_that_shows_it(api: Api):
    studio = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                             json={"name": "Orbit Pictures", "proof": "ref"}))["secret"]
    work = await api.call("POST", "/works", studio, expect=201,
                          json={"title": "Major Orbit", "kind": "character"})
    path = f"/works/{work['id']}/references"
    reference = await api.call("POST", path, studio, expect=201,
                               content=png(photo("astronaut")),
                               headers={"content-type": "image/png"})
    assert (reference["visual_matching"], reference["matched_by"]) == ("indexed", ["pdq"])
    shown = await api.call("GET", f"/works/{work['id']}", studio)
    assert [r["matched_by"] for r in shown["references"]] == [["pdq"]]
    recorded = api.container.app.get(Work, UUID(work["id"])).references[reference["digest"]]
    assert recorded["hashes"] and all(len(h) == 64 for h in recorded["hashes"].values())
    assert recorded["embedding_ref"] == ""  # no open_clip checkpoint configured

    scanner = api.container.work_scanner
    assert scanner is not None
    frames = sampled(degrade(clip([(filled(photo("coffee")), 1.0),
                                   (filled(photo("astronaut")), 2.0)])))
    report = await asyncio.to_thread(scanner.scan, frames)
    assert [(str(m.work_id), m.decision) for m in report.matches] == \
        [(work["id"], MatchDecision.MATCH)]
    assert report.unchecked == ("embedding",)

    await api.call("POST", f"/works/{work['id']}/withdraw", studio, json={"reason": "ended"})
    report = await asyncio.to_thread(scanner.scan, frames)
    assert [str(m.work_id) for m in report.matches] == [work["id"]]


async def test_plain_pictures_are_kept_unhashed_and_broken_ones_refused(api: Api):
    studio = (await api.call("POST", "/rights-holders", api.admin, expect=201,
                             json={"name": "Flat Colours Ltd", "proof": "ref"}))["secret"]
    work = await api.call("POST", "/works", studio, expect=201,
                          json={"title": "Flat Grey", "kind": "artwork"})
    path = f"/works/{work['id']}/references"
    plain = await api.call("POST", path, studio, expect=201,
                           content=png(np.full((64, 64, 3), 128, np.uint8)),
                           headers={"content-type": "image/png"})
    assert (plain["visual_matching"], plain["matched_by"]) == ("too-plain", [])
    broken = await api.call("POST", path, studio, expect=422,
                            content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                            headers={"content-type": "image/png"})
    assert broken["code"] == "unreadable-media"
    shown = await api.call("GET", f"/works/{work['id']}", studio)
    assert [r["digest"] for r in shown["references"]] == [plain["digest"]]
