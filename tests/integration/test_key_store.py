"""Crypto-shredding of face templates: templates enter events only sealed under a
per-identity key; erasure destroys the key, after which the raw database files hold
neither the key nor the template, and the face index rebuilt from events drops the person."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse
from uuid import UUID

import psycopg
import pytest
from eventsourcing.utils import get_topic
from psycopg import sql

from adapters.bootstrap import bootstrap
from adapters.key_store import PostgresKeyStore, SqliteKeyStore
from adapters.settings import Settings
from adapters.template_crypto import TemplateIntegrityError, TemplateVault, enrolled_templates
from domain.actors import Actor
from domain.faces import FaceTemplate
from domain.identity import Identity
from domain.ids import identity_id
from domain.services import Consentry
from inference.face_index import TieredFaceIndex
from inference.faces_dlib import DlibFaceAnalyzer
from tests import face_media
from tests.fakes import WORKER, FakeClock, World

pytestmark = pytest.mark.integration


def traces(template: FaceTemplate, key: bytes) -> dict[str, bytes]:
    """Every form in which a key or a template could sit in a file: raw, or base64 as the
    event store's JSON writes bytes; the vector alone as float32."""
    plain = template.to_bytes()
    vector = plain[-4 * len(template.vector):]
    return {"key": key, "key (base64)": base64.b64encode(key),
            "template": plain, "template (base64)": base64.b64encode(plain),
            "vector": vector[:64]}


def raw_files(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def found_in(blob: bytes, needles: dict[str, bytes]) -> list[str]:
    return [name for name, needle in needles.items() if needle in blob]


@pytest.fixture(scope="module")
def faces() -> dict[str, FaceTemplate]:
    analyzer = DlibFaceAnalyzer()
    templates = {}
    for name, photo in {"astronaut": face_media.astronaut(),
                        "hopper": face_media.grace_hopper()}.items():
        templates[name] = analyzer.embed(photo, analyzer.detect(photo)[:1])[0]
    return templates


# -- SQLite ------------------------------------------------------------------------------
def test_a_sealed_template_opens_only_for_its_own_identity(tmp_path: Path,
                                                           faces: dict[str, FaceTemplate]):
    vault = TemplateVault(SqliteKeyStore(tmp_path / "keys.sqlite3"))
    sealed = vault.seal("identity-a", faces["astronaut"])
    assert faces["astronaut"].to_bytes() not in sealed
    opened = vault.open("identity-a", sealed)
    assert opened is not None and opened.distance(faces["astronaut"]) < 1e-6
    vault.seal("identity-b", faces["hopper"])
    with pytest.raises(TemplateIntegrityError):
        vault.open("identity-b", sealed)
    with pytest.raises(TemplateIntegrityError):
        vault.open("identity-a", sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_destroying_a_key_scrubs_it_from_the_key_store_file(tmp_path: Path):
    store = SqliteKeyStore(tmp_path / "keys" / "keys.sqlite3")
    keys = {f"identity-{i}": store.create(f"identity-{i}") for i in range(50)}
    assert store.create("identity-7") == keys["identity-7"], "create is idempotent"
    store.destroy("identity-7")
    assert store.get("identity-7") is None
    assert store.get("identity-8") == keys["identity-8"]
    store.close()
    blob = raw_files(tmp_path / "keys")
    assert keys["identity-8"] in blob, "the scan sees live keys, so it would see this one"
    assert keys["identity-7"] not in blob


def verified_member(world: World, vault: TemplateVault, template: FaceTemplate
                    ) -> tuple[Actor, str]:
    app = world.app
    member = world.member(verified=False)
    challenge = app.start_verification(member)
    app.submit_verification(member, challenge["nonce"], os.urandom(32).hex())
    subject = str(identity_id(UUID(member.id)))
    app.complete_verification(WORKER, UUID(member.id), vault.seal(subject, template),
                              template.model_id, 0.9, 1.0)
    return member, subject


def identity_events(app: Consentry) -> Iterator[object]:
    topics = [get_topic(Identity.Verified), get_topic(Identity.Erased)]
    for note in app.recorder.select_notifications(1, 10_000, topics=topics):
        yield app.mapper.to_domain_event(note)


def test_after_erasure_no_database_file_holds_a_recoverable_template(
        tmp_path: Path, faces: dict[str, FaceTemplate]):
    events_dir, keys_dir = tmp_path / "events", tmp_path / "keys"
    container = bootstrap(Settings(store="sqlite", data_dir=events_dir), clock=FakeClock())
    app = container.app
    key_store = SqliteKeyStore(keys_dir / "keys.sqlite3")
    vault = TemplateVault(key_store)
    world = World(app)
    erased_member, erased = verified_member(world, vault, faces["astronaut"])
    _, kept = verified_member(world, vault, faces["hopper"])
    erased_key = key_store.get(erased)
    assert erased_key is not None
    sealed: bytes = app.repository.get(UUID(erased)).template_ciphertext

    app.erase_identity(erased_member, UUID(erased_member.id))
    vault.erase(erased)

    index = TieredFaceIndex(faces["astronaut"].model_id, faces["astronaut"].metric)
    index.rebuild(enrolled_templates(identity_events(app), vault, index.model_id))
    assert erased not in index and kept in index
    assert list(enrolled_templates(identity_events(app), vault, "another-model")) == []
    container.close()
    key_store.close()

    events_blob, keys_blob = raw_files(events_dir), raw_files(keys_dir)
    assert base64.b64encode(sealed) in events_blob, "the log keeps the sealed template"
    assert found_in(events_blob + keys_blob, traces(faces["astronaut"], erased_key)) == []
    reopened = SqliteKeyStore(keys_dir / "keys.sqlite3")
    assert TemplateVault(reopened).open(erased, sealed) is None, "nothing can open it"
    live_key = reopened.get(kept)
    assert live_key is not None and live_key in keys_blob, "the scan does see a live key"
    reopened.close()


# -- PostgreSQL --------------------------------------------------------------------------
def superuser_dsn(dsn: str) -> str:
    """The throwaway test cluster (.ci/services.sh) trusts every local role, its superuser
    (whichever OS user ran initdb) included."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT rolname FROM pg_roles WHERE rolsuper LIMIT 1").fetchone()
    assert row is not None, "the cluster has no superuser role"
    url = urlparse(dsn)
    host = url.hostname or "127.0.0.1"
    netloc = f"{row[0]}@{host}:{url.port}" if url.port else f"{row[0]}@{host}"
    return urlunparse(url._replace(netloc=netloc))


def table_file(dsn: str, schema: str) -> bytes:
    # Reading a table's file needs the superuser: the throwaway test cluster allows it.
    conn = psycopg.connect(superuser_dsn(dsn), autocommit=True)
    with conn:
        conn.execute("CHECKPOINT")  # flush dirty pages, so the file shows what a disk holds
        relation = sql.Identifier(schema, "identity_keys").as_string(conn)
        row = conn.execute("SELECT pg_read_binary_file(pg_relation_filepath(%s))",
                           (relation,)).fetchone()
    assert row is not None
    return bytes(row[0])


def test_postgres_key_store_forgets_a_destroyed_key(pg_schema: tuple[str, str]):
    dsn, schema = pg_schema
    store = PostgresKeyStore(dsn, schema)
    first, second = store.create("identity-1"), store.create("identity-2")
    assert store.create("identity-1") == first and len(first) == 32
    store.destroy("identity-1")
    assert store.get("identity-1") is None and store.get("identity-2") == second
    store.close()


def test_postgres_table_files_hold_no_destroyed_key(pg_schema: tuple[str, str],
                                                    faces: dict[str, FaceTemplate]):
    dsn, schema = pg_schema
    store = PostgresKeyStore(dsn, schema)
    vault = TemplateVault(store)
    sealed = vault.seal("identity-1", faces["astronaut"])
    vault.seal("identity-2", faces["hopper"])
    doomed, kept = store.get("identity-1"), store.get("identity-2")
    assert doomed is not None and kept is not None
    assert doomed in table_file(dsn, schema), "the raw scan sees keys before erasure"
    vault.erase("identity-1")
    assert vault.open("identity-1", sealed) is None
    # Another session's transaction that began before the erasure (other tests share the
    # database) keeps the dead row until it ends; purging again then removes it.
    deadline = time.monotonic() + 30
    after = table_file(dsn, schema)
    while doomed in after and time.monotonic() < deadline:
        time.sleep(0.5)
        store.purge()
        after = table_file(dsn, schema)
    assert doomed not in after and kept in after
    store.close()
