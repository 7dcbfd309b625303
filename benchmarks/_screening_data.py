"""The labelled prompt-screening set (benchmarks/data/prompt_screening_*) and generated works
that stand for a large catalogue: syllable names and descriptions drawn from word lists."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

SYLLABLES = ["ka", "zu", "mi", "ro", "tan", "vel", "qui", "dor", "bex", "lio", "pha", "nor",
             "gri", "sol", "xan", "tey", "mur", "fen", "o", "yl"]
ADJECTIVES = ["cheerful", "grumpy", "tiny", "colossal", "ancient", "clockwork", "glowing",
              "shy", "boastful", "sleepy", "fearless", "clumsy", "elegant", "scruffy",
              "mischievous", "noble", "nervous", "jolly", "sinister", "dreamy", "stern",
              "giggling", "melancholy", "heroic", "sneaky", "wise", "frantic", "gentle"]
SPECIES = ["otter", "badger", "raven", "tortoise", "llama", "penguin", "moth", "goblin",
           "dragon", "snail", "walrus", "yeti", "robot", "ghost", "mermaid", "troll",
           "jellyfish", "beetle", "armadillo", "pangolin", "squid", "wizard", "gnome",
           "cactus", "mushroom", "lantern", "meerkat", "narwhal", "sloth", "panda", "koala",
           "crab", "ostrich", "bat", "salamander", "owl", "pelican", "tapir", "lynx", "elf"]
ROLES = ["detective", "chef", "pilot", "blacksmith", "astronomer", "mail carrier",
         "lighthouse keeper", "bard", "gardener", "pirate", "knight", "tailor", "alchemist",
         "firefighter", "cartographer", "barista", "stage magician", "drummer", "nurse",
         "train conductor", "beekeeper", "sculptor", "surfer", "archivist", "hairdresser"]
FEATURES = ["a patchwork scarf", "copper goggles", "a glass eye", "a jetpack", "a tuba",
            "a pocket full of snails", "a crown of candles", "striped stockings",
            "a wooden leg", "a bottomless teacup", "a cape of leaves", "a laser umbrella",
            "a singing sword", "a paper crown", "an enormous moustache", "a lantern tail",
            "clockwork wings", "a compass heart", "a backpack library", "glittering horns",
            "a tin helmet", "a velvet waistcoat", "a map tattoo", "a feathered hat"]
ACTIVITIES = ["solves riddles for coins", "bakes bread for sleeping giants",
              "guards a forgotten bridge", "collects lost socks", "races snails",
              "paints murals on clouds", "repairs broken moons", "smuggles jam",
              "teaches frogs to sing", "hunts for a stolen recipe", "juggles comets",
              "writes letters to the sea", "brews thunder soup", "tames paper dragons",
              "delivers messages to ghosts", "herds glowing sheep", "sells maps of dreams",
              "counts raindrops", "chases a runaway train", "knits bridges"]
PLACES = ["in a sunken cathedral", "beneath a volcano", "on a floating lighthouse",
          "in a library of bones", "across a desert of glass", "in a city built on turtles",
          "inside a hollow moon", "on a train that never stops", "in a mushroom kingdom",
          "under a frozen waterfall", "in a marketplace on stilts", "on a comet farm",
          "in a clockwork village", "along a river of ink", "in a cloud harbour",
          "inside a giant teapot", "in a jungle of cables", "on a chessboard island"]


@dataclass(frozen=True)
class LabelledWork:
    key: str
    title: str
    aliases: tuple[str, ...]
    description: str

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"consentry-benchmark/{self.key}")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.title, *self.aliases)


@dataclass(frozen=True)
class LabelledPrompt:
    prompt: str
    work: str | None  # the key of the work it refers to; None for a negative
    kind: str


def labelled_works() -> list[LabelledWork]:
    rows = json.loads((DATA / "prompt_screening_works.json").read_text())
    return [LabelledWork(r["key"], r["title"], tuple(r["aliases"]), r["description"])
            for r in rows]


def labelled_prompts() -> list[LabelledPrompt]:
    lines = (DATA / "prompt_screening_prompts.jsonl").read_text().splitlines()
    return [LabelledPrompt(r["prompt"], r["work"], r["kind"])
            for r in (json.loads(line) for line in lines if line.strip())]


def generated_works(count: int, aliases: int = 5, seed: int = 7) -> list[LabelledWork]:
    """`count` works of `aliases` names each (the first is the title), every name distinct,
    each with a description of one adjective, species, role, feature, activity and place."""
    rng = random.Random(seed)
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < count * aliases:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4)))
        if rng.random() < 0.3:
            word += " " + "".join(rng.choice(SYLLABLES) for _ in range(2))
        if word not in seen:
            seen.add(word)
            names.append(word)
    works = []
    for i in range(count):
        own = names[i * aliases:(i + 1) * aliases]
        description = (f"A {rng.choice(ADJECTIVES)} {rng.choice(SPECIES)} "
                       f"{rng.choice(ROLES)} with {rng.choice(FEATURES)} who "
                       f"{rng.choice(ACTIVITIES)} {rng.choice(PLACES)}.")
        works.append(LabelledWork(f"generated-{seed}-{i}", own[0].title(), tuple(own[1:]),
                                  description))
    return works
