"""The evaluation question sets are well formed and stay apart from the training data.

A question set only tells us what real users will get if nothing in it, or nearly like it, is trained on.
These checks read YAML files only: no model, no servers.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import knowledge

ROOT = Path(__file__).resolve().parents[2]
REAL_STYLE_SET = ROOT / "tests" / "data" / "real_style_questions.yml"
SHARED_SET = ROOT.parent / "shared" / "eval" / "public_questions.yml"
NLU_DIR = ROOT / "data" / "nlu"

MIN_QUESTIONS = 400
MIN_OUT_OF_SCOPE = 60
MIN_STAFF = 100
KINDS = {"in_scope", "out_of_scope"}
AUDIENCES = {"parent", "staff"}
STAFF_PREFIX = "[staff] "

# Two texts are too close when their character trigrams overlap this much (Jaccard),
# or when a shorter text of at least MIN_CONTAINED words (the length of a question, not of a
# term such as "individual healthcare plan") appears whole inside the other.
SIMILARITY = 0.8
MIN_CONTAINED = 6

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
# Rasa entity annotations: [text](entity), [text](entity:value) or [text]{"entity": ...}.
ENTITY = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
NOT_WORD = re.compile(r"[^\w\s]|_")
SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Text:
    """One question or training example: where it came from and its text as written."""

    label: str
    text: str


def normalise(text: str) -> str:
    """Lower-case, drop the staff prefix, keep letters, digits and spaces, collapse spaces."""
    text = text.lower().strip()
    if text.startswith(STAFF_PREFIX):
        text = text[len(STAFF_PREFIX) :]
    return SPACES.sub(" ", NOT_WORD.sub("", text)).strip()


def trigrams(text: str) -> frozenset[str]:
    """Character trigrams of a normalised text (the whole text when it is shorter than three)."""
    if len(text) < 3:
        return frozenset([text]) if text else frozenset()
    return frozenset(text[i : i + 3] for i in range(len(text) - 2))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


class TrigramIndex:
    """Normalised texts with a trigram index, so a lookup only compares texts that share rare trigrams."""

    def __init__(self, texts: Iterable[Text]) -> None:
        self.items = list(texts)
        self.norms = [normalise(item.text) for item in self.items]
        self.grams = [trigrams(norm) for norm in self.norms]
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, grams in enumerate(self.grams):
            for gram in grams:
                self.postings[gram].append(i)

    def rarest_first(self, grams: frozenset[str]) -> list[str]:
        return sorted(grams, key=lambda gram: (len(self.postings.get(gram, ())), gram))

    def similar(self, grams: frozenset[str]) -> Iterable[tuple[int, float]]:
        """Indexed texts whose Jaccard similarity with ``grams`` is at least SIMILARITY.

        A text that similar holds at least SIMILARITY * |grams| of these trigrams, so it shares one of the
        rarest |grams| - int(SIMILARITY * |grams|) + 1; only texts found through those are compared.
        """
        if not grams:
            return
        needed = int(SIMILARITY * len(grams))
        candidates: set[int] = set()
        for gram in self.rarest_first(grams)[: len(grams) - needed + 1]:
            candidates.update(self.postings.get(gram, ()))
        for i in candidates:
            score = jaccard(grams, self.grams[i])
            if score >= SIMILARITY:
                yield i, score

    def containing(self, norm: str, grams: frozenset[str]) -> Iterable[int]:
        """Indexed texts that contain ``norm`` whole (they must hold all its trigrams, the rarest first)."""
        if not grams:
            return
        order = self.rarest_first(grams)
        candidates = set(self.postings.get(order[0], ()))
        for gram in order[1:3]:
            candidates &= set(self.postings.get(gram, ()))
        for i in candidates:
            if norm in self.norms[i]:
                yield i


def near_duplicates(questions: Iterable[Text], examples: Iterable[Text]) -> list[str]:
    """One line for each question/example pair that is equal, nearly equal or contained one in the other."""
    question_index = TrigramIndex(questions)
    example_index = TrigramIndex(examples)
    found: dict[tuple[int, int], str] = {}

    by_norm: dict[str, list[int]] = defaultdict(list)
    for j, norm in enumerate(example_index.norms):
        by_norm[norm].append(j)
    for i, norm in enumerate(question_index.norms):
        for j in by_norm.get(norm, ()):
            found[i, j] = "same text"

    for i, (norm, grams) in enumerate(zip(question_index.norms, question_index.grams, strict=True)):
        for j, score in example_index.similar(grams):
            found.setdefault((i, j), f"trigram similarity {score:.2f}")
        if len(norm.split()) >= MIN_CONTAINED:
            for j in example_index.containing(norm, grams):
                found.setdefault((i, j), "question inside example")

    for j, (norm, grams) in enumerate(zip(example_index.norms, example_index.grams, strict=True)):
        if len(norm.split()) >= MIN_CONTAINED:
            for i in question_index.containing(norm, grams):
                found.setdefault((i, j), "example inside question")

    return [
        f"{question_index.items[i].label} {question_index.items[i].text!r}\n"
        f"    ~ {example_index.items[j].label} {example_index.items[j].text!r} ({why})"
        for (i, j), why in sorted(found.items())
    ]


def training_examples() -> list[Text]:
    """Every intent example in data/nlu/*.yml, with entity annotations reduced to their text, and every way of
    asking a question-level answer in knowledge/answers/ (the pipeline trains on those too)."""
    examples: list[Text] = [
        Text(f"knowledge/answers:{answer.id}", text) for answer in knowledge.answers().values() for text in answer.asks
    ]
    for path in sorted(NLU_DIR.glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" not in block or not isinstance(block.get("examples"), str):
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    label = f"{path.relative_to(ROOT)}:{block['intent']}"
                    examples.append(Text(label, ENTITY.sub(r"\1", line[2:]).strip()))
    return examples


def load_questions(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]


def question_texts(questions: list[dict[str, Any]]) -> list[Text]:
    return [Text(str(q.get("id")), str(q.get("text") or "")) for q in questions]


@pytest.fixture(scope="module")
def examples() -> list[Text]:
    found = training_examples()
    assert found, f"no intent examples found under {NLU_DIR}"
    return found


@pytest.fixture(scope="module")
def real_style() -> list[dict[str, Any]]:
    return load_questions(REAL_STYLE_SET)


def _shape_problems(q: dict[str, Any]) -> list[str]:
    """What is wrong with one question, so the failure names every bad field at once."""
    problems: list[str] = []
    text = q.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("empty text")
    if q.get("kind") not in KINDS:
        problems.append(f"kind {q.get('kind')!r} not in {sorted(KINDS)}")
    if q.get("audience") not in AUDIENCES:
        problems.append(f"audience {q.get('audience')!r} not in {sorted(AUDIENCES)}")
    elif isinstance(text, str) and text.startswith(STAFF_PREFIX) != (q["audience"] == "staff"):
        problems.append(f"the {STAFF_PREFIX.strip()!r} prefix does not match audience {q['audience']!r}")
    if q.get("kind") != "in_scope":
        return problems
    topic, answer = q.get("topic"), q.get("answer")
    if not isinstance(topic, str) or not SNAKE.match(topic):
        problems.append(f"topic {topic!r} is not a snake_case key")
    elif not isinstance(answer, str) or not answer.startswith(topic + ".") or not SNAKE.match(answer[len(topic) + 1 :]):
        problems.append(f"answer {answer!r} is not of the form {topic}.<snake_case_name>")
    groups = q.get("expect_all")
    if not isinstance(groups, list) or not groups:
        problems.append("in_scope question without expect_all")
        return problems
    for group in groups:
        if not isinstance(group, list) or not group:
            problems.append(f"expect_all group {group!r} is not a non-empty list")
            continue
        for phrase in group:
            if not isinstance(phrase, str) or not phrase.strip():
                problems.append(f"empty phrase in {group!r}")
            elif phrase != phrase.lower() or "'" in phrase or "\u2019" in phrase:
                problems.append(f"phrase {phrase!r} must be lower-case without apostrophes")
    return problems


def test_real_style_set_shape(real_style: list[dict[str, Any]]) -> None:
    """The set is big and varied enough to measure with, and every question can be graded."""
    ids = Counter(q.get("id") for q in real_style)
    repeated = sorted(str(i) for i, n in ids.items() if n > 1)
    assert not repeated, f"repeated ids: {repeated}"

    bad = {str(q.get("id")): problems for q in real_style if (problems := _shape_problems(q))}
    assert not bad, "malformed questions:\n" + "\n".join(f"{i}: {'; '.join(p)}" for i, p in bad.items())

    norms = Counter(normalise(q["text"]) for q in real_style)
    twice = sorted(norm for norm, n in norms.items() if n > 1)
    assert not twice, f"questions asked twice: {twice}"

    kinds = Counter(q["kind"] for q in real_style)
    staff = sum(q["audience"] == "staff" for q in real_style)
    assert len(real_style) >= MIN_QUESTIONS, f"{len(real_style)} questions, want at least {MIN_QUESTIONS}"
    assert kinds["out_of_scope"] >= MIN_OUT_OF_SCOPE, f"{kinds['out_of_scope']} out of scope, want {MIN_OUT_OF_SCOPE}"
    assert staff >= MIN_STAFF, f"{staff} staff questions, want at least {MIN_STAFF}"


def test_real_style_set_is_not_in_training_data(real_style: list[dict[str, Any]], examples: list[Text]) -> None:
    """A question the model has (nearly) seen would measure memory, not understanding."""
    pairs = near_duplicates(question_texts(real_style), examples)
    assert not pairs, f"{len(pairs)} questions too close to training examples:\n" + "\n".join(pairs)


def test_shared_set_is_not_in_training_data(examples: list[Text]) -> None:
    """The shared public set is graded independently, so training must not copy it either."""
    if not SHARED_SET.parent.is_dir():
        pytest.skip(f"no shared question set here ({SHARED_SET.parent} is absent)")
    try:
        questions = load_questions(SHARED_SET)
    except OSError as error:
        pytest.skip(f"cannot read the shared question set {SHARED_SET}: {error}")
    pairs = near_duplicates(question_texts(questions), examples)
    assert not pairs, f"{len(pairs)} shared questions too close to training examples:\n" + "\n".join(pairs)


STAFF_SESSIONS = ROOT / "tests" / "data" / "staff_sessions"
FIELDS_DIR = ROOT / "knowledge" / "fields"
SESSION_PART_BREAK = re.compile(r"\n+|(?<=[.!?;])\s+")
MIN_PART_WORDS = 4  # "keep", "no" or "skip" are everyone's words, not a copied example


def field_examples() -> list[Text]:
    """What staff write under each plan and review heading (knowledge/fields/), which the field reader learns."""
    found = []
    for path in sorted(FIELDS_DIR.glob("*.yml")):
        for key, items in (yaml.safe_load(path.read_text(encoding="utf-8")).get("fields") or {}).items():
            found.extend(Text(f"knowledge/fields/{path.stem}:{key}", str(item)) for item in items)
    return found


def staff_session_parts() -> list[Text]:
    """Every line and sentence staff type in the scripted sessions, as the field reader would see them."""
    found = []
    for path in sorted(STAFF_SESSIONS.glob("*.yml")):
        for number, turn in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")).get("turns") or []):
            if isinstance(turn, str):
                for part in SESSION_PART_BREAK.split(turn):
                    if len(part.split()) >= MIN_PART_WORDS:
                        found.append(Text(f"{path.name}[{number}]", part.strip(" -*•")))
    return found


def test_staff_sessions_are_not_in_any_training_data(examples: list[Text]) -> None:
    """The scripted sessions judge the field reader and the walk, so nothing either learns from may copy them."""
    parts = staff_session_parts()
    assert len(parts) > 100, f"the staff sessions under {STAFF_SESSIONS} were not found"
    learned = field_examples()
    assert len(learned) > 500, f"the field examples under {FIELDS_DIR} were not found"
    pairs = near_duplicates(parts, learned + examples)
    assert not pairs, f"{len(pairs)} session lines too close to training examples:\n" + "\n".join(pairs)


def test_detector_flags_a_near_copy() -> None:
    """One word changed in a ten-word sentence is still the same question."""
    question = Text("Q", "[staff] Does the school have to tell me about SEN support?")
    example = Text("E", "does the school have to tell us about sen support")
    assert len(near_duplicates([question], [example])) == 1


def test_detector_flags_exact_and_contained_copies() -> None:
    """Punctuation, case and extra words around a copied line do not hide it."""
    example = Text("E", "how long does the council have to decide")
    exact = Text("Q1", "How long does the Council have to decide??")
    longer = Text("Q2", "sorry to ask but how long does the council have to decide on an assessment")
    assert len(near_duplicates([exact, longer], [example])) == 2


def test_detector_leaves_different_questions_on_one_topic_alone() -> None:
    """Two questions on one topic are not duplicates because they share words, nor is a short common phrase."""
    question = Text("Q", "How long does the council have to decide whether to assess my daughter?")
    example = Text("E", "what is the deadline for the final EHC plan after the assessment")
    short = Text("S", "decide whether to assess")
    assert near_duplicates([question], [example, short]) == []
