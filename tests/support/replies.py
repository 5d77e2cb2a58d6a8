"""Which question-level answer a reply gave, for tests that send a question in words."""

from __future__ import annotations

import knowledge


def answer_given(topic_key: str, text: str, cited: bool = True) -> knowledge.Answer | None:
    """The answer of the topic whose text the reply holds (with its citation, if ``cited``), or None."""
    for answer in knowledge.topic_answers(topic_key):
        if answer.text in text and (not cited or f"Source: {answer.citation()}" in text):
            return answer
    return None
