"""The knowledge base, the domain and the training data agree with each other."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

import knowledge

ROOT = Path(__file__).resolve().parents[2]
MIN_TOPICS = 45
MIN_EXAMPLES = 12


def _domain_intents() -> set[str]:
    intents: set[str] = set()
    for path in (ROOT / "domain").glob("*.yml"):
        intents.update(yaml.safe_load(path.read_text()).get("intents") or [])
    return intents


def _training_examples() -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu") or []:
            if "intent" in block:
                lines = [line[2:].strip() for line in block["examples"].splitlines() if line.strip().startswith("- ")]
                examples.setdefault(block["intent"], []).extend(lines)
    return examples


def _rule_intents() -> set[str]:
    text = "\n".join(path.read_text() for path in (ROOT / "data" / "rules").glob("*.yml"))
    return set(re.findall(r"intent:\s*(\w+)", text))


def test_there_are_enough_topics() -> None:
    assert len(knowledge.topics()) >= MIN_TOPICS


def test_every_question_intent_has_an_entry_with_a_source() -> None:
    question_intents = {name for name in _domain_intents() if name.startswith(knowledge.INTENT_PREFIX)}
    entries = {topic.intent: topic for topic in knowledge.topics().values()}
    assert question_intents == set(entries), "domain question intents and knowledge entries differ"
    for topic in entries.values():
        assert topic.sources, topic.key
        assert all(source.cite() for source in topic.sources)


@pytest.mark.parametrize("key", sorted(knowledge.topics()))
def test_every_entry_is_reachable(key: str) -> None:
    topic = knowledge.topics()[key]
    assert topic.intent == f"ask_{key}"
    assert topic.intent in _domain_intents()
    assert topic.intent in _rule_intents(), "no rule answers this intent"
    assert len(_training_examples().get(topic.intent, [])) >= MIN_EXAMPLES


@pytest.mark.parametrize("key", sorted(knowledge.topics()))
def test_entries_are_complete_and_plain(key: str) -> None:
    topic = knowledge.topics()[key]
    assert topic.audience in knowledge.AUDIENCES
    assert 15 <= len(topic.answer.split()) <= 110, "the short answer should be short"
    assert len(topic.more.split()) >= 40, "tell me more should add detail"
    assert len(topic.title) <= 60
    assert all(link.url.startswith("https://") for link in topic.links)
    assert set(topic.related) <= set(knowledge.topics()), "related topics must exist"
    assert key not in topic.related


def test_code_of_practice_citations_are_formatted() -> None:
    topic = knowledge.topics()["graduated_approach"]
    assert "SEND Code of Practice (2015), para 6.44" in topic.citation()
    assert "paras 6.44-6.56" in topic.citation()


def test_notification_duty_cites_the_act_and_both_paragraphs() -> None:
    citation = knowledge.topics()["parents_informed"].citation()
    assert "Children and Families Act 2014, s68" in citation
    assert "6.43" in citation and "6.48" in citation


def test_stockton_myths_are_each_covered() -> None:
    for key, words in {
        "six_thousand_myth": "6,000",
        "quota_myth": "limit",
        "ed_psych_myth": "psycholog",
    }.items():
        topic = knowledge.topics()[key]
        assert "not true" in topic.answer.lower(), key
        assert words in topic.answer + topic.more, key


@pytest.mark.parametrize("council_id", ["norfolk", "kent", "stockton", "dudley"])
def test_council_profiles_give_local_offer_and_sendiass(council_id: str) -> None:
    place = knowledge.council(council_id)
    assert place.local_offer["url"].startswith("http")
    assert place.sendiass["name"]
    assert place.sendiass.get("phone") or place.sendiass.get("url")
    assert place.short_name in knowledge.local_help(place)


def test_seed_contacts_are_exact() -> None:
    norfolk = knowledge.council("norfolk")
    assert norfolk.sendiass["phone"] == "01603 704070"
    assert "norfolk.gov.uk/send" in norfolk.local_offer["url"]
    dudley = knowledge.council("dudley")
    assert dudley.sendiass["phone"] == "01384 817373"
    assert dudley.sendiass["email"] == "dudley.sendiass@dudley.gov.uk"


NOTE = "(please check this on the council's website)"


def test_unconfirmed_contacts_are_shown_with_a_note_and_confirmed_ones_without() -> None:
    stockton = knowledge.council("stockton")
    assert not stockton.confirmed("sendiass", "phone")
    assert f"01642 527158 {NOTE}" in knowledge.local_help(stockton)
    assert f"01642 527158 {NOTE}, SENDIASS@stockton.gov.uk {NOTE}" in knowledge.sendiass_contact(stockton)
    assert f"03000 41 3000 {NOTE}" in knowledge.local_help(knowledge.council("kent"))
    norfolk = knowledge.council("norfolk")
    assert norfolk.confirmed("sendiass", "phone") and not norfolk.confirmed("sendiass", "email")
    assert knowledge.local_help(norfolk).endswith("Norfolk SENDIASS (01603 704070).")
    contact = knowledge.sendiass_contact(norfolk)
    assert f"01603 704070, norfolksendiass@norfolk.gov.uk {NOTE}, https://www.norfolksendiass.org.uk." in contact
    dudley = knowledge.council("dudley")
    assert NOTE not in knowledge.local_help(dudley) + knowledge.sendiass_contact(dudley)
    assert "(https://stockton.gov.uk/SEND-local-offer-education);" in knowledge.local_help(stockton)


def test_every_contact_must_say_whether_it_is_confirmed(tmp_path: Path) -> None:
    with pytest.raises(knowledge.KnowledgeError, match="needs value, confirmed and checked"):
        knowledge._council_part(tmp_path / "x.yml", "sendiass", {"name": "X", "phone": "01234 567890"})
    confirmed_undated = {"value": "01234 567890", "confirmed": True, "checked": None}
    with pytest.raises(knowledge.KnowledgeError, match="needs the date it was checked"):
        knowledge._council_part(tmp_path / "x.yml", "sendiass", {"name": "X", "phone": confirmed_undated})


def test_unknown_council_is_a_clear_error() -> None:
    with pytest.raises(knowledge.KnowledgeError, match="Known councils"):
        knowledge.council("atlantis")


def test_out_of_scope_replies_cover_every_out_of_scope_intent() -> None:
    oos_intents = {name for name in _domain_intents() if name.startswith("oos_")}
    assert oos_intents == set(knowledge.out_of_scope())


def test_training_examples_are_not_repeated() -> None:
    counts = Counter(example.lower() for examples in _training_examples().values() for example in examples)
    repeated = [text for text, count in counts.items() if count > 1]
    assert not repeated


def test_code_of_practice_paragraphs_cited_are_checked() -> None:
    """Every Code of Practice reference, in a topic or in a question-level answer, is one checked against its text."""
    checked = set(yaml.safe_load((ROOT / "knowledge" / "checked_paragraphs.yml").read_text()))
    cited = [(topic.key, topic.sources) for topic in knowledge.topics().values()]
    cited += [(answer.id, answer.sources) for answer in knowledge.answers().values()]
    cop_refs = [(key, source.ref) for key, sources in cited for source in sources if source.doc == "cop"]
    assert not [(key, ref) for key, ref in cop_refs if ref not in checked]
