"""`storywatch demo` as a user runs it: the seed feeds replayed over loopback into a real SQLite file."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import sys
from pathlib import Path

from tests.test_cli import storywatch

SUMMARY = re.compile(
    r"^summary: articles=(?P<articles>\d+) duplicates=(?P<duplicates>\d+) "
    r"sources=(?P<sources>\d+) errors=(?P<errors>\d+)",
    re.MULTILINE,
)
SEED_ENTRIES = 259


def summary(out: str) -> dict[str, int]:
    lines = out.strip().splitlines()
    match = SUMMARY.match(lines[-1])
    assert match, f"the last line is not the summary: {lines[-1]!r}"
    return {key: int(value) for key, value in match.groupdict().items()}


def stored_articles(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "storywatch.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])


async def test_demo_twice_with_the_same_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    first = await storywatch("demo", "--data-dir", str(data), wait_s=120)
    assert first.code == 0, first.err
    figures = summary(first.out)
    assert figures["articles"] == SEED_ENTRIES and figures["sources"] == 67 and figures["errors"] == 0
    # The dev scenario has syndicated copies and the same story URL in two feeds: they are folded.
    assert figures["duplicates"] > 0
    assert "US, North Korea officials meet to salvage talks" in first.out

    second = await storywatch("demo", "--data-dir", str(data), wait_s=120)
    assert second.code == 0, second.err
    assert summary(second.out) == {"articles": 0, "duplicates": 0, "sources": 67, "errors": 0}
    assert "nothing new" in second.out
    assert stored_articles(data) == SEED_ENTRIES


async def test_sigkill_mid_poll_leaves_a_sound_database_that_the_next_run_heals(tmp_path: Path) -> None:
    data = tmp_path / "killed"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "demo",
        "--data-dir",
        str(data),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    # Kill it once it is well into the replay, while polls are writing.
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line, "the demo ended before it could be killed"
        if re.search(r"poll (4\d|[5-9]\d):", line):
            break
    proc.send_signal(signal.SIGKILL)
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
