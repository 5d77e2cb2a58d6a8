"""The shape of link and access codes: making one, finding one in a message, and removing them from text.

One place for the format, so that the store that issues codes, the action that
reads them and the tracker store that must never keep them agree.
"""

from __future__ import annotations

import itertools
import re
import secrets

from bot.core import names

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I, which look alike
GROUPS = 3  # of four characters: 32**12 = 2**60 codes
GROUP = 4
LENGTH = GROUPS * GROUP
GAPS = ("-", " ", " - ")  # how people type the groups apart

CODE_PLACEHOLDER = "[code]"
LINK_PLACEHOLDER = "[private link]"
# A private document link's token (``secrets.token_urlsafe(32)``), after the web server's /documents/ path.
DOCUMENT_TOKEN = re.compile(r"(/documents/)[A-Za-z0-9_-]{20,}")
_WORDS = re.compile(r"[A-Za-z0-9]+")


def new_code() -> str:
    """Twelve characters as XXXX-XXXX-XXXX, with at least one digit and one letter.

    The digit tells a code apart from a word when someone types it into the chat.
    """
    while True:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if code_like(raw):
            return grouped(raw)


def grouped(raw: str) -> str:
    return "-".join(raw[start : start + GROUP] for start in range(0, len(raw), GROUP)).upper()


def code_like(raw: str) -> bool:
    """Letters and digits of the codes' own alphabet, with both: "2015 code" is not one (codes have no 0 or 1)."""
    upper = raw.upper()
    return all(ch in ALPHABET for ch in upper) and any(ch.isdigit() for ch in raw) and any(ch.isalpha() for ch in raw)


def _readings(text: str) -> list[tuple[int, int, int, str]]:
    """Every place a code may be typed in ``text``: (score, start, end, code), hyphenated groups scoring highest."""
    tokens = [(m.group(), m.start(), m.end()) for m in _WORDS.finditer(text or "")]
    everyday = names.english_words()
    found: list[tuple[int, int, int, str]] = []
    for word, start, end in tokens:
        if len(word) == LENGTH and code_like(word):
            found.append((1, start, end, grouped(word)))
    for first in range(len(tokens) - GROUPS + 1):
        groups = tokens[first : first + GROUPS]
        gaps = [text[left[2] : right[1]] for left, right in itertools.pairwise(groups)]
        words = [word for word, _, _ in groups]
        spaced = all(len(word) == GROUP for word in words) and all(gap in GAPS for gap in gaps)
        if spaced and code_like("".join(words)):
            score = 2 * all(gap == "-" for gap in gaps) + sum(word.lower() not in everyday for word in words)
            found.append((score, groups[0][1], groups[-1][2], "-".join(words).upper()))
    return found


def find_code(text: str) -> str | None:
    """A link or access code in the message, if there is one.

    Codes are typed whole or as three groups of four. When several readings
    are possible ("code kq7d m2xa 9wzp"), hyphenated groups win, then groups
    that are not words.
    """
    found = _readings(text)
    return max(found, key=lambda item: item[0])[3] if found else None


def redact(text: str) -> str:
    """``text`` with every code-shaped string and private document link replaced by a placeholder."""
    spans = sorted({(start, end) for _, start, end, _ in _readings(text)})
    kept, at = [], 0
    for start, end in spans:
        if start >= at:
            kept.append(text[at:start] + CODE_PLACEHOLDER)
            at = end
    kept.append(text[at:])
    return DOCUMENT_TOKEN.sub(r"\g<1>" + LINK_PLACEHOLDER, "".join(kept))
