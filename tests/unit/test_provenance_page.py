"""The public check page says the lookup's answer in words, and escapes what it echoes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.provenance_page import failure, page, result
from api.schemas.provenance import (
    BankOut,
    C2paOut,
    DisclosureOut,
    ProvenanceOut,
    PublicGenerationOut,
    VisibleMarkOut,
    WatermarkOut,
)

pytestmark = pytest.mark.unit
GID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def answer(found: bool, state: str = "published", manifest: bool = False,
           visible: str = "mirrored") -> ProvenanceOut:
    generation = PublicGenerationOut(
        id=GID, created_at=datetime(2026, 11, 30, 18, 5, tzinfo=UTC), creator_handle="lumen",
        state=state, published=state == "published", taken_down=state == "taken_down",
        published_at=None, taken_down_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        if state == "taken_down" else None) if found else None
    disclosure = DisclosureOut(
        ai_generated=True, provider="Consentry", system_name="composite-v1",
        system_version="0.1.0", created_at="2026-11-30T18:05:00Z",
        manifest_id=f"urn:c2pa:{GID}", digital_source_type="trainedAlgorithmicMedia",
        source="file" if manifest else "published") if found else None
    return ProvenanceOut(
        found=found, found_by=("both" if manifest else "watermark") if found else "none",
        message="", generation=generation, disclosure=disclosure,
        visible_mark=VisibleMarkOut(visible, 0.2, 0.8, 0.99) if found else None,
        watermark=WatermarkOut(found=found, payload="0a0b0c0d0e0f" if found else None,
                               confidence=0.95 if found else 0.2,
                               false_positive_probability=1e-19 if found else 1.0,
                               frames_examined=48),
        c2pa=C2paOut(present=manifest, valid=manifest, trusted=False, used=manifest,
                     generation_id=GID if manifest else None, digital_source_type=None,
                     issues=[]),
        bank=BankOut(checked=True, banked=False, matches=[]))


def test_a_stripped_copy_is_told_who_made_it_when_and_with_what_system() -> None:
    text = result(answer(True))
    assert "Yes: this video was made here with AI, by @lumen on 30 November 2026" in text
    assert "It is published." in text
    assert "Consentry&#x27;s system composite-v1 (version 0.1.0)" in text
    assert f"urn:c2pa:{GID}" in text and "lost its manifest" in text
    assert "at most one in 10^19" in text and "no C2PA manifest" in text
    assert "visible mark is in the picture but mirrored" in text


def test_a_copy_whose_visible_mark_is_not_seen_is_told_so_with_its_caveats() -> None:
    text = result(answer(True, visible="missing"))
    assert "could not see its visible mark" in text and "turned or zoomed" in text


def test_a_taken_down_original_with_its_manifest_says_both() -> None:
    text = result(answer(True, state="taken_down", manifest=True))
    assert "It was taken down on 01 December 2026 at 09:00 UTC." in text
    assert "C2PA manifest is intact" in text and "lost its manifest" not in text


def test_no_provenance_is_said_without_overclaiming() -> None:
    text = result(answer(False))
    assert "We found no sign that this video was made here." in text
    assert "48 frames" in text and "made with AI elsewhere" in text


def test_what_the_page_echoes_is_escaped() -> None:
    html = page(failure("<script>alert(1)</script>"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<form method=post action='/provenance/check'" in html
