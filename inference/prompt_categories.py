"""Content categories of a prompt from curated keyword lists, matched with the same
normaliser and word-boundary rules as work aliases (so "k1ll" and "ki ll" count as "kill")."""

from __future__ import annotations

from domain.prompts import CATEGORIES, CategoryLabel
from inference.aliases import PhraseAutomaton, alias_key, normalise

__all__ = ["STRONG_KEYWORDS", "WEAK_KEYWORDS", "KeywordPromptClassifier"]

# Lists are matched as whole words after normalisation, which folds repeated letters and
# ignores spaces and punctuation. So a keyword also matches its single-letter spelling and
# runs of words that spell it: "shoot" would fire on the film term "wide shot", "teen" on
# "ten", "shoot her" on "wide shot, her face", "behead" on "to be head of". Such words are
# left out or replaced by longer phrases. Inflections must be listed ("gun" does not match
# "guns"). Slurs are deliberately absent: they belong in a maintained lexicon loaded at
# deployment, not in source code. "minor" is weak because of "a minor detail".

# Strong: the word alone places the prompt in the category.
STRONG_KEYWORDS: dict[str, tuple[str, ...]] = {
    "violence": (
        "kill", "killing", "killed", "murder", "murdered", "murdering", "massacre",
        "decapitate", "decapitated", "decapitation", "dismember", "dismembered", "stab",
        "stabbing", "stabbed", "torture", "tortured", "gory", "bloodbath", "mass shooting",
        "bludgeon", "slaughter", "lynching",
    ),
    "sexual": (
        "porn", "porno", "pornographic", "pornography", "nude", "nudes", "nudity", "naked",
        "sex", "sexual", "intercourse", "nsfw", "hentai", "topless", "genitals", "erotic",
        "orgasm", "striptease", "masturbate", "masturbation", "blowjob",
    ),
    "political": (
        "election", "elections", "electoral", "ballot", "ballots", "vote for", "voting",
        "campaign ad", "political", "politician", "politics", "president", "presidential",
        "prime minister", "senator", "congressman", "congresswoman", "parliament",
        "political party", "democrat", "democrats", "republican", "republicans",
        "referendum", "polling station",
    ),
    "hate": (
        "nazi", "nazis", "neo nazi", "swastika", "white power", "white supremacy",
        "white supremacist", "supremacist", "ku klux klan", "ethnic cleansing", "heil hitler",
        "master race", "subhuman", "untermensch", "racial purity", "hate crime",
    ),
    "self_harm": (
        "suicide", "suicidal", "self harm", "self harming", "self injury", "cut myself",
        "cutting myself", "slit wrists", "slit my wrists", "hang myself", "kill myself",
        "end my life", "pro ana", "thinspiration",
    ),
    "minors": (
        "child", "children", "underage", "preteen", "preteens", "toddler", "toddlers",
        "loli", "lolicon", "schoolgirl", "schoolboy", "kindergarten", "elementary school",
    ),
}

# Weak: ambiguous on its own (a kiss, a gun on a film set); the gate sends it to review.
WEAK_KEYWORDS: dict[str, tuple[str, ...]] = {
    "violence": (
        "shooting", "shootout", "gun", "guns", "gunshot", "rifle", "blood", "bloody", "gore",
        "fight", "fighting", "weapon", "weapons", "knife", "war", "explosion", "bomb",
        "attack", "punch", "execution", "corpse", "dead body", "assault",
    ),
    "sexual": (
        "kiss", "kissing", "sexy", "lingerie", "bikini", "seductive", "sensual", "underwear",
        "intimate", "cleavage", "lust", "undress", "undressing", "bedroom", "provocative",
    ),
    "political": (
        "government", "protest", "protesters", "rally", "minister", "campaign", "debate",
        "senate", "congress", "vote", "votes", "propaganda", "dictator", "activist",
    ),
    "hate": (
        "hitler", "racist", "racism", "extremist", "confederate flag", "supremacy",
        "segregation", "antisemitic", "islamophobic", "homophobic",
    ),
    "self_harm": (
        "overdose", "razor blade", "self destruct", "depressed", "starving myself",
        "jump off a bridge", "want to die", "pills",
    ),
    "minors": (
        "kid", "kids", "teenager", "teenagers", "young girl", "young boy", "little girl",
        "little boy", "baby", "infant", "minor", "minors", "student", "high school", "school",
    ),
}


class KeywordPromptClassifier:
    """`PromptClassifier` from keyword lists on one pyahocorasick automaton, built once: a
    single pass over the prompt checks every keyword of every category. Cheap and
    explainable (evidence is the words that matched), but blind to meaning: "a kiss on the
    cheek" and euphemisms alike are judged by their words alone."""

    def __init__(
        self,
        strong: dict[str, tuple[str, ...]] | None = None,
        weak: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        strong = STRONG_KEYWORDS if strong is None else strong
        weak = WEAK_KEYWORDS if weak is None else weak
        entries: list[tuple[str, tuple[str, bool]]] = []
        for certain, lists in ((True, strong), (False, weak)):
            for category, words in lists.items():
                if category not in CATEGORIES:
                    raise ValueError(f"unknown category {category!r}")
                entries.extend((alias_key(word), (category, certain)) for word in words)
        self._automaton = PhraseAutomaton(entries)

    def classify(self, prompt: str) -> list[CategoryLabel]:
        text = normalise(prompt)
        certain: dict[str, bool] = {}
        evidence: dict[str, dict[str, None]] = {}  # dict as an ordered set
        for start, end, payloads in self._automaton.find(text):
            word = prompt[start:end]
            for category, strong in payloads:
                certain[category] = certain.get(category, False) or strong
                evidence.setdefault(category, {})[word] = None
        return [
            CategoryLabel(category=c, certain=certain[c], evidence=tuple(evidence[c]))
            for c in CATEGORIES
            if c in certain
        ]
