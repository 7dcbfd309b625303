"""C2PA manifests on published MP4s: signed with a development chain, read back, verified,
and rejected once the media bytes are altered."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509

from adapters.c2pa_credentials import (
    SigningCredentials,
    ensure_development_credentials,
    ephemeral_development_credentials,
)
from adapters.c2pa_signing import (
    C2paProvenanceSigner,
    generation_of,
    manifest_label,
    manifest_store,
)
from adapters.video_io import encode_video
from domain.provenance import (
    DIGITAL_SOURCE_TYPE,
    SOFT_BINDING_ALGORITHM,
    ProvenanceClaim,
    ProvenanceError,
    ProvenanceSigner,
)

pytestmark = pytest.mark.integration

CLAIM = ProvenanceClaim(generation_id="gen-7f3a", watermark_payload=bytes.fromhex("a1b2c3d4e5f6"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dev-chain")


@pytest.fixture(scope="module")
def credentials(folder: Path) -> SigningCredentials:
    return ensure_development_credentials(folder)


@pytest.fixture(scope="module")
def signer(credentials: SigningCredentials) -> C2paProvenanceSigner:
    return C2paProvenanceSigner(credentials)


@pytest.fixture(scope="module")
def mp4() -> bytes:
    frames = np.random.default_rng(3).integers(0, 256, (12, 96, 128, 3), dtype=np.uint8)
    return encode_video(frames, 12.0, crf=30)


def test_the_signer_satisfies_the_domain_port(signer: C2paProvenanceSigner) -> None:
    port: ProvenanceSigner = signer
    assert port is signer


def test_a_signed_mp4_reads_back_its_generation_and_watermark_payload(signer, mp4) -> None:
    record = signer.read_bytes(signer.sign_bytes(mp4, CLAIM))
    assert record.generation_id == CLAIM.generation_id
    assert record.watermark_payload == CLAIM.watermark_payload
    assert record.digital_source_type == DIGITAL_SOURCE_TYPE
    assert record.valid


def test_the_manifest_declares_creation_and_a_soft_binding_to_the_watermark(signer) -> None:
    assertions = {a["label"]: a["data"] for a in signer.manifest(CLAIM)["assertions"]}
    action = assertions["c2pa.actions"]["actions"][0]
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    assert assertions["c2pa.soft-binding"]["blocks"][0]["value"] == "obLD1OX2"
    assert assertions["c2pa.soft-binding"]["alg"] == SOFT_BINDING_ALGORITHM


def test_the_manifest_discloses_provider_system_version_time_and_a_unique_id(mp4) -> None:
    """What the AI-disclosure rules ask of a marking, read back from the signed file: the
    time and system from the c2pa.created action, the provider, and the manifest's own
    identifier, which is the generation's id."""
    generation = str(uuid.uuid4())
    made = datetime.datetime(2026, 11, 30, 18, 5, 7, tzinfo=datetime.UTC)
    claim = ProvenanceClaim(generation, bytes.fromhex("a1b2c3d4e5f6"), created_at=made,
                            system="composite-v1", extra={"creator": "lumen"})
    signer = C2paProvenanceSigner(ephemeral_development_credentials(),
                                  provider="Example Studio Ltd", generator_version="9.9.1")
    record = signer.read_bytes(signer.sign_bytes(mp4, claim))
    assert record.disclosure is not None
    assert record.disclosure.provider == "Example Studio Ltd"
    assert (record.disclosure.system_name, record.disclosure.system_version) == (
        "composite-v1", "9.9.1")
    assert record.disclosure.created_at == "2026-11-30T18:05:07Z"
    assert record.disclosure.manifest_id == manifest_label(generation) == f"urn:c2pa:{generation}"
    assert record.disclosure.digital_source_type == DIGITAL_SOURCE_TYPE
    assert record.generation_id == generation


def test_the_manifest_store_is_taken_out_of_a_signed_file_for_the_resolution_api(
    signer, mp4
) -> None:
    store = manifest_store(signer.sign_bytes(mp4, CLAIM))
    assert store is not None and store[4:8] == b"jumb"
    assert manifest_store(mp4) is None
    assert manifest_store(b"\x00\x00\x00\x08free") is None


def test_a_manifest_id_leads_back_to_its_generation_and_nothing_else_does() -> None:
    generation = uuid.uuid4()
    assert generation_of(manifest_label(str(generation))) == generation
    assert generation_of(f"urn:c2pa:{generation}:consentry") == generation
    assert generation_of("urn:c2pa:not-a-uuid") is None
    assert generation_of(f"urn:uuid:{generation}") is None
    assert generation_of(manifest_label("gen-7f3a")) != generation


def test_a_development_chain_verifies_as_intact_but_never_as_trusted(signer, mp4) -> None:
    record = signer.read_bytes(signer.sign_bytes(mp4, CLAIM))
    assert record.valid and not record.trusted
    assert "signingCredential.untrusted" in record.issues


def test_a_configured_trust_anchor_makes_the_same_signature_trusted(
    credentials, folder, mp4
) -> None:
    anchored = dataclasses.replace(
        credentials, trust_anchors_pem=(folder / "dev-untrusted-root.pem").read_bytes()
    )
    reader = C2paProvenanceSigner(anchored)
    assert reader.read_bytes(reader.sign_bytes(mp4, CLAIM)).trusted


def test_altering_the_media_after_signing_fails_verification(signer, mp4) -> None:
    signed = bytearray(signer.sign_bytes(mp4, CLAIM))
    signed[signed.index(b"mdat") + 64] ^= 0xFF
    record = signer.read_bytes(bytes(signed))
    assert not record.valid
    assert any("mismatch" in issue for issue in record.issues)


def test_an_unsigned_mp4_has_no_manifest_to_read(signer, mp4) -> None:
    with pytest.raises(ProvenanceError):
        signer.read_bytes(mp4)


def test_files_are_signed_and_read_in_place(signer, mp4, tmp_path: Path) -> None:
    source, destination = tmp_path / "in.mp4", tmp_path / "out.mp4"
    source.write_bytes(mp4)
    signer.sign_file(source, destination, CLAIM)
    assert signer.read_file(destination).generation_id == CLAIM.generation_id


def test_the_development_chain_is_generated_once_and_labelled_untrusted(folder: Path) -> None:
    first = ensure_development_credentials(folder)
    again = ensure_development_credentials(folder)
    assert first.certificate_chain_pem == again.certificate_chain_pem
    assert first.development
    leaf = x509.load_pem_x509_certificates(first.certificate_chain_pem)[0]
    assert "UNTRUSTED" in leaf.subject.rfc4514_string()
    assert "UNTRUSTED" in (folder / "README-UNTRUSTED.txt").read_text()
    assert (folder / "dev-untrusted-key.pem").stat().st_mode & 0o077 == 0


def test_configured_credentials_load_from_files(folder: Path, mp4) -> None:
    configured = SigningCredentials.from_files(
        folder / "dev-untrusted-chain.pem", folder / "dev-untrusted-key.pem"
    )
    signer = C2paProvenanceSigner(configured)
    assert signer.read_bytes(signer.sign_bytes(mp4, CLAIM)).valid
