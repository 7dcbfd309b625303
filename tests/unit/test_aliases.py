"""Behaviour of the alias index: tolerant matching on word boundaries, live updates, folds
and concurrent use."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID, uuid4

import pytest

from inference import aliases as aliases_module
from inference.aliases import (
    AhoCorasickAliasIndex,
    NotConfiguredSemanticMatcher,
    alias_key,
    normalise,
)

pytestmark = pytest.mark.unit

PIKACHU = uuid4()
MICKEY = uuid4()


@pytest.fixture
def index() -> AhoCorasickAliasIndex:
    index = AhoCorasickAliasIndex(background_fold=False)
    index.add(PIKACHU, ("Pikachu",))
    index.add(MICKEY, ("Mickey Mouse",))
    return index


def found(index: AhoCorasickAliasIndex, prompt: str) -> set[UUID]:
    return {hit.work_id for hit in index.find(prompt)}


def name(n: int) -> str:
    """A distinct word per number. Digits would not do: "Work 1" and "Work 11" normalise
    alike (1 reads as i, and doubled letters fold)."""
    syllables = ("ba", "de", "fi", "go", "hu", "ka", "le", "mi", "no", "pu")
    return "".join(syllables[int(d)] for d in str(n)).capitalize()


@pytest.mark.parametrize(
    "prompt",
    [
        "a pikachu on a hill",
        "PIKACHU!",
        "Pikachu's tail",
        "pi ka chu dancing",
        "Pi-ka-chu dancing",
        "the great p.i.k.a.c.h.u",
        "@pikachu in the rain",
        "(Pikachu)",
        "".join(chr(ord(c) + 0xFEE0) for c in "Pikachu") + " in full-width letters",
    ],
)
def test_spacing_case_and_punctuation_variants_find_the_work(
    index: AhoCorasickAliasIndex, prompt: str
) -> None:
    assert found(index, prompt) == {PIKACHU}


@pytest.mark.parametrize("prompt", ["P1kachu", "p1k4chu", "Pik@chu", "P!kachu", "P|kachu"])
def test_digit_and_symbol_substitution_finds_the_work(
    index: AhoCorasickAliasIndex, prompt: str
) -> None:
    assert found(index, prompt) == {PIKACHU}


def test_exclamation_mark_after_a_word_is_punctuation_not_a_letter() -> None:
    index = AhoCorasickAliasIndex()
    index.add(PIKACHU, ("Pikachu",))
    index.add(uuid4(), ("Pikachui",))
    assert found(index, "Pikachu! now") == {PIKACHU}


@pytest.mark.parametrize("prompt", ["Pikachú", "Píkáchü", "Pikachu\u0301 with a combining accent"])
def test_accents_are_ignored(index: AhoCorasickAliasIndex, prompt: str) -> None:
    assert found(index, prompt) == {PIKACHU}


@pytest.mark.parametrize("prompt", [
    "Z\u043erblax dances",  # Cyrillic \u043e
    "Z\u043erbl\u0430\u0445 in the rain",  # Cyrillic \u043e and \u0445
    "zorbla\u0445",  # Cyrillic \u0445
    "\u0396orblax",  # Greek capital zeta
    "Z\u03bfrblax",  # Greek omicron
])
def test_unicode_lookalikes_of_latin_letters_find_the_work(prompt: str) -> None:
    index = AhoCorasickAliasIndex()
    work = uuid4()
    index.add(work, ("Zorblax",))
    assert found(index, prompt) == {work}


def test_a_title_registered_with_lookalike_letters_is_found_by_its_latin_spelling() -> None:
    index = AhoCorasickAliasIndex()
    work = uuid4()
    index.add(work, ("Z\u043erbl\u0430\u0445",))  # registered with Cyrillic \u043e and \u0445
    assert found(index, "zorblax at the beach") == {work}
    assert found(index, "a zebra at the beach") == set()


def test_lookalikes_do_not_make_other_words_match() -> None:
    index = AhoCorasickAliasIndex()
    index.add(uuid4(), ("Zorblax",))
    cat_on_a_roof = "\u041a\u043e\u0442 \u043d\u0430 \u043a\u0440\u044b\u0448\u0435"
    assert found(index, cat_on_a_roof) == set()  # ordinary Cyrillic text
    assert found(index, "zorbla") == set()


def test_accented_alias_matches_plain_prompt() -> None:
    index = AhoCorasickAliasIndex()
    work = uuid4()
    index.add(work, ("Amélie Poulain",))
    assert found(index, "amelie poulain at a cafe") == {work}


@pytest.mark.parametrize("prompt", ["pikkachu", "piikaachuuu", "PPikachu"])
def test_doubled_letters_still_find_the_work(index: AhoCorasickAliasIndex, prompt: str) -> None:
    assert found(index, prompt) == {PIKACHU}


@pytest.mark.parametrize(
    "prompt", ["mickeymouse waves", "Mickey  Mouse waves", "mickey-mouse waves", "MICKEY MOUSE"]
)
def test_multi_word_alias_matches_with_any_spacing(
    index: AhoCorasickAliasIndex, prompt: str
) -> None:
    assert found(index, prompt) == {MICKEY}


def test_alias_inside_another_word_does_not_match() -> None:
    index = AhoCorasickAliasIndex()
    art = uuid4()
    index.add(art, ("Art",))
    assert found(index, "start the party") == set()
    assert found(index, "the artist paints") == set()
    assert found(index, "pop art poster") == {art}


def test_alias_at_the_start_of_a_longer_word_does_not_match(
    index: AhoCorasickAliasIndex,
) -> None:
    assert found(index, "pikachus everywhere") == set()
    assert found(index, "superpikachu") == set()


def test_alias_spanning_a_doubled_letter_between_words_matches() -> None:
    index = AhoCorasickAliasIndex()
    keeper, book = uuid4(), uuid4()
    index.add(keeper, ("Keeper",))
    index.add(book, ("Book",))
    hits = {(h.work_id, h.start, h.end) for h in index.find("book keeper")}
    assert hits == {(book, 0, 4), (keeper, 5, 11)}


def test_offsets_point_into_the_original_prompt(index: AhoCorasickAliasIndex) -> None:
    prompt = "Draw   Pí-ka-chu!! next to mickey  mouse."
    hits = index.find(prompt)
    spans = {h.work_id: prompt[h.start : h.end] for h in hits}
    assert spans == {PIKACHU: "Pí-ka-chu", MICKEY: "mickey  mouse"}


def test_offsets_cover_a_combining_accent_at_the_end() -> None:
    index = AhoCorasickAliasIndex()
    work = uuid4()
    index.add(work, ("Pokemon",))
    prompt = "a Pokemone\u0301 card"
    assert found(index, prompt) == set()
    prompt = "a Pokemo\u0301n\u0301 card"
    (hit,) = index.find(prompt)
    assert prompt[hit.start : hit.end] == "Pokemo\u0301n\u0301"


def test_alias_in_a_script_without_spaces_is_found_inside_a_sentence() -> None:
    index = AhoCorasickAliasIndex()
    work = uuid4()
    index.add(work, ("ピカチュウ",))
    prompt = "森でピカチュウが走る"
    (hit,) = index.find(prompt)
    assert prompt[hit.start : hit.end] == "ピカチュウ"


def test_latin_alias_next_to_a_script_without_spaces_is_found(
    index: AhoCorasickAliasIndex,
) -> None:
    assert found(index, "森でPikachuが走る") == {PIKACHU}


def test_hit_reports_the_alias_that_matched() -> None:
    index = AhoCorasickAliasIndex()
    work = uuid4()
    index.add(work, ("Pikachu", "Electric Mouse"))
    (hit,) = index.find("an electric mouse")
    assert (hit.alias, hit.method, hit.score) == ("Electric Mouse", "alias", 1.0)


def test_two_works_sharing_an_alias_are_both_reported() -> None:
    index = AhoCorasickAliasIndex()
    first, second = uuid4(), uuid4()
    index.add(first, ("The Dragon",))
    index.add(second, ("the dragon", "Smaug"))
    hits = index.find("the dragon sleeps")
    assert {h.work_id for h in hits} == {first, second}
    assert {(h.start, h.end) for h in hits} == {(0, 10)}


def test_overlapping_aliases_are_all_reported() -> None:
    index = AhoCorasickAliasIndex()
    mouse, mickey = uuid4(), uuid4()
    index.add(mouse, ("Mouse King",))
    index.add(mickey, ("Mickey Mouse",))
    assert found(index, "mickey mouse king") == {mouse, mickey}


def test_same_work_named_twice_in_one_place_is_reported_once() -> None:
    index = AhoCorasickAliasIndex()
    work = uuid4()
    index.add(work, ("Pikachu", "PIKACHU", "pika chu"))
    assert len(index.find("pikachu")) == 1


def test_each_occurrence_of_a_work_is_reported(index: AhoCorasickAliasIndex) -> None:
    hits = index.find("pikachu and another pikachu")
    assert [(h.start, h.end) for h in hits] == [(0, 7), (20, 27)]


@pytest.mark.parametrize("alias", ["Up", "A", "!!", "  x  ", "aaa", "Oo"])
def test_alias_shorter_than_three_letters_is_rejected(alias: str) -> None:
    index = AhoCorasickAliasIndex()
    with pytest.raises(ValueError, match="shorter than 3"):
        index.add(uuid4(), ("Long enough", alias))
    assert len(index) == 0


def test_rejected_alias_leaves_the_existing_work_unchanged(
    index: AhoCorasickAliasIndex,
) -> None:
    with pytest.raises(ValueError):
        index.add(PIKACHU, ("Raichu", "Up"))
    assert found(index, "pikachu") == {PIKACHU}
    assert found(index, "raichu") == set()


def test_equal_keys_mean_equal_names() -> None:
    assert alias_key("Pí-ka-chu!") == alias_key("pikkachu") == "pikachu"


@pytest.mark.parametrize(
    "text",
    ["Straße", "a!!b", "P!k@chu $5", "e\u0301\u0301 \u0301x", "\uff28\uff49", "ﬁne", "bo okk", ""],
)
def test_alias_key_is_the_compact_form_of_a_prompt(text: str) -> None:
    assert alias_key(text) == normalise(text).compact


def test_removed_work_is_no_longer_found(index: AhoCorasickAliasIndex) -> None:
    index.remove(PIKACHU)
    assert found(index, "pikachu and mickey mouse") == {MICKEY}
    assert len(index) == 1


def test_removing_an_unknown_work_is_harmless(index: AhoCorasickAliasIndex) -> None:
    index.remove(uuid4())
    assert len(index) == 2


def test_removed_work_from_the_base_is_no_longer_found() -> None:
    index = AhoCorasickAliasIndex()
    index.bulk_load([(PIKACHU, ("Pikachu",)), (MICKEY, ("Mickey Mouse",))])
    index.remove(PIKACHU)
    assert found(index, "pikachu and mickey mouse") == {MICKEY}


def test_adding_a_work_again_replaces_its_aliases() -> None:
    index = AhoCorasickAliasIndex()
    index.bulk_load([(PIKACHU, ("Pikachu",))])
    index.add(PIKACHU, ("Raichu",))
    assert found(index, "pikachu") == set()
    assert found(index, "raichu") == {PIKACHU}
    assert len(index) == 1


def test_work_added_after_bulk_load_is_found_immediately() -> None:
    index = AhoCorasickAliasIndex()
    index.bulk_load((uuid4(), (f"Bulkwork {name(n)}",)) for n in range(1_000))
    newcomer = uuid4()
    index.add(newcomer, ("Newcomer",))
    assert found(index, "the newcomer arrives") == {newcomer}
    assert len(index) == 1_001
    assert index.stats().delta_aliases == 1


def test_bulk_load_makes_every_work_findable() -> None:
    index = AhoCorasickAliasIndex()
    works = {uuid4(): f"Loaded Work {name(n)}" for n in range(200)}
    index.bulk_load((w, (alias,)) for w, alias in works.items())
    for work, alias in works.items():
        assert found(index, f"show {alias} now") == {work}


def test_bulk_load_leaves_out_short_stored_aliases_instead_of_failing_a_start(
        index: AhoCorasickAliasIndex) -> None:
    fine, mixed = uuid4(), uuid4()
    index.bulk_load([(fine, ("Fine name",)), (mixed, ("Up", "Upsy Daisy"))])
    assert found(index, "a fine name") == {fine}
    assert found(index, "upsy daisy waves") == {mixed}
    assert found(index, "look up") == set()


def test_unusable_names_the_aliases_the_index_would_refuse(
        index: AhoCorasickAliasIndex) -> None:
    assert index.unusable(("Up", "Zoo", "Pikachu", "O-o")) == ("Up", "Zoo", "O-o")


def test_changes_made_while_a_bulk_load_builds_win_over_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = AhoCorasickAliasIndex(base_shards=1)
    newcomer = uuid4()
    build = aliases_module._automaton_for
    interfered = False

    def build_while_others_write(*args: Any) -> Any:
        nonlocal interfered
        if not interfered and args[1:] == (0, 1):  # the base build, not a delta rebuild
            interfered = True
            index.add(PIKACHU, ("Raichu",))
            index.remove(MICKEY)
            index.add(newcomer, ("Newcomer",))
        return build(*args)

    monkeypatch.setattr(aliases_module, "_automaton_for", build_while_others_write)
    index.bulk_load([(PIKACHU, ("Pikachu",)), (MICKEY, ("Mickey Mouse",))])
    assert interfered
    assert found(index, "pikachu, raichu, mickey mouse, newcomer") == {PIKACHU, newcomer}
    assert {h.alias for h in index.find("raichu")} == {"Raichu"}
    assert len(index) == 2


def test_fold_keeps_every_work_findable() -> None:
    index = AhoCorasickAliasIndex(fold_threshold=5, background_fold=False)
    works = {uuid4(): f"Foldwork {name(n)}" for n in range(40)}
    for work, alias in works.items():
        index.add(work, (alias,))
    removed = next(iter(works))
    index.remove(removed)
    stats = index.stats()
    assert stats.delta_aliases <= 5  # folds did happen
    assert stats.base_keys >= 30
    for work, alias in works.items():
        assert found(index, f"{alias}.") == (set() if work == removed else {work})


def test_fold_purges_tombstones() -> None:
    index = AhoCorasickAliasIndex(background_fold=False)
    index.bulk_load([(PIKACHU, ("Pikachu",)), (MICKEY, ("Mickey Mouse",))])
    index.remove(PIKACHU)
    index.add(MICKEY, ("Steamboat Willie",))
    index.fold()
    stats = index.stats()
    assert (stats.tombstones, stats.delta_aliases, stats.base_keys) == (0, 0, 1)
    assert found(index, "steamboat willie") == {MICKEY}
    assert found(index, "pikachu or mickey mouse") == set()


def test_background_fold_keeps_every_work_findable() -> None:
    index = AhoCorasickAliasIndex(fold_threshold=3)
    works = {uuid4(): f"Backgroundwork {name(n)}" for n in range(100)}
    for work, alias in works.items():
        index.add(work, (alias,))
        assert found(index, alias) == {work}
    index.fold()  # waits for any fold in flight, then folds the rest
    assert index.stats().delta_aliases == 0
    assert all(found(index, alias) == {work} for work, alias in works.items())


def test_concurrent_find_during_add_never_errors_and_finds_old_works() -> None:
    index = AhoCorasickAliasIndex(fold_threshold=20)
    old = {uuid4(): f"Oldwork {name(n)}" for n in range(300)}
    index.bulk_load((w, (a,)) for w, a in old.items())
    prompt = " and ".join(old.values())
    stop = threading.Event()
    failures: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                seen = {h.work_id for h in index.find(prompt)}
            except Exception as error:  # the test reports it instead of a silent thread
                failures.append(repr(error))
                return
            if not old.keys() <= seen:
                failures.append(f"missed {len(old.keys() - seen)} old works")
                return

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        added = {uuid4(): f"Newwork {name(n)}" for n in range(300)}
        for work, alias in added.items():
            index.add(work, (alias,))
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert failures == []
    assert len(index) == 600
    assert all(found(index, alias) == {work} for work, alias in added.items())


def test_find_on_an_empty_index_or_prompt_returns_nothing(
    index: AhoCorasickAliasIndex,
) -> None:
    assert AhoCorasickAliasIndex().find("pikachu") == []
    assert index.find("") == []
    assert index.find("   !!! ...") == []


def test_unconfigured_semantic_matcher_says_so_and_finds_nothing() -> None:
    matcher = NotConfiguredSemanticMatcher()
    assert matcher.configured is False
    assert matcher.find("a yellow electric mouse") == []
