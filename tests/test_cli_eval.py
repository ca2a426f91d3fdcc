"""`storywatch eval` as a user runs it: progress on stderr, a closing line, one-line errors, JSON apart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_cli import storywatch

ITEMS = [
    (
        "a1",
        "2024-10-18T03:12:00Z",
        "Yonhap",
        "N. Korea sends troops to Russia: NIS",
        "North Korea sent troops.",
    ),
    ("a2", "2024-10-18T04:05:00Z", "Reuters", "North Korea has sent troops to Russia, Seoul says", ""),
    ("a3", "2024-10-18T05:00:00Z", "BBC", "Fed officials weigh next interest rate move", "The Fed meets."),
]
CLOSING = re.compile(r"^wrote 3 predictions to .+pred\.jsonl in \d+\.\d s \([\d,]+ items/s\)$")


def write_stream(folder: Path, lines: list[str] | None = None) -> Path:
    path = folder / "stream.jsonl"
    if lines is None:
        lines = [
            json.dumps({"id": i, "published": p, "source": s, "url": f"https://x.example/{i}", "title": t,
                        "summary": b})
            for i, p, s, t, b in ITEMS
        ]  # fmt: skip
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_gold(folder: Path) -> Path:
    path = folder / "gold.jsonl"
    rows = [
        {"id": "a1", "development": "d1"},
        {"id": "a2", "development": "d1"},
        {"id": "a3", "development": "d2"},
    ]
    path.write_text("".join(json.dumps({**r, "story": None, "topics": None}) + "\n" for r in rows))
    return path


async def test_progress_and_the_closing_line_go_to_stderr_and_the_metrics_to_stdout(tmp_path: Path) -> None:
    pred = tmp_path / "pred.jsonl"
    run = await storywatch(
        "eval",
        str(write_stream(tmp_path)),
        "--out",
        str(pred),
        "--gold",
        str(write_gold(tmp_path)),
        wait_s=120,
    )
    assert run.code == 0, run.err
    err = run.err.strip().splitlines()
    assert "eval: 3/3 items" in err and CLOSING.match(err[-1]), run.err
    assert "B-cubed" in run.out and "wrote" not in run.out and "eval:" not in run.out
    assert len(pred.read_text().splitlines()) == 3


async def test_with_json_stdout_has_only_json(tmp_path: Path) -> None:
    stream, gold, pred = write_stream(tmp_path), write_gold(tmp_path), tmp_path / "pred.jsonl"
    scored = await storywatch(
        "eval", str(stream), "--out", str(pred), "--gold", str(gold), "--json", wait_s=120
    )
    assert scored.code == 0, scored.err
    metrics = json.loads(scored.out)
    assert metrics["n_items"] == 3 and "bcubed" in metrics["development"]
    assert CLOSING.match(scored.err.strip().splitlines()[-1])
    bare = await storywatch("eval", str(stream), "--out", str(pred), "--json", wait_s=120)
    assert bare.code == 0, bare.err
    assert json.loads(bare.out) == {"items": 3, "out": str(pred), "seconds": json.loads(bare.out)["seconds"]}


GOOD = json.dumps({"id": "a1", "published": "2024-10-18T03:12:00Z", "title": "Talks"})


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([GOOD, '{"id": "a2", "published": '], "line 2: not JSON ("),
        ([GOOD, "[1, 2]"], "line 2: not a JSON object"),
        (
            [GOOD, json.dumps({"published": "2024-10-18T03:12:00Z"})],
            "line 2: 'id' must be a non-empty string",
        ),
        ([GOOD, json.dumps({"id": "a2", "published": "yesterday"})], "line 2: 'published' must be a time"),
        (
            [GOOD, json.dumps({"id": "a2", "published": "2024-10-18T03:12:00Z", "title": 5})],
            "'title' must be",
        ),
        ([GOOD, "", GOOD], "line 3: id 'a1' was used on line 1"),
        ([], "no items"),
    ],
)
async def test_a_bad_line_is_reported_by_number_in_one_line(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    pred = tmp_path / "pred.jsonl"
    run = await storywatch("eval", str(write_stream(tmp_path, lines)), "--out", str(pred))
    assert run.code == 1 and run.out == ""
    [line] = run.err.strip().splitlines()
    assert line.startswith("error: ") and message in line, line
    assert "Traceback" not in run.err and not pred.exists(), "nothing is replayed from a bad stream"


async def test_bad_bytes_topics_and_gold_are_one_line_too(tmp_path: Path) -> None:
    stream, pred = write_stream(tmp_path), tmp_path / "pred.jsonl"
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(GOOD.encode() + b"\n\xff\xfe{}\n")
    topics = tmp_path / "topics.json"
    topics.write_text('[{"name": "no id"}]')
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "a1", "development": 7}\n')
    for args, message in (
        ([str(binary)], "binary.jsonl line 2: not UTF-8 text"),
        ([str(stream), "--topics", str(topics)], "topics.json topic 1: needs an 'id'"),
        ([str(stream), "--gold", str(gold)], "line 1: 'development' must be a string"),
        ([str(tmp_path / "missing.jsonl")], "missing.jsonl: no such file"),
    ):
        run = await storywatch("eval", *args, "--out", str(pred))
        assert run.code in (1, 2) and run.out == "", run.err
        [line] = run.err.strip().splitlines()
        assert message in line and "Traceback" not in run.err, line
