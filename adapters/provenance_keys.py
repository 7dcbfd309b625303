"""Key material for provenance: the invisible watermark's secret key and the C2PA signing
credentials, from configuration, or generated on first start into the data directory for the
embedded default (and said so in the log)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from adapters.c2pa_credentials import (
    SigningCredentials,
    ensure_development_credentials,
    ephemeral_development_credentials,
)
from adapters.c2pa_signing import C2paProvenanceSigner
from adapters.settings import Settings
from inference.watermark import DctSpreadSpectrumWatermarker

log = logging.getLogger("consentry.provenance")
KEY_FILE = "watermark.key"
C2PA_FOLDER = "c2pa"


def watermark_key(settings: Settings) -> bytes:
    """CONSENTRY_WATERMARK_KEY, else a 256-bit key kept in the data directory (created on
    first start; the in-memory store keeps nothing, so it gets a fresh one each time)."""
    if settings.watermark_key:
        return settings.watermark_key.encode()
    if settings.store == "memory":
        return secrets.token_bytes(32)
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32) + "\n")
            log.warning(
                "CONSENTRY_WATERMARK_KEY is not set: generated a watermark key in %s. Keep it"
                " with the data: videos marked with it are traceable only with it.%s", path,
                " Every API process and worker must share one key: set the variable."
                if settings.store == "postgres" else "")
    return bytes.fromhex(path.read_text().strip())


def signing_credentials(settings: Settings) -> SigningCredentials:
    """CONSENTRY_C2PA_CHAIN and CONSENTRY_C2PA_KEY, else the labelled-untrusted development
    chain (in the data directory, generated on first start)."""
    if settings.c2pa_chain:
        anchors = Path(settings.c2pa_trust_anchors) if settings.c2pa_trust_anchors else None
        return SigningCredentials.from_files(Path(settings.c2pa_chain),
                                             Path(settings.c2pa_key),
                                             trust_anchors_path=anchors)
    if settings.store == "memory":
        return ephemeral_development_credentials()
    folder = settings.data_dir / C2PA_FOLDER
    fresh = not folder.exists()
    credentials = ensure_development_credentials(folder)
    if fresh:
        log.warning("no C2PA signing chain configured: generated an UNTRUSTED development"
                    " chain in %s (set CONSENTRY_C2PA_CHAIN and CONSENTRY_C2PA_KEY)", folder)
    return credentials


def build_provenance(settings: Settings
                     ) -> tuple[DctSpreadSpectrumWatermarker, C2paProvenanceSigner]:
    """The watermarker and the signer the worker marks with and the lookup reads with."""
    return (DctSpreadSpectrumWatermarker(watermark_key(settings)),
            C2paProvenanceSigner(signing_credentials(settings), provider=settings.provider))
