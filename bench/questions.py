"""How the assistant answers questions written the way people write: the project's real-style set and the shared one.

Starts an action server and a Rasa server on free ports (the trained model, a
fresh SQLite store with the demo school), sends every question of
``tests/data/real_style_questions.yml`` as a new chat over the REST channel,
and grades the first reply:

- right: an in-scope question whose reply holds a phrase of each of its ``expect_all`` groups;
- not sure: the reply is the "I'm not sure I've understood that" fallback;
- wrong: any other reply to an in-scope question (a nearby topic, or an honest decline);
- declined: an out-of-scope question that got "outside what I cover", "not sure" or the out-of-scope reply.

Then, when ``../shared/eval/`` is present, runs its own runner against the same
servers. Figures go to ``results/questions.json`` and the failures, reply by
reply, to ``results/questions_failures.txt``; nothing here is a test, and the
sets are never trained on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import yaml

from tests.support import servers

SET = servers.ROOT / "tests" / "data" / "real_style_questions.yml"
SHARED = servers.ROOT.parent / "shared" / "eval"
RESULTS = servers.ROOT / "results"
NOT_SURE = "not sure i've understood"
# What the assistant says when it declines: the out-of-scope reply, the not-sure reply.
SHARED_SUMMARY = re.compile(r"in-scope (\d+)/(\d+) = [\d.]+; out-of-scope declined (\d+)/(\d+)")
DECLINES = ("not sure i can help further", "outside what i cover", NOT_SURE, "i can answer questions about sen support")


def reply_text(replies: list[dict[str, Any]]) -> str:
    parts = []
    for message in replies:
        parts.append(message.get("text") or "")
        parts.extend(button.get("title") or "" for button in message.get("buttons") or [])
    return "\n".join(parts).lower().replace("\u2019", "'")


def grade(question: dict[str, Any], reply: str) -> str:
    if question["kind"] == "out_of_scope":
        return "declined" if any(phrase in reply for phrase in DECLINES) else "answered"
    if all(any(phrase in reply for phrase in group) for group in question["expect_all"]):
        return "right"
    return "not_sure" if NOT_SURE in reply else "wrong"


def run_set(port: int, questions: list[dict[str, Any]]) -> tuple[dict[str, int], list[str]]:
    """Figures as ``figures()`` gives them, and one line for each reply that missed."""
    counts: dict[str, int] = {"right": 0, "not_sure": 0, "wrong": 0, "declined": 0, "answered": 0}
    failures = []
    for question in questions:
        text = question["text"].replace("[staff] ", "").strip()
        reply = reply_text(servers.say(port, uuid.uuid4().hex * 2, text))
        verdict = grade(question, reply)
        counts[verdict] += 1
        if verdict not in ("right", "declined"):
            failures.append(f"{verdict.upper()} {question['id']} [{question['topic']}] {text}\n  -> {reply[:500]!r}\n")
    in_scope = sum(1 for q in questions if q["kind"] == "in_scope")
    out_of_scope = len(questions) - in_scope
    return figures(in_scope, counts["right"], counts["not_sure"], out_of_scope, counts["declined"]), failures


def figures(in_scope: int, right: int, not_sure: int, out_of_scope: int, declined: int) -> dict[str, int]:
    return {
        "in_scope": in_scope,
        "right": right,
        "not_sure": not_sure,
        "wrong": in_scope - right - not_sure,
        "out_of_scope": out_of_scope,
        "declined": declined,
    }


def run_shared(port: int, folder: Path = SHARED) -> dict[str, int] | None:
    """The shared set graded by its own runner, or None when it is not beside the project.

    The runner counts right answers and declines; the "not sure" replies are counted here from its failures file.
    """
    runner = folder / "run_questions.py"
    if not runner.exists():
        return None
    RESULTS.mkdir(exist_ok=True)
    report = RESULTS / "shared_questions_failures.txt"
    command = [sys.executable, str(runner), "--url", f"http://127.0.0.1:{port}", "--out", str(report)]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    summary = SHARED_SUMMARY.search(finished.stdout)
    if summary is None:
        raise RuntimeError(f"the shared runner printed no summary: {finished.stdout[-300:]} {finished.stderr[-300:]}")
    right, in_scope, declined, out_of_scope = (int(group) for group in summary.groups())
    not_sure = 0
    lines = report.read_text(encoding="utf-8").splitlines()
    for line, following in itertools.pairwise(lines):
        if line.startswith("FAIL ") and "[in_scope]" in line and NOT_SURE in following.replace("\u2019", "'"):
            not_sure += 1
    return figures(in_scope, right, not_sure, out_of_scope, declined)


def summary(name: str, counts: dict[str, int]) -> str:
    in_scope, out_of_scope = counts["in_scope"], counts["out_of_scope"]
    return (
        f"{name}: right fact in the first reply {share(counts['right'], in_scope)}, "
        f"not sure {share(counts['not_sure'], in_scope)}, wrong {share(counts['wrong'], in_scope)}; "
        f"out of scope declined {share(counts['declined'], out_of_scope)}"
    )


def share(count: int, total: int) -> str:
    return f"{count}/{total} ({count / max(total, 1):.0%})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.questions", description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions of the project's set")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared question set's folder")
    args = parser.parse_args(argv[1:])
    questions = yaml.safe_load(SET.read_text())["questions"]
    if args.limit:
        questions = questions[: args.limit]
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        store = f"sqlite:///{folder / 'store.db'}"
        from bot.store import demo, migrate
        from bot.store.db import sessions

        migrate.upgrade(store)
        with sessions(store).begin() as session:
            demo.seed(session)
        action, action_port = servers.start_action_server(folder, DATABASE_URL=store)
        endpoints = servers.write_endpoints(
            folder / "endpoints.yml",
            action_port,
            {"type": servers.TRACKER_STORE, "dialect": "sqlite", "db": str(folder / "tracker.db")},
        )
        rasa, port = servers.start_rasa_server(folder, endpoints)
        try:
            counts, failures = run_set(port, questions)
            shared = run_shared(port, args.shared)
        finally:
            rasa.stop()
            action.stop()
    (RESULTS / "questions.json").write_text(json.dumps({"real_style": counts, "shared": shared}, indent=2))
    (RESULTS / "questions_failures.txt").write_text("".join(failures))
    print(summary("Real-style set", counts))
    print(summary("Shared set", shared) if shared else f"No shared question set at {args.shared}.")
    print(f"Replies that missed: {RESULTS / 'questions_failures.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
