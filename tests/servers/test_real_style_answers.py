"""What people asking in their own words get in the first reply, on both real-style question sets.

Every question of ``tests/data/real_style_questions.yml`` (and of
``../shared/eval/public_questions.yml``, when it is beside the project) is sent
as a new chat to the running assistant and graded on its first reply. The
test fails when any figure falls below what the assistant reaches today
(``FLOORS``, raised as answers improve and never lowered); the summary at the
end of the run prints every figure beside the targets it is working towards.
"""

from __future__ import annotations

import pytest
import yaml

from bench import questions
from tests.conftest import record_result

# The aim for both sets: shares of the in-scope questions (right, not sure, wrong) and of the out-of-scope ones.
TARGETS = {"right": 0.95, "not_sure": 0.03, "wrong": 0.02, "declined": 0.95}
# What the assistant reaches today on each set: no change may make it worse.
FLOORS = {
    "real_style": {"right": 0.78, "not_sure": 0.02, "wrong": 0.22, "declined": 0.84},
    "shared": {"right": 0.62, "not_sure": 0.02, "wrong": 0.38, "declined": 0.80},
}


def shares(counts: dict[str, int]) -> dict[str, float]:
    in_scope, out_of_scope = max(counts["in_scope"], 1), max(counts["out_of_scope"], 1)
    return {
        "right": counts["right"] / in_scope,
        "not_sure": counts["not_sure"] / in_scope,
        "wrong": counts["wrong"] / in_scope,
        "declined": counts["declined"] / out_of_scope,
    }


def shortfalls(found: dict[str, float], floor: dict[str, float]) -> list[str]:
    """Each figure on the wrong side of its floor: right and declined must not fall, not sure and wrong not rise."""
    problems = [
        f"{key} {found[key]:.1%} < {floor[key]:.1%}" for key in ("right", "declined") if found[key] < floor[key]
    ]
    problems += [
        f"{key} {found[key]:.1%} > {floor[key]:.1%}" for key in ("not_sure", "wrong") if found[key] > floor[key]
    ]
    return problems


def _check(name: str, counts: dict[str, int]) -> None:
    found = shares(counts)
    record_result(f"questions_{name}", {**counts, **{f"{key}_share": value for key, value in found.items()}})
    problems = shortfalls(found, FLOORS[name])
    assert not problems, f"{questions.summary(name, counts)}: {'; '.join(problems)}"


def test_the_real_style_set_gets_the_fact_asked(rasa_sqlite: int) -> None:
    asked = yaml.safe_load(questions.SET.read_text(encoding="utf-8"))["questions"]
    counts, failures = questions.run_set(rasa_sqlite, asked)
    questions.RESULTS.mkdir(exist_ok=True)
    (questions.RESULTS / "questions_failures.txt").write_text("".join(failures))
    _check("real_style", counts)


def test_the_shared_set_gets_the_fact_asked(rasa_sqlite: int) -> None:
    counts = questions.run_shared(rasa_sqlite)
    if counts is None:
        pytest.skip(f"no shared question set at {questions.SHARED}")
    _check("shared", counts)


def test_a_figure_below_its_floor_is_reported() -> None:
    floor = {"right": 0.9, "not_sure": 0.05, "wrong": 0.05, "declined": 0.9}
    assert shortfalls({"right": 0.95, "not_sure": 0.02, "wrong": 0.03, "declined": 0.95}, floor) == []
    assert shortfalls({"right": 0.85, "not_sure": 0.06, "wrong": 0.09, "declined": 0.8}, floor) == [
        "right 85.0% < 90.0%",
        "declined 80.0% < 90.0%",
        "not_sure 6.0% > 5.0%",
        "wrong 9.0% > 5.0%",
    ]
