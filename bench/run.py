"""Measure the assistant through its REST channel, as one process and as the scaled deployment.

First one action server and one Rasa server on free ports, with the SQLite
tracker store that `make run` uses; then the scaled deployment (`make scaled`:
two Rasa servers and two action servers behind nginx, on PostgreSQL and Redis).
For each: start-up time, sequential latency of question turns, latency and
throughput at 1, 20 and 50 concurrent conversations, latency at turn 10 and at
the last turn of one long conversation, and memory per process. Then (unless
--skip-training) training time, and the look-up actions with 100,000 pupils in
the store, on SQLite and on PostgreSQL (bench/lookups.py). Results are written
to bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

import knowledge
from bench import lookups
from bench.stats import summary
from bot.store import migrate
from tests.conftest import _fresh_postgres_database, lock_prefix, postgres_url
from tests.support import deployment, servers

RESULTS = Path(__file__).resolve().parent / "results.json"
HELDOUT = servers.ROOT / "tests" / "data" / "nlu_heldout.yml"
POSTGRES_DSN = os.environ.get("SEN_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def questions() -> list[str]:
    texts = []
    for block in yaml.safe_load(HELDOUT.read_text())["nlu"]:
        if knowledge.topic_for_intent(block["intent"]):
            texts += [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]
    return texts


# Each run's conversations are its own: REST sender ids must be long and unguessable.
RUN = secrets.token_hex(8)


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        response.raise_for_status()
        replies = await response.json()
    elapsed = time.perf_counter() - started
    if not replies:
        raise RuntimeError(f"no reply to {text!r}")
    return elapsed


async def conversations(url: str, texts: list[str], concurrent: int, turns: int, tag: str) -> dict[str, Any]:
    latencies: list[float] = []

    async def one(index: int, session: aiohttp.ClientSession) -> None:
        for turn in range(turns):
            text = texts[(index * turns + turn) % len(texts)]
            latencies.append(await send(session, url, f"bench-{tag}-{RUN}-{index}", text))

    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(headers=deployment.REST_HEADERS, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(index, session) for index in range(concurrent)))
        elapsed = time.perf_counter() - started
    return {
        "concurrent_conversations": concurrent,
        "messages": len(latencies),
        "throughput_msgs_per_s": round(len(latencies) / elapsed, 1),
        **summary(latencies),
    }


def sequential(url: str, texts: list[str], conversations_count: int, turns: int) -> dict[str, Any]:
    """One message at a time: ``conversations_count`` conversations of ``turns`` turns, one after another."""
    latencies: list[float] = []
    first: list[float] = []
    later: list[float] = []

    async def run() -> None:
        async with aiohttp.ClientSession(
            headers=deployment.REST_HEADERS, timeout=aiohttp.ClientTimeout(total=600)
        ) as session:
            for conversation in range(conversations_count):
                for turn in range(turns):
                    text = texts[(conversation * turns + turn) % len(texts)]
                    latency = await send(session, url, f"bench-seq-{RUN}-{conversation}", text)
                    latencies.append(latency)
                    (first if turn == 0 else later).append(latency)

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    return {
        "conversations": conversations_count,
        "turns_each": turns,
        "messages": len(latencies),
        "throughput_msgs_per_s": round(len(latencies) / elapsed, 1),
        **summary(latencies),
        "first_turns": summary(first),
        "later_turns": summary(later),
    }


async def long_conversation(url: str, texts: list[str], turns: int) -> dict[str, Any]:
    latencies: list[float] = []
    async with aiohttp.ClientSession(
        headers=deployment.REST_HEADERS, timeout=aiohttp.ClientTimeout(total=600)
    ) as session:
        for turn in range(turns):
            latencies.append(await send(session, url, "bench-long", texts[turn % len(texts)]))

    def around(turn: int) -> list[float]:
        return latencies[max(0, turn - 6) : turn + 5]

    return {
        "turns": turns,
        "turn_10_ms": round(statistics.median(around(10)) * 1000, 1),
        "last_turns_ms": round(statistics.median(latencies[-10:]) * 1000, 1),
    }


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending += [int(child) for child in children]
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
    return round(total / 1024, 1)


def training_seconds() -> float:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run(
            [
                str(servers.BIN / "rasa"),
                "train",
                "--domain",
                "domain",
                "--data",
                "data",
                "--config",
                "config.yml",
                "--out",
                folder,
                "--force",
            ],
            cwd=servers.ROOT,
            check=True,
            capture_output=True,
        )
        return round(time.perf_counter() - started, 1)


def measure(url: str, texts: list[str], long_turns: int) -> dict[str, Any]:
    """The same measurements for any REST address."""
    asyncio.run(conversations(url, texts, 2, 5, "warmup"))
    return {
        "sequential": sequential(url, texts, conversations_count=20, turns=10),
        "concurrency": [
            asyncio.run(conversations(url, texts, count, turns, f"c{count}"))
            for count, turns in ((1, 60), (20, 15), (50, 10))
        ],
        "long_conversation": asyncio.run(long_conversation(url, texts, long_turns)),
    }


def one_process(long_turns: int, store_url: str) -> dict[str, Any]:
    """One action server and one Rasa server, with the SQLite tracker store of `make run`."""
    texts = questions()
    results: dict[str, Any] = {"layout": "1 Rasa server, 1 action server", "tracker_store": "SQLite"}
    logs = Path(tempfile.mkdtemp(prefix="sen-bench-"))
    action, action_port = servers.start_action_server(logs, DATABASE_URL=store_url)
    endpoints = servers.write_endpoints(
        logs / "endpoints.yml",
        action_port,
        {"type": servers.TRACKER_STORE, "dialect": "sqlite", "db": str(logs / "tracker.db")},
    )
    started = time.perf_counter()
    rasa, rasa_port = servers.start_rasa_server(logs, endpoints)
    results["startup_s"] = round(time.perf_counter() - started, 1)
    try:
        results.update(measure(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", texts, long_turns))
        assert rasa.process is not None and action.process is not None, "both servers were started above"
        results["memory_mb"] = {"rasa_server": rss_mb(rasa.process.pid), "action_server": rss_mb(action.process.pid)}
        rasa.stop()
        # The same long conversation with sessions never rolled over, as stock Rasa keeps them.
        unbounded = servers.write_endpoints(
            logs / "unbounded.yml",
            action_port,
            {
                "type": servers.TRACKER_STORE,
                "dialect": "sqlite",
                "db": str(logs / "unbounded.db"),
                "max_session_events": 10**9,
            },
        )
        rasa, rasa_port = servers.start_rasa_server(logs, unbounded)
        url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
        results["long_conversation_unbounded"] = asyncio.run(long_conversation(url, texts, long_turns))
    finally:
        rasa.stop()
        action.stop()
        shutil.rmtree(logs, ignore_errors=True)
    return results


def scaled(long_turns: int, rasa: int = 2, actions: int = 2) -> dict[str, Any]:
    """The scaled deployment (bot/ops/deploy.py) on the machine's PostgreSQL and Redis, through nginx."""
    texts = questions()
    results: dict[str, Any] = {
        "layout": f"{rasa} Rasa servers, {actions} action servers, nginx",
        "tracker_store": "PostgreSQL, Redis lock store",
    }
    for name in _fresh_postgres_database():
        folder = Path(tempfile.mkdtemp(prefix="sen-bench-scaled-"))
        started = time.perf_counter()
        running = deployment.start(
            folder, postgres_url(name), lock_prefix(name), rasa=rasa, actions=actions, SEN_DEMO="0"
        )
        results["startup_s"] = round(time.perf_counter() - started, 1)
        try:
            results.update(measure(f"{running.url}/webhooks/rest/webhook", texts, long_turns))
            results["memory_mb"] = {service["name"]: rss_mb(service["pid"]) for service in running.state()["services"]}
        finally:
            running.stop()
            shutil.rmtree(folder, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-training", action="store_true", help="do not time a full training run")
    parser.add_argument("--long-turns", type=int, default=500)
    parser.add_argument(
        "--only",
        choices=["all", "conversations", "scaled", "training", "lookups"],
        default="all",
        help="measure one part; the other figures in results.json are kept",
    )
    parser.add_argument("--pupils", type=int, default=100_000, help="pupils in the store for the look-up bench")
    parser.add_argument("--calls", type=int, default=200, help="calls per look-up action")
    args = parser.parse_args()

    results: dict[str, Any] = json.loads(RESULTS.read_text()) if args.only != "all" and RESULTS.exists() else {}
    results.update(
        {
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        }
    )
    if args.only in ("all", "conversations"):
        with tempfile.TemporaryDirectory() as folder:
            store = f"sqlite:///{folder}/store.db"
            migrate.upgrade(store)
            results["one_process"] = one_process(args.long_turns, store)
    if args.only in ("all", "conversations", "scaled"):
        results["scaled"] = scaled(args.long_turns)
    for old_key in ("tracker_store", "startup_s", "sequential", "concurrency", "long_conversation", "memory_mb"):
        results.pop(old_key, None)
    if args.only == "training" or (args.only == "all" and not args.skip_training):
        results["training_s"] = training_seconds()
    if args.only in ("all", "lookups"):
        results["lookups"] = lookups.run(POSTGRES_DSN, pupils=args.pupils, calls=args.calls)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
