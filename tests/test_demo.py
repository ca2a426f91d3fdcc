"""`storywatch demo` as a user runs it: the seed feeds replayed over loopback into a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_cli import storywatch

SUMMARY_KEYS = ("articles", "duplicates", "sources", "errors", "developments", "stories", "alerts", "digests")
SUMMARY = re.compile("^summary: " + " ".join(f"{key}=(?P<{key}>\\d+)" for key in SUMMARY_KEYS) + "$")
SEED_ENTRIES = 259


def summary(out: str) -> dict[str, int]:
    lines = out.strip().splitlines()
    match = SUMMARY.match(lines[-1])
    assert match, f"the last line is not the summary: {lines[-1]!r}"
    return {key: int(value) for key, value in match.groupdict().items()}


def stored_articles(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "storywatch.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])


@dataclass(frozen=True)
class FirstRun:
    data: Path
    out: str


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """One demo run into a fresh data directory, shared by the tests that read its results."""
    data = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return FirstRun(data, done.stdout)


async def test_demo_twice_with_the_same_data_dir(first_run: FirstRun) -> None:
    figures = summary(first_run.out)
    assert figures["articles"] == SEED_ENTRIES and figures["sources"] == 67 and figures["errors"] == 0
    # The dev scenario has syndicated copies and the same story URL in two feeds: they are folded.
    assert figures["duplicates"] > 0
    assert figures["developments"] >= 3 and figures["alerts"] >= 3 and figures["digests"] == 1
    # What the channel sees, then how to try the bot itself; each poll's articles only with --verbose.
    assert "New story: " in first_run.out and "Try it on live feeds: storywatch run --config" in first_run.out
    assert "US, North Korea officials meet to salvage talks" not in first_run.out

    second = await storywatch("demo", "--data-dir", str(first_run.data), wait_s=120)
    assert second.code == 0, second.err
    assert summary(second.out) == {
        "articles": 0,
        "duplicates": 0,
        "sources": 67,
        "errors": 0,
        "developments": 0,
        "stories": 0,
        "alerts": 0,
        "digests": 0,
    }
    assert "nothing new" in second.out
    assert stored_articles(first_run.data) == SEED_ENTRIES


# The seed articles and the labelled development each belongs to (../shared/eval/scenarios/README.md).
SEED_DEVELOPMENTS = {
    "seed-004_be1047205980e6e8": "nkus-2018-05-30-new-york-talks",
    "seed-000_17470713c3846f1c": "nkus-2025-09-26-seoul-urges-talks-at-unga",
    "seed-001_4f30339b672c6a11": "nkus-2025-12-18-adviser-asks-guterres",
}


def test_each_seed_development_is_alerted_once(first_run: FirstRun, shared_dir: Path) -> None:
    gold = [json.loads(line) for line in (shared_dir / "eval/scenarios/gold.jsonl").open()]
    with sqlite3.connect(first_run.data / "storywatch.sqlite") as db:
        for seed, development in SEED_DEVELOPMENTS.items():
            items = [seed] + [g["id"] for g in gold if g["development"] == development]
            marks = " OR ".join("si.item_key LIKE ?" for _ in items)
            rows = db.execute(
                "SELECT count(DISTINCT o.id) FROM source_items si"
                " JOIN development_articles da ON da.article_id = si.article_id"
                " JOIN outbox o ON o.development_id = da.development_id"
                f" WHERE o.kind = 'alert' AND o.status = 'sent' AND ({marks})",
                [f"%:{item}" for item in items],
            ).fetchone()
            # One alert for the development, none for the other outlets' rewrites of it.
            assert rows[0] == 1, f"{development}: {rows[0]} alerts"


async def test_sigkill_mid_poll_leaves_a_sound_database_that_the_next_run_heals(tmp_path: Path) -> None:
    data = tmp_path / "killed"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "demo",
        "--data-dir",
        str(data),
        "--verbose",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    # Kill it once it is well into the replay, while polls are writing.
    seen: list[str] = []
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line, "the demo ended before it could be killed"
        seen.append(line.rstrip("\n"))
        if re.search(r"poll (4\d|[5-9]\d):", line):
            break
    proc.send_signal(signal.SIGKILL)
    # --verbose lists each poll's new articles.
    assert "  + DW: US, North Korea officials meet to salvage talks" in seen
    await proc.wait()
    partial = stored_articles(data)
    assert 0 < partial < SEED_ENTRIES

    check = await storywatch("db", "check", env={"STORYWATCH_DATA_DIR": str(data)})
    assert check.code == 0, check.err
    assert "database ok" in check.out

    healed = await storywatch("demo", "--data-dir", str(data), wait_s=120)
    assert healed.code == 0, healed.err
    figures = summary(healed.out)
    assert figures["errors"] == 0
    assert figures["articles"] == SEED_ENTRIES - partial
    assert stored_articles(data) == SEED_ENTRIES
