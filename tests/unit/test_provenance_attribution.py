"""Which evidence the provenance lookup believes: the watermark over the manifest, and a
manifest only when it verifies and agrees with the serial of the generation it names; and
whose disclosure it reports: the upload's manifest when believed, else the published
original's."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from adapters.provenance_lookup import Evidence, attribute
from domain.provenance import (
    DIGITAL_SOURCE_TYPE,
    Disclosure,
    ProvenanceRecord,
    WatermarkReading,
)
from projections.provenance import PublicRecord

pytestmark = pytest.mark.unit
SERIAL = bytes.fromhex("0a0b0c0d0e0f")
OTHER = bytes.fromhex("010203040506")


def record(serial: bytes) -> PublicRecord:
    return PublicRecord(uuid4(), datetime(2026, 1, 1, tzinfo=UTC), "maker", "published",
                        serial.hex(), None, None)


GENERATIONS = {SERIAL: record(SERIAL), OTHER: record(OTHER)}


async def by_serial(payload: bytes) -> PublicRecord | None:
    return GENERATIONS.get(payload)


async def by_id(generation_id: UUID) -> PublicRecord | None:
    return next((r for r in GENERATIONS.values() if r.generation_id == generation_id), None)


def read(payload: bytes | None) -> WatermarkReading:
    return WatermarkReading(payload, 1.0 if payload else 0.3, 1e-20 if payload else 1.0)


def disclosure(generation_id: UUID, provider: str = "Consentry") -> Disclosure:
    return Disclosure(provider, "composite-v1", "0.1.0", "2026-01-01T00:00:00Z",
                      f"urn:c2pa:{generation_id}", DIGITAL_SOURCE_TYPE)


def manifest(names: bytes, valid: bool = True, claims: bytes | None = None) -> ProvenanceRecord:
    generation_id = GENERATIONS[names].generation_id
    return ProvenanceRecord(str(generation_id), claims or names, valid, False, None,
                            disclosure=disclosure(generation_id, provider="in the file"))


async def published(generation_id: UUID) -> Disclosure | None:
    return disclosure(generation_id, provider="published original")


async def test_watermark_and_manifest_that_agree_name_the_generation_by_both():
    verdict = await attribute(Evidence(read(SERIAL), manifest(SERIAL)), by_serial, by_id)
    assert (verdict.record, verdict.found_by) == (GENERATIONS[SERIAL], "both")


async def test_the_watermark_wins_when_the_manifest_names_another_generation():
    verdict = await attribute(Evidence(read(SERIAL), manifest(OTHER)), by_serial, by_id)
    assert (verdict.record, verdict.found_by) == (GENERATIONS[SERIAL], "watermark")
    assert not verdict.manifest_used and "another generation" in verdict.note


async def test_a_manifest_whose_signature_fails_is_reported_and_never_believed():
    verdict = await attribute(Evidence(read(None), manifest(SERIAL, valid=False)), by_serial,
                              by_id)
    assert (verdict.record, verdict.found_by) == (None, "none")
    assert "does not verify" in verdict.note


async def test_a_valid_manifest_alone_names_its_generation_by_c2pa():
    verdict = await attribute(Evidence(read(None), manifest(SERIAL)), by_serial, by_id)
    assert (verdict.record, verdict.found_by) == (GENERATIONS[SERIAL], "c2pa")


async def test_a_manifest_claiming_another_serial_than_its_generation_got_is_ignored():
    forged = manifest(SERIAL, claims=OTHER)
    verdict = await attribute(Evidence(read(None), forged), by_serial, by_id)
    assert verdict.found_by == "none"


async def test_a_payload_that_names_no_generation_is_no_provenance():
    verdict = await attribute(Evidence(read(bytes(6)), None), by_serial, by_id)
    assert verdict.record is None and "names no generation" in verdict.note


async def test_a_believed_manifest_gives_its_own_disclosure():
    verdict = await attribute(Evidence(read(SERIAL), manifest(SERIAL)), by_serial, by_id,
                              published)
    assert verdict.disclosure is not None and verdict.disclosure_from == "file"
    assert verdict.disclosure.provider == "in the file"


async def test_a_stripped_copy_gets_the_published_originals_disclosure_through_its_watermark():
    verdict = await attribute(Evidence(read(SERIAL), None), by_serial, by_id, published)
    assert verdict.found_by == "watermark" and verdict.disclosure_from == "published"
    assert verdict.disclosure == disclosure(GENERATIONS[SERIAL].generation_id,
                                            provider="published original")


async def test_a_manifest_overruled_by_the_watermark_lends_no_disclosure():
    verdict = await attribute(Evidence(read(SERIAL), manifest(OTHER)), by_serial, by_id,
                              published)
    assert verdict.disclosure_from == "published"
    assert verdict.disclosure is not None
    assert verdict.disclosure.manifest_id.endswith(str(GENERATIONS[SERIAL].generation_id))


async def test_no_provenance_means_no_disclosure():
    verdict = await attribute(Evidence(read(bytes(6)), None), by_serial, by_id, published)
    assert (verdict.disclosure, verdict.disclosure_from) == (None, "")
