"""The assistant's knowledge: topics, council profiles and how answers are worded.

Everything here is plain data loaded from YAML files beside this module and
plain functions over it, so it is used the same way by the action server,
the tests and the data checks. Nothing here knows about Rasa.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

HERE = Path(__file__).resolve().parent
TOPICS_DIR = HERE / "topics"
ANSWERS_DIR = HERE / "answers"
COUNCILS_DIR = HERE / "councils"
COUNCIL_SCHEMA = HERE / "council.schema.json"
AUDIENCES = ("parents", "staff", "both")
INTENT_PREFIX = "ask_"
CONTACT_FIELDS = ("phone", "email", "url")  # the parts of a council's local_offer or sendiass that are contacts
# Contacts recorded with how they were checked. The hand-over inbox is where a conversation is passed to a
# person, so it is never among the ways to reach the service that answers show.
CHECKED_CONTACTS = (*CONTACT_FIELDS, "handover_inbox")
UNCONFIRMED = "(please check this on the council's website)"


class KnowledgeError(ValueError):
    """A knowledge file is missing something an answer needs."""


@dataclass(frozen=True)
class Source:
    doc: str
    ref: str

    def cite(self) -> str:
        """The source as a reader sees it, e.g. 'SEND Code of Practice (2015), para 6.44'."""
        document = documents()[self.doc]
        ref = self.ref.strip()
        if not ref:
            return document["short"]
        if document["refs"] == "paragraphs" and not ref.startswith("chapter"):
            plural = any(mark in ref for mark in "-,–")
            return f"{document['short']}, {'paras' if plural else 'para'} {ref}"
        return f"{document['short']}, {ref}"


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Topic:
    key: str
    intent: str
    title: str
    audience: str
    answer: str
    more: str
    sources: tuple[Source, ...]
    links: tuple[Link, ...] = ()
    related: tuple[str, ...] = ()

    def citation(self) -> str:
        return "; ".join(source.cite() for source in self.sources)


@dataclass(frozen=True)
class ContactCheck:
    """Whether a council contact (a phone number, email or web address) has been confirmed, when and against what."""

    confirmed: bool
    checked: str | None  # the date it was last confirmed, or None if it never has been
    against: str = ""


@dataclass(frozen=True)
class Council:
    id: str
    name: str
    short_name: str
    local_offer: dict[str, str]
    sendiass: dict[str, str]
    sources: tuple[str, ...] = field(default_factory=tuple)
    checks: dict[str, ContactCheck] = field(default_factory=dict)  # by "sendiass.phone", "local_offer.url", ...

    def confirmed(self, part: str, name: str) -> bool:
        """Whether a contact, such as ("sendiass", "phone"), has been confirmed against a source."""
        check = self.checks.get(f"{part}.{name}")
        return bool(check and check.confirmed)

    def contact(self, part: str, name: str) -> str:
        """A contact as people are shown it: an unconfirmed one carries a note to check it."""
        value: str = getattr(self, part)[name]
        return value if self.confirmed(part, name) else f"{value} {UNCONFIRMED}"


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def documents() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = _read_yaml(HERE / "documents.yml")
    return loaded


def _topic_from(path: Path) -> Topic:
    raw = _read_yaml(path)
    key = path.stem
    missing = [name for name in ("intent", "title", "audience", "answer", "more", "sources") if not raw.get(name)]
    if missing:
        raise KnowledgeError(f"{path.name}: missing {', '.join(missing)}")
    if raw["audience"] not in AUDIENCES:
        raise KnowledgeError(f"{path.name}: audience must be one of {AUDIENCES}")
    sources = tuple(Source(doc=item["doc"], ref=str(item.get("ref", ""))) for item in raw["sources"])
    unknown = [source.doc for source in sources if source.doc not in documents()]
    if unknown:
        raise KnowledgeError(f"{path.name}: unknown source documents {unknown}")
    return Topic(
        key=key,
        intent=raw["intent"],
        title=raw["title"],
        audience=raw["audience"],
        answer=str(raw["answer"]).strip(),
        more=str(raw["more"]).strip(),
        sources=sources,
        links=tuple(Link(**link) for link in raw.get("links") or ()),
        related=tuple(raw.get("related") or ()),
    )


@cache
def topics() -> dict[str, Topic]:
    """All topics, by key."""
    return {path.stem: _topic_from(path) for path in sorted(TOPICS_DIR.glob("*.yml"))}


@cache
def _topics_by_intent() -> dict[str, Topic]:
    return {topic.intent: topic for topic in topics().values()}


def topic_for_intent(intent: str | None) -> Topic | None:
    return _topics_by_intent().get(intent or "")


@dataclass(frozen=True)
class Answer:
    """A direct answer to one question people ask about a topic: "<topic>.<key>"."""

    id: str
    topic: str
    question: str  # as a button shows it
    text: str  # one to three sentences; a yes/no question's answer starts with its verdict
    sources: tuple[Source, ...]
    asks: tuple[str, ...]  # ways people put the question, which the retrieval learns from
    related: tuple[str, ...] = ()  # other answers' ids worth offering after this one

    def citation(self) -> str:
        return "; ".join(source.cite() for source in self.sources)


# A question starting with one of these words is a yes/no one, so its answer opens with a verdict.
YES_NO_OPENERS = ("is", "are", "can", "could", "do", "does", "did", "should", "must", "will", "would", "has", "have")
VERDICTS = ("Yes", "No", "It depends", "Not necessarily", "Usually", "Not usually", "Only", "Sometimes")
MIN_ASKS = 5


def _sources(where: str, raw: Any) -> tuple[Source, ...]:
    if not raw:
        raise KnowledgeError(f"{where}: needs at least one source")
    sources = tuple(Source(doc=item["doc"], ref=str(item.get("ref", ""))) for item in raw)
    unknown = [source.doc for source in sources if source.doc not in documents()]
    if unknown:
        raise KnowledgeError(f"{where}: unknown source documents {unknown}")
    return sources


def _answers_from(path: Path) -> list[Answer]:
    topic = path.stem
    if topic not in topics():
        raise KnowledgeError(f"answers/{path.name}: there is no topic '{topic}' in topics/")
    loaded = []
    for raw in _read_yaml(path)["answers"]:
        where = f"answers/{path.name}: {raw.get('key', '?')}"
        missing = [name for name in ("key", "question", "answer", "sources", "asks") if not raw.get(name)]
        if missing:
            raise KnowledgeError(f"{where}: missing {', '.join(missing)}")
        text = " ".join(str(raw["answer"]).split())
        question = str(raw["question"]).strip()
        if question.split()[0].lower() in YES_NO_OPENERS and not text.startswith(VERDICTS):
            raise KnowledgeError(f"{where}: a yes/no question's answer starts with {', '.join(VERDICTS)}")
        if not all(isinstance(ask, str) for ask in raw["asks"]):
            raise KnowledgeError(f"{where}: every way of asking must be plain text (quote any with a colon)")
        asks = tuple(" ".join(ask.split()) for ask in raw["asks"])
        if len(asks) < MIN_ASKS:
            raise KnowledgeError(f"{where}: give at least {MIN_ASKS} ways people ask it")
        loaded.append(
            Answer(
                id=f"{topic}.{raw['key']}",
                topic=topic,
                question=question,
                text=text,
                sources=_sources(where, raw["sources"]),
                asks=asks,
                related=tuple(raw.get("related") or ()),
            )
        )
    return loaded


@cache
def answers() -> dict[str, Answer]:
    """Every question-level answer, by id ("<topic>.<key>"), in file order."""
    result: dict[str, Answer] = {}
    for path in sorted(ANSWERS_DIR.glob("*.yml")):
        for answer in _answers_from(path):
            if answer.id in result:
                raise KnowledgeError(f"answers/{path.name}: {answer.id} is given twice")
            result[answer.id] = answer
    unknown = [(answer.id, other) for answer in result.values() for other in answer.related if other not in result]
    if unknown:
        raise KnowledgeError(f"related answers that do not exist: {unknown}")
    return result


def topic_answers(topic_key: str) -> list[Answer]:
    return [answer for answer in answers().values() if answer.topic == topic_key]


def _council_part(path: Path, part: str, raw: dict[str, Any]) -> tuple[dict[str, str], dict[str, ContactCheck]]:
    """A council's local_offer or sendiass: its plain values, and how each contact in it was checked.

    Every contact must say whether it is confirmed, so that none is shown as certain by default.
    """
    values: dict[str, str] = {}
    checks: dict[str, ContactCheck] = {}
    for name, item in raw.items():
        if name not in CHECKED_CONTACTS:
            values[name] = str(item)
            continue
        if not isinstance(item, dict) or "value" not in item or "checked" not in item:
            raise KnowledgeError(f"{path.name}: {part}.{name} needs value, confirmed and checked")
        if not isinstance(item.get("confirmed"), bool):
            raise KnowledgeError(f"{path.name}: {part}.{name}: confirmed must be true or false")
        if item["confirmed"] and not item["checked"]:
            raise KnowledgeError(f"{path.name}: {part}.{name} is confirmed, so it needs the date it was checked")
        values[name] = str(item["value"])
        checked = None if item["checked"] is None else str(item["checked"])
        checks[f"{part}.{name}"] = ContactCheck(item["confirmed"], checked, str(item.get("against") or ""))
    return values, checks


def _shown_path(path: Path) -> str:
    """A file as people name it: knowledge/councils/kent.yml inside the project, the full path elsewhere."""
    try:
        return str(path.resolve().relative_to(HERE.parent))
    except ValueError:
        return str(path)


def _as_json(value: Any) -> Any:
    """YAML reads an unquoted 2026-12-01 as a date, where the schema (like JSON) knows only text."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    return value


def _field(path: Iterable[str | int]) -> str:
    """A field's place in a council file: sendiass.phone.checked, sources[2]."""
    shown = ""
    for step in path:
        if isinstance(step, int):
            shown += f"[{step}]"
        else:
            shown += f".{step}" if shown else step
    return shown


def _written(value: Any) -> str:
    """A value as a council file writes it: null, true, 'text'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@cache
def _council_validator() -> Draft202012Validator:
    # Imported here, not above: it takes a tenth of a second, which only loading councils should cost.
    from jsonschema import Draft202012Validator

    schema = json.loads(COUNCIL_SCHEMA.read_text(encoding="utf-8"))
    # Without a format checker, "format": "date" would let 2026-13-45 through.
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _schema_problems(error: ValidationError) -> list[tuple[str, str]]:
    """One schema error as (field, what is wrong with it), in words for the person editing the file."""
    where = list(error.absolute_path)
    title = error.schema.get("title") if isinstance(error.schema, dict) else None
    # The schema's "then" holds the rule for a confirmed contact: it says when and against what.
    if "then" in error.relative_schema_path:
        if error.validator == "required":
            return [(_field([*where, "against"]), "a confirmed contact says what it was checked against")]
        if where and where[-1] == "checked":
            return [(_field(where), "a confirmed contact needs the date it was checked, written YYYY-MM-DD")]
        return [(_field(where), "a confirmed contact says what it was checked against")]
    if error.validator == "required":
        return [
            (_field([*where, name]), "required but missing")
            for name in error.validator_value
            if name not in error.instance
        ]
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        return [
            (_field([*where, name]), f"unknown field (check the spelling; allowed here: {', '.join(allowed)})")
            for name in error.instance
            if name not in allowed
        ]
    if error.validator in ("minLength", "minItems"):
        return [(_field(where), "must not be empty")]
    if error.validator == "type" and not title:
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return [(_field(where), f"{_written(error.instance)} is not of type {' or '.join(map(repr, kinds))}")]
    if title:
        return [(_field(where), f"{_written(error.instance)} is not {title}")]
    return [(_field(where), error.message)]


def _checked_council(path: Path, shown: str) -> tuple[dict[str, Any] | None, list[str]]:
    """A council file's fields, and everything wrong with them against the schema and the loader's rules."""
    try:
        raw = _as_json(_read_yaml(path))
    except OSError as problem:
        return None, [f"{shown}: cannot be read ({problem.strerror or problem})"]
    except UnicodeDecodeError:
        return None, [f"{shown}: is not UTF-8 text"]
    except yaml.YAMLError as problem:
        return None, [f"{shown}: is not valid YAML: {' '.join(str(problem).split())}"]
    if not isinstance(raw, dict):
        return None, [f"{shown}: should hold a council's fields (id, name, short_name, ...), not {_written(raw)}"]
    found: dict[str, str] = {}
    for error in _council_validator().iter_errors(raw):
        for where, what in _schema_problems(error):
            # One problem a field is enough to fix it; the schema gives the most particular one first.
            found.setdefault(where, what)
    if isinstance(raw.get("id"), str) and raw["id"] != path.stem:
        found.setdefault("id", f"{_written(raw['id'])} does not match the file name: the id must be {path.stem!r}")
    problems = [f"{shown}: {where}: {what}" if where else f"{shown}: {what}" for where, what in found.items()]
    return (None if problems else raw), problems


def council_problems(path: Path, shown: str | None = None) -> list[str]:
    """Every way a council file breaks the schema or the loader's rules, one line each naming the file and field.

    An empty list means the file can be loaded. ``shown`` is how to name the file (by default, from the project).
    """
    return _checked_council(path, shown or _shown_path(path))[1]


def _council_from(path: Path) -> Council:
    raw, problems = _checked_council(path, _shown_path(path))
    if raw is None:
        raise KnowledgeError("\n".join(problems))
    local_offer, offer_checks = _council_part(path, "local_offer", raw["local_offer"])
    sendiass, sendiass_checks = _council_part(path, "sendiass", raw["sendiass"])
    return Council(
        id=raw["id"],
        name=raw["name"],
        short_name=raw["short_name"],
        local_offer=local_offer,
        sendiass=sendiass,
        sources=tuple(raw.get("sources") or ()),
        checks=offer_checks | sendiass_checks,
    )


@cache
def councils() -> dict[str, Council]:
    """Every council, by id, each file checked against council.schema.json as it is loaded."""
    return {place.id: place for place in map(_council_from, sorted(COUNCILS_DIR.glob("*.yml")))}


def council(council_id: str) -> Council:
    try:
        return councils()[council_id]
    except KeyError:
        known = ", ".join(sorted(councils()))
        raise KnowledgeError(f"Unknown council '{council_id}'. Known councils: {known}") from None


@cache
def out_of_scope() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = _read_yaml(HERE / "out_of_scope.yml")
    return loaded


@cache
def menu() -> tuple[str, ...]:
    return tuple(_read_yaml(HERE / "menu.yml")["menu"])


# Wording of replies ---------------------------------------------------------


def sendiass_contact(place: Council) -> str:
    """One or two lines on how to reach the council's SENDIASS, noting any contact not yet confirmed."""
    service = place.sendiass
    ways = [place.contact("sendiass", name) for name in CONTACT_FIELDS if service.get(name)]
    line = f"{service['name']}: free, impartial and confidential advice."
    if ways:
        line += " " + ", ".join(ways) + "."
    if service.get("note"):
        line += " " + service["note"]
    return line


def _named(place: Council, part: str, name: str | None) -> str:
    """A name and its contact, "Norfolk SENDIASS (01603 704070)"; "Name: contact (please check ...)" if unconfirmed."""
    details: dict[str, str] = getattr(place, part)
    title = details["name"]
    if name is None:
        return title
    if place.confirmed(part, name):
        return f"{title} ({details[name]})"
    return f"{title}: {place.contact(part, name)}"


def local_help(place: Council) -> str:
    """The council's Local Offer and SENDIASS, for the foot of an answer."""
    reach = next((name for name in ("phone", "url", "email") if place.sendiass.get(name)), None)
    return f"Local help: {_named(place, 'local_offer', 'url')}; {_named(place, 'sendiass', reach)}."


def answer_text(topic: Topic, place: Council) -> str:
    return f"{topic.answer}\n\nSource: {topic.citation()}\n{local_help(place)}"


def question_answer_text(answer: Answer, place: Council) -> str:
    """The first reply to a specific question: the direct answer, its source, and local help."""
    return f"{answer.text}\n\nSource: {answer.citation()}\n{local_help(place)}"


def second_answer_text(answer: Answer) -> str:
    """The answer to a second question asked in the same message."""
    return f"You also asked: {answer.question}\n{answer.text}\n\nSource: {answer.citation()}"


def answers_to_offer(answer: Answer, limit: int = 2) -> list[Answer]:
    """Questions worth offering after an answer: its own related ones, then others on its topic."""
    chosen: list[Answer] = []
    catalogue = answers()
    for candidate in [*(catalogue[other] for other in answer.related), *topic_answers(answer.topic)]:
        if candidate.id != answer.id and candidate not in chosen:
            chosen.append(candidate)
    return chosen[:limit]


def answer_button(answer: Answer) -> dict[str, str]:
    """A button asking one specific question: its payload names the answer, so no guessing is needed."""
    intent = topics()[answer.topic].intent
    return {"title": answer.question, "payload": f'/{intent}{{"answer_id": "{answer.id}"}}'}


def more_text(topic: Topic) -> str:
    text = topic.more
    if topic.links:
        text += "\n\nRead more: " + "; ".join(f"{link.title} ({link.url})" for link in topic.links)
    return text


def topic_button(topic: Topic) -> dict[str, str]:
    return {"title": topic.title, "payload": f"/{topic.intent}"}
