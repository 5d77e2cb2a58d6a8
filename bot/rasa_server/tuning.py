"""Work the Rasa server repeats on every turn for no gain, done once instead.

Loaded with the Rasa server's channels (``bot/rasa_server/channels.py`` calls ``apply``).

- **Checking the action server's reply.** Rasa 3.6 checks every reply from the
  action server against its JSON schema with ``jsonschema.validate``, which first
  checks the schema itself against the JSON Schema meta-schema, on every call.
  Profiling a question turn showed that check taking about 40% of the Rasa
  server's time. Here the schema is checked once and its validator kept; every
  reply is still validated in full, with the same error for a bad one.
- **Finding an event's class.** Rebuilding a conversation from the tracker store
  looks up each event's class by its type name, and Rasa walks every subclass of
  ``Event`` (checking each for abstract methods) for every event. Classes found
  are remembered here; a name not found goes to Rasa's own lookup as before.
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_APPLIED = "_sen_tuned"


@functools.lru_cache(maxsize=1)
def action_reply_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's check of an action server reply, with the schema's validator made once."""
    try:
        action_reply_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error


_rasa_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, type] = {}


def resolve_by_type(type_name: str, default: Any = None) -> Any:
    """Rasa's ``Event.resolve_by_type``, remembering each class it finds."""
    found = _event_classes.get(type_name)
    if found is not None:
        return found
    found = _rasa_resolve_by_type(type_name, default)
    if found is not None and found is not default:
        _event_classes[type_name] = found
    return found


def apply() -> None:
    if getattr(RemoteAction, _APPLIED, False):
        return
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_by_type)
    setattr(RemoteAction, _APPLIED, True)
