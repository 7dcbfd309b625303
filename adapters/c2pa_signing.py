"""C2PA manifests for published MP4s through c2pa-python: sign with a configured key and
certificate chain (adapters/c2pa_credentials.py), read back and verify, and take the manifest
store out of a signed file for the Soft Binding Resolution API."""

from __future__ import annotations

import base64
import datetime
import io
import json
import struct
import threading
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import c2pa

from adapters.c2pa_credentials import (
    UNTRUSTED_LABEL,
    SigningCredentials,
    ensure_development_credentials,
    ephemeral_development_credentials,
)
from domain.provenance import (
    DIGITAL_SOURCE_TYPE,
    SOFT_BINDING_ALGORITHM,
    Disclosure,
    ProvenanceClaim,
    ProvenanceError,
    ProvenanceRecord,
)

__all__ = ["GENERATION_ASSERTION", "SOFT_BINDING_ASSERTION", "C2paProvenanceSigner",
           "SigningCredentials", "ensure_development_credentials",
           "ephemeral_development_credentials", "generation_of", "manifest_label",
           "manifest_store",
           "platform_version"]

GENERATION_ASSERTION = "com.consentry.generation"
SOFT_BINDING_ASSERTION = "c2pa.soft-binding"
_MP4 = "video/mp4"
# ISO BMFF 'uuid' box that carries a C2PA manifest store (C2PA specification, Appendix A).
_C2PA_BOX = uuid.UUID("d8fec3d6-1b0e-483c-9297-5828877ec481").bytes


def platform_version() -> str:
    try:
        return metadata.version("consentry")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def manifest_label(generation_id: str) -> str:
    """The manifest's unique identifier, `urn:c2pa:<uuid>`: the generation's own id, which
    is a random (version 4) UUID, so a resolver can go from one to the other. Any other id
    gets a version-4-shaped UUID made from it (the C2PA SDK accepts no other version)."""
    try:
        value = uuid.UUID(generation_id)
    except ValueError:
        value = uuid.uuid5(uuid.NAMESPACE_URL, f"consentry:generation:{generation_id}")
    if value.version != 4:
        value = uuid.UUID(bytes=value.bytes, version=4)
    return f"urn:c2pa:{value}"


def generation_of(manifest_id: str) -> uuid.UUID | None:
    """The generation id a manifest label names, or None for one not made by manifest_label."""
    prefix, _, rest = manifest_id.partition("urn:c2pa:")
    try:
        value = uuid.UUID(rest.split(":", 1)[0]) if not prefix and rest else None
    except ValueError:
        return None
    return value if value is not None and value.version == 4 else None


def manifest_store(mp4: bytes) -> bytes | None:
    """The C2PA manifest store (application/c2pa, JUMBF) embedded in an MP4, found by walking
    its top-level boxes; None when there is none."""
    position = 0
    while position + 8 <= len(mp4):
        size, kind = struct.unpack(">I4s", mp4[position : position + 8])
        header = 8
        if size == 1 and position + 16 <= len(mp4):
            size, header = struct.unpack(">Q", mp4[position + 8 : position + 16])[0], 16
        elif size == 0:
            size = len(mp4) - position
        if size < header:
            return None
        box = mp4[position + header : position + size]
        if kind == b"uuid" and box[:16] == _C2PA_BOX:
            # FullBox version and flags, a NUL-terminated purpose, for "manifest" a 64-bit
            # offset to the Merkle data, then the store.
            purpose, _, rest = box[20:].partition(b"\0")
            if purpose == b"manifest":
                return rest[8:]
        position += size
    return None


class C2paProvenanceSigner:
    """Signs and reads C2PA manifests with c2pa-python, the Content Authenticity
    Initiative's binding of the reference Rust SDK.

    Why: C2PA is the standard that players, platforms and verification sites read; the
    reference SDK computes the BMFF hash binding for MP4 and verifies signatures and
    chains, which is not something to re-implement. The manifest (label
    `urn:c2pa:<generation id>`) carries the C2PA 2.x AI-generation disclosure: a
    `c2pa.actions` assertion whose `c2pa.created` action has digital source type
    trainedAlgorithmicMedia, the time (`when`) and the generating system
    (`softwareAgent`); the claim generator (name, version, provider); a
    `com.consentry.generation` assertion with the generation id, watermark serial,
    provider, system and time; and a `c2pa.soft-binding` assertion naming the invisible
    watermark's algorithm and value, so a copy stripped of its manifest is tied back
    through the watermark (docs/provenance.md).
    """

    def __init__(self, credentials: SigningCredentials, *, provider: str = "Consentry",
                 generator_version: str | None = None) -> None:
        self._credentials = credentials
        self._provider = provider
        self._version = generator_version or platform_version()
        # One native signer per thread would also work; signing is short, a lock is simpler.
        self._lock = threading.Lock()
        self._read_settings: dict[str, Any] = {"verify": {"verify_trust": True}}
        if credentials.trust_anchors_pem:
            self._read_settings["trust"] = {
                "trust_anchors": credentials.trust_anchors_pem.decode("ascii")
            }

    def manifest(self, claim: ProvenanceClaim) -> dict[str, Any]:
        """The manifest definition handed to the C2PA builder."""
        created = claim.created_at or datetime.datetime.now(datetime.UTC)
        when = created.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
        system = claim.system or claim.generator
        generation: dict[str, Any] = {
            "generation_id": claim.generation_id,
            "watermark_payload": claim.watermark_payload.hex(),
            "provider": self._provider,
            "system_name": system,
            "system_version": self._version,
            "created_at": when,
            "ai_generated": True,
            **claim.extra,
        }
        if self._credentials.development:
            generation["signing_chain"] = UNTRUSTED_LABEL
        agent = {"name": system, "version": self._version}
        return {
            "label": manifest_label(claim.generation_id),
            "claim_generator_info": [{"name": claim.generator, "version": self._version,
                                      "com.consentry.provider": self._provider}],
            "title": claim.title,
            "format": _MP4,
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "when": when,
                                "digitalSourceType": DIGITAL_SOURCE_TYPE,
                                "softwareAgent": agent,
                                "description": f"AI-generated video made with {system} "
                                               f"by {self._provider}",
                            }
                        ]
                    },
                },
                {"label": GENERATION_ASSERTION, "data": generation},
                {
                    "label": SOFT_BINDING_ASSERTION,
                    "data": {
                        "alg": SOFT_BINDING_ALGORITHM,
                        "blocks": [
                            {
                                "scope": {},
                                "value": base64.b64encode(claim.watermark_payload).decode(),
                            }
                        ],
                    },
                },
            ],
        }

    def sign_bytes(self, mp4: bytes, claim: ProvenanceClaim) -> bytes:
        destination = io.BytesIO()
        self._sign(io.BytesIO(mp4), destination, claim)
        return destination.getvalue()

    def sign_file(self, source: Path, destination: Path, claim: ProvenanceClaim) -> None:
        with Path(source).open("rb") as reader, Path(destination).open("w+b") as writer:
            self._sign(reader, writer, claim)

    def read_bytes(self, mp4: bytes) -> ProvenanceRecord:
        return self._read(io.BytesIO(mp4))

    def read_file(self, path: Path) -> ProvenanceRecord:
        with Path(path).open("rb") as stream:
            return self._read(stream)

    def _sign(self, source: Any, destination: Any, claim: ProvenanceClaim) -> None:
        credentials = self._credentials
        info = c2pa.C2paSignerInfo(
            credentials.algorithm,
            credentials.certificate_chain_pem,
            credentials.private_key_pem,
            credentials.timestamp_url,
        )
        try:
            with self._lock, c2pa.Signer.from_info(info) as signer, c2pa.Builder.from_json(
                json.dumps(self.manifest(claim))
            ) as builder:
                builder.sign(signer, _MP4, source, destination)
        except c2pa.C2paError as exc:
            raise ProvenanceError(f"C2PA signing failed: {exc}") from exc

    def _read(self, stream: Any) -> ProvenanceRecord:
        try:
            with c2pa.Context.from_dict(self._read_settings) as context, c2pa.Reader(
                _MP4, stream, None, context
            ) as reader:
                state = reader.get_validation_state()
                manifest = reader.get_active_manifest()
                results = reader.get_validation_results() or {}
        except c2pa.C2paError as exc:
            raise ProvenanceError(f"no readable C2PA manifest: {exc}") from exc
        if manifest is None:
            raise ProvenanceError("no active C2PA manifest")
        assertions = {a.get("label"): a.get("data", {}) for a in manifest.get("assertions", [])}
        generation = assertions.get(GENERATION_ASSERTION, {})
        payload_hex = generation.get("watermark_payload")
        failures = tuple(
            str(item.get("code"))
            for item in results.get("activeManifest", {}).get("failure", [])
        )
        created = _created_action(assertions)
        return ProvenanceRecord(
            generation_id=generation.get("generation_id"),
            watermark_payload=bytes.fromhex(payload_hex) if payload_hex else None,
            valid=state in ("Valid", "Trusted"),
            trusted=state == "Trusted",
            digital_source_type=str(created.get("digitalSourceType") or "") or None,
            issues=failures,
            disclosure=_disclosure(manifest, generation, created),
        )


def _created_action(assertions: dict[str, Any]) -> dict[str, Any]:
    for label in ("c2pa.actions.v2", "c2pa.actions"):
        for action in assertions.get(label, {}).get("actions", []):
            if action.get("action") == "c2pa.created":
                return dict(action)
    return {}


def _disclosure(manifest: dict[str, Any], generation: dict[str, Any],
                created: dict[str, Any]) -> Disclosure | None:
    """The disclosure from the standard places first (the created action's time, agent and
    source type; the claim generator), our assertion where C2PA has no field (provider)."""
    if not created:
        return None
    agent = created.get("softwareAgent")
    agent = agent if isinstance(agent, dict) else {"name": str(agent or "")}
    info = (manifest.get("claim_generator_info") or [{}])[0]
    return Disclosure(
        provider=str(generation.get("provider") or info.get("com.consentry.provider") or ""),
        system_name=str(agent.get("name") or generation.get("system_name") or ""),
        system_version=str(agent.get("version") or generation.get("system_version") or ""),
        created_at=str(created.get("when") or generation.get("created_at") or ""),
        manifest_id=str(manifest.get("label") or ""),
        digital_source_type=str(created.get("digitalSourceType") or ""),
    )
