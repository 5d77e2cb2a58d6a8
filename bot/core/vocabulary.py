"""The choices a plan, a review and the store record, as the SEN Support Plan template names them.

The store keeps them in its tables (``bot.store.models``); the walk, the
documents and the wording read them; none of them depends on how they are stored.
"""

from __future__ import annotations

import enum


class StaffRole(str, enum.Enum):
    senco = "senco"
    teacher = "teacher"
    admin = "admin"


class LevelOfNeed(str, enum.Enum):
    sen_support = "sen_support"
    ehcp = "ehcp"


class AreaOfNeed(str, enum.Enum):
    cognition_learning = "cognition_learning"
    communication_interaction = "communication_interaction"
    sensory_physical = "sensory_physical"
    semh = "semh"
    medical = "medical"


class PlanStatus(str, enum.Enum):
    draft = "draft"
    agreed = "agreed"
    superseded = "superseded"


class TargetProgress(str, enum.Enum):
    achieved = "achieved"
    not_achieved = "not_achieved"
    progress = "progress"


class ReviewStatus(str, enum.Enum):
    booked = "booked"
    in_progress = "in_progress"
    held = "held"


class ReviewDecision(str, enum.Enum):
    carry_on = "carry_on"
    no_longer_needed = "no_longer_needed"
    consider_ehc_assessment = "consider_ehc_assessment"


class NextStep(str, enum.Enum):
    carry_on = "carry_on"
    new_target = "new_target"
    different_provision = "different_provision"
