"""A pupil's subject access export as a document a person can read: HTML, and PDF.

The export (``bot.store.subject_access.pupil_export``) is laid out part by
part by the template ``templates/subject_access.html.j2``; this module turns
each record into labelled text. Every value is printed escaped, so what
anyone typed is shown as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.documents.pdf import pdf_from_html
from bot.documents.plan import TEMPLATES

TITLE = "Subject access record"

# Labels that the column names alone would give badly.
LABELS = {
    "id": "Record id",
    "held_by": "Held by",
    "digest": "Chat fingerprint",
    "allowed": "Allowed",
    "actor_kind": "Done by (kind)",
    "actor_id": "Done by (id)",
}


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " ").capitalize())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict):
        return " ".join(_text(part) for part in value.values() if part is not None)
    return str(value)


def _fields(record: dict[str, Any]) -> list[tuple[str, str]]:
    """A record's single values as (label, text); its lists are laid out as parts of their own."""
    return [(_label(key), _text(value)) for key, value in record.items() if not isinstance(value, list)]


def _table(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Records of one kind as a table: a column per field of the first, a row per record."""
    keys = [key for key, value in records[0].items() if not isinstance(value, list)] if records else []
    return {
        "columns": [_label(key) for key in keys],
        "rows": [[_text(record.get(key)) for key in keys] for record in records],
    }


def export_values(export: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows, as text."""
    pupil = export["pupil"]
    return {
        "title": TITLE,
        "name": f"{pupil['first_name']} {pupil['last_name']}",
        "pupil_id": _text(export["pupil_id"]),
        "generated_at": _text(export["generated_at"]),
        "pupil": _fields(pupil),
        "parents": _table(export["parents"]),
        "plans": [
            {
                "heading": f"Plan version {plan['version']} ({plan['status']})",
                "fields": _fields(plan),
                "targets": [_fields(target) for target in plan["targets"]],
                "edits": _table(plan["edits"]),
            }
            for plan in export["plans"]
        ],
        "reviews": [
            {
                "heading": f"Review for {review['scheduled_for']} ({review['status']})",
                "fields": _fields(review),
                "targets": [_fields(target) for target in review["targets"]],
                "notes": _table(review["notes"]),
                "edits": _table(review["edits"]),
            }
            for review in export["reviews"]
        ],
        "reminders": _table(export["reminders"]),
        "document_links": _table(export["document_links"]),
        "chats": _table(export["chats"]),
        "codes": _table(export["codes"]),
        "audit_events": _table(export["audit_events"]),
        "staff_named": _table(export["staff_named"]),
    }


def pupil_export_html(export: dict[str, Any]) -> str:
    """The export as a whole HTML page."""
    return TEMPLATES.get_template("subject_access.html.j2").render(export_values(export))


def pupil_export_pdf(export: dict[str, Any]) -> bytes:
    """The export as an A4 PDF."""
    return pdf_from_html(pupil_export_html(export))
