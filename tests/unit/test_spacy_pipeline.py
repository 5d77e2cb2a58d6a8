"""The project's own spaCy pipeline: built from source, lemmas and vocabulary entities."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from bot.nlp import build


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return build.build_pipeline()


def _ents(nlp: spacy.language.Language, text: str) -> list[tuple[str, str, str]]:
    return [(ent.text, ent.label_, ent.ent_id_) for ent in nlp(text).ents]


def test_pipeline_has_lemmatiser_and_ruler_and_no_downloaded_parts(nlp: spacy.language.Language) -> None:
    assert nlp.pipe_names == ["lemmatizer", "entity_ruler"]
    assert nlp.vocab.vectors.shape[0] == 0


def test_lemmas_come_from_the_lookup_tables(nlp: spacy.language.Language) -> None:
    lemmas = [token.lemma_ for token in nlp("the children were having reviews")]
    assert lemmas == ["the", "child", "be", "have", "review"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("does my son need an echp", ("echp", "EHCP", "ehcp")),
        ("Is the EHC plan legally binding", ("EHC plan", "EHCP", "ehcp")),
        ("ask the SENDCo", ("SENDCo", "SENCO", "senco")),
        ("the sen co-ordinator said no", ("sen co-ordinator", "SENCO", "senco")),
        ("waiting for the ed psych", ("ed psych", "PROFESSIONAL", "educational_psychologist")),
        ("she has SEMH needs", ("SEMH", "AREA_OF_NEED", "semh")),
        ("diagnosed with dyslexia last year", ("dyslexia", "AREA_OF_NEED", "cognition_learning")),
    ],
)
def test_field_vocabulary_is_recognised(
    nlp: spacy.language.Language, text: str, expected: tuple[str, str, str]
) -> None:
    assert expected in _ents(nlp, text)


@pytest.mark.parametrize(
    "text, year", [("my daughter is in Year 4", "Year 4"), ("a y10 pupil", "y10"), ("yr 7 boy", "yr 7")]
)
def test_year_groups_are_recognised(nlp: spacy.language.Language, text: str, year: str) -> None:
    assert (year, "YEAR_GROUP") in [(text_, label) for text_, label, _ in _ents(nlp, text)]


def test_ordinary_words_are_not_entities(nlp: spacy.language.Language) -> None:
    assert _ents(nlp, "please add more detail about the plan") == []


def test_built_pipeline_loads_from_disk_with_its_patterns(tmp_path: Path) -> None:
    output = tmp_path / "pipeline"
    assert build.main(["build", str(output)]) == 0
    assert build.is_current(output)
    loaded = spacy.load(output)
    assert [ent.label_ for ent in loaded("the senco and the ehcp").ents] == ["SENCO", "EHCP"]
