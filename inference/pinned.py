"""Model files that ship inside installed wheels, found by package and checked against a
pinned version and SHA-256 before anything loads them; nothing is ever downloaded."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from functools import cache
from pathlib import Path

__all__ = ["ModelUnavailableError", "folder_digest", "pinned_file", "pinned_folder",
           "sha256_file"]


class ModelUnavailableError(RuntimeError):
    """A pinned model is missing, another version, or its files differ from the pinned
    digest. Raised at load; callers report the check as not configured or fail closed."""


@cache
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_digest(folder: Path) -> str:
    """One SHA-256 over a folder's files: each file's relative path and SHA-256, sorted."""
    lines = [f"{p.relative_to(folder).as_posix()} {sha256_file(p)}\n"
             for p in sorted(folder.rglob("*")) if p.is_file()]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _package_folder(distribution: str, version: str, module: str) -> Path:
    try:
        installed = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelUnavailableError(f"{distribution}=={version} is not installed") from exc
    if installed != version:
        raise ModelUnavailableError(
            f"{distribution} {installed} is installed; {version} is pinned")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModelUnavailableError(f"{module} ({distribution}) cannot be located")
    return Path(spec.origin).parent


def pinned_file(distribution: str, version: str, module: str, relative: str,
                sha256: str) -> Path:
    """`relative` inside the installed `module` of `distribution`, once the installed
    version is `version` and the file's SHA-256 is `sha256`."""
    path = _package_folder(distribution, version, module) / relative
    if not path.is_file():
        raise ModelUnavailableError(f"{path} is missing from {distribution} {version}")
    _check(path, sha256_file(path), sha256)
    return path


def pinned_folder(distribution: str, version: str, module: str, relative: str,
                  sha256: str) -> Path:
    """Like `pinned_file` for a folder of model files (see `folder_digest`)."""
    folder = _package_folder(distribution, version, module) / relative
    if not folder.is_dir():
        raise ModelUnavailableError(f"{folder} is missing from {distribution} {version}")
    _check(folder, folder_digest(folder), sha256)
    return folder


def _check(path: Path, actual: str, pinned: str) -> None:
    if actual != pinned:
        raise ModelUnavailableError(
            f"{path} has sha256 {actual}, not the pinned {pinned}: refusing to load a "
            "model that is not the one measured")
