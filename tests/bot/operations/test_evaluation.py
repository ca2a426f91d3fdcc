"""`storywatch eval`: a replay writes one prediction per item; on the scenario stream it meets its bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.operations.evaluation import run_eval

ITEMS = [
    (
        "a1",
        "2024-10-18T03:12:00Z",
        "Yonhap",
        "N. Korea sends troops to Russia: NIS",
        "North Korea sent 1,500 troops.",
    ),
    ("a2", "2024-10-18T04:05:00Z", "Reuters", "North Korea has sent troops to Russia, Seoul says", ""),
    (
        "a3",
        "2024-10-18T05:00:00Z",
        "BBC",
        "Fed officials weigh next interest rate move",
        "The Federal Reserve meets.",
    ),
    (
        "a4",
        "2024-10-18T06:00:00Z",
        "Variety",
        "Fans fed up as concert is cancelled",
        "Tickets will be refunded.",
    ),
    ("a5", "2024-10-18T06:30:00Z", "AP", "North Korea has sent troops to Russia, Seoul says", ""),
]


def _write_stream(folder: Path) -> Path:
    path = folder / "stream.jsonl"
    lines = [
        {
            "id": i,
            "published": p,
            "source": s,
            "url": f"https://x.example/{i}?utm_source=rss",
            "title": t,
            "summary": b,
        }
        for i, p, s, t, b in ITEMS
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_replay_without_topics(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    assert run_eval(_write_stream(tmp_path), out) is None
    preds = [json.loads(line) for line in out.read_text().splitlines()]
    assert [p["id"] for p in preds] == [i for i, *_ in ITEMS]
    assert preds[0]["development"] == preds[1]["development"] == preds[4]["development"]
    assert preds[0]["new_development"] and not preds[1]["new_development"] and not preds[4]["new_development"]
    assert all("topics" not in p for p in preds)


def test_replay_with_topics(tmp_path: Path) -> None:
    topics = tmp_path / "topics.json"
    topics.write_text(
        json.dumps(
            [
                {
                    "id": "korea",
                    "name": "Korea",
                    "keywords": ["north korea", "pyongyang"],
                    "description": "Korea",
                },
                {
                    "id": "banks",
                    "name": "Banks",
                    "keywords": ["fed", "interest rates"],
                    "description": "Central banks",
                },
            ]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "pred.jsonl"
    run_eval(_write_stream(tmp_path), out, topics)
    preds = {p["id"]: p for p in map(json.loads, out.read_text().splitlines())}
    assert [preds[i]["topics"] for i in ("a1", "a2", "a3", "a4", "a5")] == [
        ["korea"],
        ["korea"],
        ["banks"],
        [],
        ["korea"],
    ]
    assert preds["a4"]["development"] is None and preds["a4"]["new_development"] is False


@pytest.mark.shared
def test_scenarios_meet_the_bar(shared_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("wordllama", reason="the bar is set for the default configuration, with the model")
    folder = shared_dir / "eval" / "scenarios"
    result = run_eval(
        folder / "stream.jsonl", tmp_path / "pred.jsonl", folder / "topics.json", folder / "gold.jsonl"
    )
    assert result is not None
    assert result["topics"]["F1"] >= 0.95
    assert result["development"]["bcubed"]["F1"] >= 0.93
    assert result["story"]["bcubed"]["F1"] >= 0.85
    assert result["new_development"]["P"] >= 0.85
    assert result["new_development"]["R"] >= 0.90
