"""Event serialisation with msgspec: each event class gets a typed decoder built from its
annotations, so UUIDs, datetimes, bytes and tuples come back as themselves without the
tagging walk the library's JSON transcoder does. See docs/serialisation.md for the numbers."""

from __future__ import annotations

import typing
from functools import cache
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

_SKIP = {"originator_id", "originator_version", "originator_id_type"}


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=str)
    raise TypeError(f"cannot encode {type(obj).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)


@cache
def _state_type(cls: type) -> type[msgspec.Struct]:
    hints = typing.get_type_hints(cls)
    fields = [(name, hint) for name, hint in hints.items()
              if name not in _SKIP and typing.get_origin(hint) is not typing.ClassVar
              and hint is not typing.ClassVar]
    fields.append(("class_version", int, 1))  # type: ignore[arg-type]
    return msgspec.defstruct(f"{cls.__qualname__}State", fields, forbid_unknown_fields=False)


@cache
def _decoder(cls: type) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_state_type(cls))


class MsgspecMapper(Mapper[UUID]):
    """Drop-in `Mapper` (selected with MAPPER_TOPIC); keeps the library's cipher and
    compressor hooks and its `upcast_vN_vN+1` convention for evolving event classes."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        data = _encoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(originator_id=originator_id, originator_version=originator_version,
                           topic=get_topic(type(domain_event)), state=data)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        data = stored_event.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        class_version = getattr(cls, "class_version", 1)
        if class_version == 1:
            state = msgspec.structs.asdict(_decoder(cls).decode(data))
        else:
            raw = msgspec.json.decode(data)
            version = raw.pop("class_version", 1)
            while version < class_version:
                getattr(cls, f"upcast_v{version}_v{version + 1}")(raw)
                version += 1
            state = msgspec.structs.asdict(msgspec.convert(raw, _state_type(cls)))
        state.pop("class_version", None)
        originator_id = stored_event.originator_id
        state["originator_id"] = originator_id if isinstance(originator_id, UUID) \
            else UUID(str(originator_id))
        state["originator_version"] = stored_event.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event
