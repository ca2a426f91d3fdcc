"""`storywatch demo` read as a channel member reads it: alerts with a sentence of news, labels, a quiet log.

Acceptance 3 of issue 11: the 'what is new' lines of the demo's alerts are sentences drawn from the
articles (the scenario stream's summaries, as the outlets wrote them); none is a list of tokens; none
starts with a wire tag.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.messages.serial import message_from_json
from bot.models import Message
from bot.stories.text import fold
from tests.test_demo import FirstRun, summary

ROOT = Path(__file__).resolve().parent.parent
WIRE_START = re.compile(
    r"^\s*(?:(?i:[(\[](?:urgent|lead|\d+(?:st|nd|rd|th) ld|flash|update)"
    r"|(?:urgent|flash|breaking|update)\s*[:-])"
    r"|[A-Z]{3,}(?:[ ,.]+[\w.]+){0,4}\s*\([^)]*\)\s*(?:--|—|–|-)|[A-Z]{3,}\s*(?:--|—|–)\s)"
)
WEEKDAY = re.compile(r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b(?!['’]s)")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """One demo run as a user starts it (no --verbose), into a data directory the tests can read."""
    data = tmp_path_factory.mktemp("demo-channel")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return FirstRun(data, done.stdout)


def sent(data: Path, kind: str) -> list[Message]:
    with sqlite3.connect(data / "storywatch.sqlite") as db:
        rows = db.execute(
            "SELECT payload FROM outbox WHERE kind = ? AND status = 'sent' ORDER BY id", (kind,)
        ).fetchall()
    return [message_from_json(row[0]) for row in rows]


def words(text: str) -> list[str]:
    return re.findall(r"[\w']+", fold(text).replace("’", "'"))


def drawn_from(line: str, texts: list[list[str]]) -> bool:
    """The line's words appear, in order, in one of the texts (cleaning only takes words out)."""
    wanted = words(line.rstrip("…"))
    for text in texts:
        position = 0
        for word in text:
            if position < len(wanted) and word == wanted[position]:
                position += 1
        if position == len(wanted):
            return True
    return False


def test_what_is_new_lines_are_sentences_from_the_articles(first_run: FirstRun, shared_dir: Path) -> None:
    stream = [json.loads(line) for line in (shared_dir / "eval/scenarios/stream.jsonl").open()]
    with sqlite3.connect(first_run.data / "storywatch.sqlite") as db:
        stored = [row[0] for row in db.execute("SELECT text FROM articles WHERE text != ''")]
    # What the outlets wrote: the scenario's summaries, and the seed reports' own texts the demo stored.
    texts = [words(item["summary"]) for item in stream if item["summary"]] + [words(t) for t in stored]
    alerts = sent(first_run.data, "alert")
    lines = [a.sections[0].text for a in alerts if a.sections and a.sections[0].text]
    assert len(alerts) >= 10 and len(lines) >= len(alerts) * 2 // 3, "most alerts say what is new"
    for line in lines:
        assert len(line.split()) >= 6, f"not a sentence: {line!r}"
        assert line[0].isupper() or line[0].isdigit() or line[0] in "\"'‘“", line
        assert line.endswith((".", "!", "?", "…", '"', "”", "’", "'")), line
        # A list of tokens: mostly one- or two-word pieces between commas.
        pieces = [piece.strip() for piece in line.split(",")]
        assert not (len(pieces) >= 3 and all(len(piece.split()) <= 2 for piece in pieces)), line
        assert not WIRE_START.match(line), f"starts with a wire tag: {line!r}"
        assert not WEEKDAY.search(line), f"a weekday the reader cannot place: {line!r}"
        assert drawn_from(line, texts), f"not drawn from any article: {line!r}"


def test_alerts_and_the_digest_show_labels_and_clean_headlines(first_run: FirstRun) -> None:
    alerts = sent(first_run.data, "alert")
    for alert in alerts:
        assert alert.title is not None and alert.title.startswith(("Story: ", "New story: ")), alert.title
        heading = alert.sections[0].heading or ""
        assert heading and not WIRE_START.match(heading) and heading != alert.title.split(": ", 1)[1]
    [digest] = sent(first_run.data, "digest")
    shown = [s.heading or "" for s in digest.sections] + [s.text for s in digest.sections]
    shown += [link.label for s in digest.sections for link in s.links]
    headlines = [
        line.split(" — ")[0].removeprefix("• ") for s in digest.sections for line in s.text.splitlines()
    ]
    for headline in headlines:
        assert "?" not in headline and sum(part.count(headline) for part in shown) == 1, headline


def test_the_demo_prints_the_channel_a_poll_tally_and_how_to_go_on(first_run: FirstRun) -> None:
    out = first_run.out
    lines = out.strip().splitlines()
    assert not any(" UTC poll " in line for line in lines), "per-poll lists are for --verbose"
    assert any(
        re.match(r"^\d+ polls of 67 feeds: 259 articles, \d+ duplicates folded, 0 errors", x) for x in lines
    )
    # Piped output is not hard-wrapped: every link is whole on its line.
    for line in lines:
        if "→" in line:
            assert re.search(r"https?://\S+$", line), line
    [hint] = [line for line in lines if line.startswith("Try it on live feeds: storywatch run --config ")]
    config = Path(hint.rsplit(" ", 1)[1])
    settings = load_settings(config, env={})
    assert [t.id for t in settings.topics] == ["korea-diplomacy"] and settings.sources
    assert not settings.slack.enabled and not settings.discord.enabled
    sample = load_settings(ROOT / "seeds/storywatch.toml", env={})
    assert settings.topics[0].query == next(t.query for t in sample.topics if t.id == "korea-diplomacy")
    assert any("subscribe korea-diplomacy" in line for line in lines)
    assert summary(out)["alerts"] == len(sent(first_run.data, "alert"))
