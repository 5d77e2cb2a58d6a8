"""Checks on targets and provision, with suggestions people can take or leave.

A target outcome should be measurable (a number, a frequency or something
you can see or hear the child do) and time-bound (by when). Provision should
say who gives it, what it is, when and how often. These are heuristics: they
ask or suggest, and the member of staff always has the last word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NUMBER_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|half|most|all|every|each)"
MEASURE = re.compile(
    r"\d|%|per ?cent|\b" + NUMBER_WORDS + r"\b|\bout of\b|\btimes?\b|\bdaily\b|\bweekly\b|\bonce\b|\btwice\b"
    r"|\bwithout (?:help|support|prompting|adult)|\bindependently\b|\bunaided\b",
    re.IGNORECASE,
)
OBSERVABLE = re.compile(
    r"\b(?:read|reads|write|writes|spell|spells|say|says|name|names|count|counts|recall|recalls|use|uses|"
    r"complete|completes|ask|asks|answer|answers|sit|sits|stay|stays|follow|follows|join|joins|take turns|"
    r"identify|identifies|match|matches|copy|copies|solve|solves|tell|tells|point|points|sort|sorts|"
    r"hold|holds|cut|cuts|dress|dresses|greet|greets|share|shares|wait|waits|line up|lines up|"
    r"catch|catches|throw|throws|form|forms|blend|blends|segment|segments|type|types|request|requests)\b",
    re.IGNORECASE,
)
VAGUE = re.compile(
    r"\b(?:improve|improved|improves|better|more confident|confidence|understand|understands|be happy|"
    r"try|tries|work on|develop|develops|feel|feels|be aware|awareness|enjoy|enjoys)\b",
    re.IGNORECASE,
)
DEADLINE = re.compile(
    r"\bby (?:the )?(?:end|next|half[- ]term|christmas|easter|summer|spring|autumn|july|june|may|april|march|"
    r"february|january|december|november|october|september|august|week|term|review|\d)"
    r"|\bwithin\b|\bbefore\b|\buntil\b|\bin \d+ weeks\b|\bfor \d+ (?:weeks|days)\b|\bby\s+\w+day\b"
    r"|\b\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?\b",
    re.IGNORECASE,
)

ROLES = re.compile(
    r"\b(?:ta|tas|teaching assistant|hlta|lsa|teacher|class teacher|senco|sendco|adult|key worker|mentor|"
    r"speech and language therapist|salt|slt|ot|occupational therapist|physio|physiotherapist|"
    r"ed(?:ucational)? psych(?:ologist)?|"
    r"elsa|nurture (?:lead|worker)|mum|dad|parent|parents|carer|pastoral lead|specialist teacher|"
    r"mr\.? \w+|mrs\.? \w+|ms\.? \w+|miss \w+)\b",
    re.IGNORECASE,
)
FREQUENCY = re.compile(
    r"\b(?:(?:\d+ ?x|\d+ times|(?:one|two|three|four|five) times|once|twice)(?: (?:a|per|each|every) "
    r"(?:week|day|term|fortnight|lesson|session))?|daily|every day|each day|weekly|every week|fortnightly|"
    r"every lesson|each lesson|every (?:morning|afternoon|monday|tuesday|wednesday|thursday|friday)|"
    r"(?:on )?(?:mondays|tuesdays|wednesdays|thursdays|fridays)"
    r"(?: and (?:mondays|tuesdays|wednesdays|thursdays|fridays))?)\b",
    re.IGNORECASE,
)
WHEN = re.compile(
    r"\b(?:morning|mornings|afternoon|afternoons|break|breaktime|lunch|lunchtime|assembly|registration|"
    r"monday|tuesday|wednesday|thursday|friday|mondays|tuesdays|wednesdays|thursdays|fridays|"
    r"during [a-z ]+?(?=,|$| lessons?)|in (?:maths|english|literacy|phonics|class)|before school|after school|"
    r"start of the day|end of the day|at home|at school|\d{1,2}(?::\d{2})? ?(?:am|pm))\b",
    re.IGNORECASE,
)


@dataclass
class OutcomeCheck:
    measurable: bool
    time_bound: bool
    suggestion: str | None = None

    @property
    def ok(self) -> bool:
        return self.measurable and self.time_bound


SUBJECT = re.compile(r"^(?:(?P<name>[A-Z][a-z]+)|he|she|they|i)\s+will\s+", re.IGNORECASE)


def check_outcome(outcome: str, child: str = "the pupil", deadline: str = "the next review") -> OutcomeCheck:
    """Whether a target outcome is measurable and time-bound, with a suggested rewrite if not.

    The rewrite keeps the member of staff's own words, adds a deadline when
    there is none, and leaves a marked gap for a measure when there is none.
    """
    text = " ".join(outcome.split()).rstrip(".")
    measurable = bool(MEASURE.search(text)) or (bool(OBSERVABLE.search(text)) and not VAGUE.search(text))
    time_bound = bool(DEADLINE.search(text))
    if measurable and time_bound:
        return OutcomeCheck(True, True)
    subject = SUBJECT.match(text)
    if subject and subject.group("name"):
        child = subject.group("name")
    body = re.sub(r"^(?:to|that)\s+", "", SUBJECT.sub("", text), flags=re.IGNORECASE)
    body = body[:1].lower() + body[1:]
    opening = f"{child} will {body}" if time_bound else f"By {deadline}, {child} will {body}"
    if not measurable:
        opening += ", shown by [a measure, e.g. in 4 out of 5 sessions, or 40 of 50 words correct]"
    return OutcomeCheck(measurable, time_bound, opening + ".")


@dataclass
class Provision:
    who: str | None = None
    what: str | None = None
    when: str | None = None
    how_often: str | None = None
    missing: list[str] = field(default_factory=list)


def parse_provision(text: str) -> Provision:
    """Split "TA, phonics group, mornings, 3 times a week" into who, what, when and how often."""
    cleaned = " ".join(text.split()).strip(" .")
    who = ROLES.search(cleaned)
    often = FREQUENCY.search(cleaned)
    when = WHEN.search(cleaned)
    what = cleaned
    for found in (who, often, when):
        if found:
            what = what.replace(found.group(), " ")
    what = re.sub(r"\b(?:with the|with|by the|by|in the|in|at|on|for)\s*(?=,|$)", "", what.strip())
    what = re.sub(r"\s*,\s*(?:,\s*)*", ", ", what)
    what = re.sub(r"\s+", " ", what).strip(" ,.;-")
    provision = Provision(
        who=who.group() if who else None,
        what=what or None,
        when=when.group() if when else None,
        how_often=often.group() if often else None,
    )
    provision.missing = [
        name
        for name, value in (("who", provision.who), ("what", provision.what), ("how often", provision.how_often))
        if not value
    ]
    return provision
