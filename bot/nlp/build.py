"""Build the assistant's spaCy pipeline from source.

The pipeline is blank English with spaCy's tokenizer, a lookup lemmatiser
whose tables come from the ``spacy-lookups-data`` package, and an entity
ruler holding the field's vocabulary from ``patterns.yml``. Nothing is
downloaded. Rasa's ``SpacyNLP`` component loads the result from its folder.

Usage: python -m bot.nlp.build [OUTPUT_DIR]
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import spacy
import yaml

if TYPE_CHECKING:
    from spacy.pipeline import EntityRuler

HERE = Path(__file__).resolve().parent
PATTERNS_FILE = HERE / "patterns.yml"
DEFAULT_OUTPUT = HERE.parents[1] / "build" / "spacy" / "en_sen_support"


def load_patterns(path: Path = PATTERNS_FILE) -> list[dict[str, Any]]:
    """Turn ``patterns.yml`` into entity-ruler patterns.

    Phrases become string patterns (matched on lower case); entries under a
    ``tokens`` key are token patterns used as written. Each pattern carries
    the group name as its id, so ``ent.ent_id_`` gives a normalised value.
    """
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    patterns: list[dict[str, Any]] = []
    for label, groups in raw.items():
        for group, entries in groups.items():
            for entry in entries:
                if group == "tokens":
                    patterns.append({"label": label, "pattern": entry})
                else:
                    patterns.append({"label": label, "pattern": str(entry).lower(), "id": group})
    return patterns


def sources_digest() -> str:
    """A digest of everything the built pipeline depends on."""
    digest = hashlib.sha256()
    for path in (Path(__file__), PATTERNS_FILE):
        digest.update(path.read_bytes())
    digest.update(spacy.about.__version__.encode())
    return digest.hexdigest()[:16]


def build_pipeline() -> spacy.language.Language:
    """Create the pipeline in memory."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # The ruler is added after initialize(): initialising clears its patterns.
    nlp.initialize()
    # ``add_pipe`` is typed as giving any pipe; "entity_ruler" gives an EntityRuler.
    ruler = cast(
        "EntityRuler",
        nlp.add_pipe(
            "entity_ruler",
            config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True},
        ),
    )
    ruler.add_patterns(load_patterns())
    nlp.meta.update(
        {
            "name": "sen_support",
            "version": "1.0.0",
            "description": "Blank English with lookup lemmas and SEN vocabulary entities",
            "sources_digest": sources_digest(),
        }
    )
    return nlp


def is_current(output: Path) -> bool:
    """Whether ``output`` holds a pipeline built from the present sources."""
    meta = output / "meta.json"
    if not meta.exists():
        return False
    built_from: str | None = json.loads(meta.read_text()).get("sources_digest")
    return built_from == sources_digest()


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    if is_current(output):
        print(f"spaCy pipeline up to date: {output}")
        return 0
    nlp = build_pipeline()
    if output.exists():
        shutil.rmtree(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    print(f"spaCy pipeline built: {output} ({', '.join(nlp.pipe_names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
