"""The assistant's knowledge: topics, council profiles and how answers are worded.

Everything here is plain data loaded from YAML files beside this module and
plain functions over it, so it is used the same way by the action server,
the tests and the data checks. Nothing here knows about Rasa.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
TOPICS_DIR = HERE / "topics"
COUNCILS_DIR = HERE / "councils"
AUDIENCES = ("parents", "staff", "both")
INTENT_PREFIX = "ask_"


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
        if document["refs"] == "paragraphs":
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
class Council:
    id: str
    name: str
    short_name: str
    local_offer: dict[str, str]
    sendiass: dict[str, str]
    sources: tuple[str, ...] = field(default_factory=tuple)


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


@cache
def councils() -> dict[str, Council]:
    result = {}
    for path in sorted(COUNCILS_DIR.glob("*.yml")):
        raw = _read_yaml(path)
        result[raw["id"]] = Council(
            id=raw["id"],
            name=raw["name"],
            short_name=raw["short_name"],
            local_offer=dict(raw["local_offer"]),
            sendiass=dict(raw["sendiass"]),
            sources=tuple(raw.get("sources") or ()),
        )
    return result


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
    """One or two lines on how to reach the council's SENDIASS."""
    service = place.sendiass
    ways = [service[name] for name in ("phone", "email", "url") if service.get(name)]
    line = f"{service['name']}: free, impartial and confidential advice."
    if ways:
        line += " " + ", ".join(ways) + "."
    if service.get("note"):
        line += " " + service["note"]
    return line


def local_help(place: Council) -> str:
    """The council's Local Offer and SENDIASS, for the foot of an answer."""
    offer = place.local_offer
    sendiass = place.sendiass
    reach = sendiass.get("phone") or sendiass.get("url") or sendiass.get("email")
    service = f"{sendiass['name']} ({reach})" if reach else sendiass["name"]
    return f"Local help: {offer['name']} ({offer['url']}); {service}."


def answer_text(topic: Topic, place: Council) -> str:
    return f"{topic.answer}\n\nSource: {topic.citation()}\n{local_help(place)}"


def more_text(topic: Topic) -> str:
    text = topic.more
    if topic.links:
        text += "\n\nRead more: " + "; ".join(f"{link.title} ({link.url})" for link in topic.links)
    return text


def topic_button(topic: Topic) -> dict[str, str]:
    return {"title": topic.title, "payload": f"/{topic.intent}"}
