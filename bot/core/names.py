"""Finding which pupil a message is about, forgivingly.

People type "amy", "Amy Carter", "amys review" or "Aimy". A message is split
into words; the words that could be a name are compared with the first and
last names of the pupils the person may see (never anyone else's), exactly
first and then allowing a small misspelling. A full name beats a first or
last name alone, and several equally good matches are all returned, so the
caller can ask which one was meant.

``name_like_words`` also tells whether a message names somebody at all, so a
parent who asks about another child is refused rather than shown their own.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
POSSESSIVE = re.compile(r"['’]s$|s['’]$")

# Words of look-up questions that are never a pupil's name.
NOT_NAMES = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "day",
        "days",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "due",
        "for",
        "from",
        "get",
        "gets",
        "getting",
        "give",
        "go",
        "going",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "know",
        "last",
        "let",
        "like",
        "me",
        "month",
        "months",
        "more",
        "my",
        "next",
        "no",
        "not",
        "now",
        "of",
        "off",
        "on",
        "or",
        "our",
        "out",
        "over",
        "please",
        "plan",
        "plans",
        "show",
        "so",
        "some",
        "tell",
        "than",
        "thanks",
        "thank",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "up",
        "us",
        "want",
        "was",
        "we",
        "week",
        "weeks",
        "were",
        "what",
        "whats",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "year",
        "years",
        "you",
        "your",
        "yours",
        "ok",
        "okay",
        "hi",
        "hello",
        "review",
        "reviews",
        "reviewed",
        "meeting",
        "meetings",
        "target",
        "targets",
        "progress",
        "support",
        "supports",
        "supported",
        "provision",
        "intervention",
        "interventions",
        "help",
        "record",
        "records",
        "overdue",
        "booked",
        "due",
        "soon",
        "coming",
        "upcoming",
        "date",
        "dates",
        "child",
        "childs",
        "children",
        "kid",
        "kids",
        "son",
        "sons",
        "daughter",
        "daughters",
        "boy",
        "girl",
        "pupil",
        "pupils",
        "student",
        "students",
        "learner",
        "learners",
        "class",
        "teacher",
        "senco",
        "sencos",
        "school",
        "mum",
        "mums",
        "dad",
        "dads",
        "parent",
        "parents",
        "carer",
        "carers",
        "sen",
        "send",
        "ehcp",
        "ehc",
        "iep",
        "plan's",
        "getting",
        "current",
        "currently",
        "latest",
        "new",
        "next's",
        "fortnight",
        "term",
    ]
)


@dataclass(frozen=True)
class Candidate:
    """A pupil that a person may see, as far as matching needs."""

    id: int
    first_name: str
    last_name: str
    label: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Ordinary English word forms, from the lemma table of ``spacy-lookups-data``."""
    import spacy_lookups_data

    table = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(table, "rt", encoding="utf-8") as handle:
        lookup = json.load(handle)
    return frozenset(lookup) | frozenset(lookup.values())


def normalise(word: str) -> str:
    return POSSESSIVE.sub("", word.lower().replace("’", "'")).strip("'-")


def words(text: str) -> list[str]:
    return [normalise(match) for match in WORD.findall(text or "")]


def name_like_words(text: str) -> list[str]:
    """Words of ``text`` that look like somebody's name.

    A word counts when it is not one of the look-up words above and either
    is possessive ("Ben's"), starts with a capital letter after the first
    word, or is not an ordinary English word.
    """
    found: list[str] = []
    everyday = english_words()
    for position, raw in enumerate(WORD.findall(text or "")):
        word = normalise(raw)
        if len(word) < 2 or word in NOT_NAMES:
            continue
        possessive = bool(POSSESSIVE.search(raw.lower().replace("’", "'"))) and len(raw) > 3
        capitalised = position > 0 and raw[0].isupper() and not raw.isupper()
        if possessive or capitalised or word not in everyday:
            found.append(word)
    return found


def unexplained_names(text: str, pupil: Candidate) -> list[str]:
    """Name-like words of ``text`` that are not this pupil's first or last name."""
    own = (pupil.first_name.lower(), pupil.last_name.lower())
    return [word for word in name_like_words(text) if not any(word == name or close(word, name) for name in own)]


def edit_distance(left: str, right: str, limit: int = 2) -> int:
    """Levenshtein distance with adjacent swaps, giving up past ``limit``."""
    if abs(len(left) - len(right)) > limit:
        return limit + 1
    previous_previous: list[int] = []
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, 1):
        current = [i] + [0] * len(right)
        for j, b in enumerate(right, 1):
            cost = 0 if a == b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a == right[j - 2] and left[i - 2] == b:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return previous[-1]


def close(word: str, name: str) -> bool:
    """True when ``word`` is ``name`` with a small misspelling."""
    if len(word) < 3:
        return False
    allowed = 1 if len(name) <= 5 else 2
    return edit_distance(word, name, allowed) <= allowed


def _score(tokens: Sequence[str], pupil: Candidate) -> int:
    first, last = pupil.first_name.lower(), pupil.last_name.lower()
    everyday = english_words()

    def like(word: str, name: str) -> bool:
        # Misspellings are allowed only for words that are not ordinary English.
        return word == name or (word not in everyday and close(word, name))

    best = 0
    for index, word in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if word == first and following == last:
            return 6
        if like(word, first) and following and like(following, last):
            best = max(best, 5)
        if word in (first, last):
            best = max(best, 4)
        elif like(word, first) or like(word, last):
            best = max(best, 2)
    return best


def match(text: str, pupils: Iterable[Candidate]) -> list[Candidate]:
    """The pupils ``text`` most plausibly names; empty when it names none of them.

    Exact names are looked up first; misspellings are tried only when no
    word of the message is exactly a name, which keeps a school of hundreds
    of pupils quick to search.
    """
    tokens = [word for word in words(text) if word not in NOT_NAMES]
    if not tokens:
        return []
    pupils = list(pupils)
    wanted = set(tokens)
    exact = [pupil for pupil in pupils if pupil.first_name.lower() in wanted or pupil.last_name.lower() in wanted]
    scored = [(score, pupil) for pupil in (exact or pupils) if (score := _score(tokens, pupil))]
    if not scored:
        return []
    top = max(score for score, _ in scored)
    return sorted((pupil for score, pupil in scored if score == top), key=lambda p: (p.first_name, p.last_name, p.id))
