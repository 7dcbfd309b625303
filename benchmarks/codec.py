"""Event serialisation: the library's default mapper (JSON transcoder with registered
transcodings) beside our msgspec mapper, on the events a generation request writes.

    python -m benchmarks.codec [--rounds 20000]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper, Transcoding

from adapters.event_codec import MsgspecMapper
from benchmarks._common import table
from domain.actors import Actor, Role
from domain.generation import Generation
from domain.member import Member

ACTOR = Actor("m", Role.MEMBER)


class DateAsISO(Transcoding):
    """The default transcoder knows datetimes but not dates; our events use both."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DefaultWithDates(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


def sample_events() -> list[object]:
    member = Member.register(ACTOR, "bench")
    member.consume_quota(ACTOR, date(2026, 11, 24))
    g = Generation.request(ACTOR, member.id, "two friends on a beach at sunset", (uuid4(), uuid4()),
                           8, {"style": "film"})
    trace = tuple({"code": c, "outcome": "pass", "evidence": {"cameos": [{"owner": str(uuid4()),
                  "outcome": "pass"}]}, "reads": {f"cameo:{uuid4()}": 3}} for c in "ABCDEFGH")
    g.decide(ACTOR, "allow", (), trace, (uuid4(),), {f"cameo:{uuid4()}": 2})
    return [*member.collect_events(), *g.collect_events()]


def measure(mapper: Mapper, events: list[object], rounds: int) -> tuple[float, float, int]:
    stored = [mapper.to_stored_event(e) for e in events]
    t0 = time.perf_counter()
    for _ in range(rounds):
        for e in events:
            mapper.to_stored_event(e)
    encode = (time.perf_counter() - t0) / (rounds * len(events)) * 1e6
    t0 = time.perf_counter()
    for _ in range(rounds):
        for s in stored:
            mapper.to_domain_event(s)
    decode = (time.perf_counter() - t0) / (rounds * len(events)) * 1e6
    return encode, decode, sum(len(s.state) for s in stored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args()
    events = sample_events()
    default = DefaultWithDates().mapper  # JSON transcoder: UUID, datetime, Decimal (+ date)
    ours = MsgspecMapper(transcoder=None)  # type: ignore[arg-type]
    for event in events:  # ours must round-trip the same values
        assert vars(ours.to_domain_event(ours.to_stored_event(event))) == vars(event)
    lossy = [type(e).__qualname__ for e in events
             if vars(default.to_domain_event(default.to_stored_event(e))) != vars(e)]
    d_enc, d_dec, d_size = measure(default, events, args.rounds)
    m_enc, m_dec, m_size = measure(ours, events, args.rounds)
    print(f"{len(events)} events of a registration and a decided generation request")
    if lossy:
        print(f"the default mapper does not round-trip (tuples come back as lists): {lossy}")
    print(table(["mapper", "encode us/event", "decode us/event", "bytes", "speed-up"], [
        ("library default (json + transcodings)", d_enc, d_dec, d_size, 1.0),
        ("msgspec, typed per event class", m_enc, m_dec, m_size,
         (d_enc + d_dec) / (m_enc + m_dec)),
    ]))
    print(f"RESULT encode_speedup={d_enc / m_enc:.2f} decode_speedup={d_dec / m_dec:.2f} "
          f"bytes_ratio={m_size / d_size:.2f}")


if __name__ == "__main__":
    main()
