"""The operations commands of `storywatch`: `sources` (add, list, remove, import, export), `status` and
`eval`. bot/cli.py registers them; the work itself is in this room's other modules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from bot.clock import SystemClock
from bot.operations.shell import UserError, err, out, run, settings_of, with_store
from bot.terminal import labelled, shown

sources_app = typer.Typer(help="Manage the feeds storywatch polls.", no_args_is_help=True)


@sources_app.command("add")
def sources_add(
    ctx: typer.Context,
    url: str,
    title: Annotated[str, typer.Option(help="A name for the source (default: the feed's title).")] = "",
    check: Annotated[
        bool, typer.Option(help="Fetch it first; a site URL adds the feed its page links.")
    ] = True,
) -> None:
    """Add a feed (RSS, Atom, JSON Feed), or a site whose page links one."""
    from bot.operations.sources import add_source_checked

    settings = settings_of(ctx)

    async def work(store: Any) -> None:
        source, note = await add_source_checked(store, settings, SystemClock(), url, title=title, check=check)
        line = Text.assemble(f"added source #{source.id}: ", shown(source.url))
        if note:
            line.append_text(Text.assemble(" (", shown(note), ")"))
        out.print(line)

    run(lambda: with_store(settings, work))


@sources_app.command("list")
def sources_list(ctx: typer.Context) -> None:
    """The sources with their health."""
    from bot.store.sources import list_source_statuses

    settings = settings_of(ctx)

    async def work(store: Any) -> None:
        statuses = await list_source_statuses(store)
        table = Table("id", "url", "title", "health", "last ok", "next poll")
        for s in statuses:
            src = s.source
            health = "ok"
            if src.disabled:
                health = f"disabled: {s.disabled_reason or src.last_error or ''}"
            elif src.consecutive_failures:
                health = f"{src.consecutive_failures} failures: {src.last_error or ''}"
            elif not src.primed:
                health = "new"
            table.add_row(
                str(src.id),
                shown(src.url),
                shown(src.title),
                shown(health),
                _when(s.last_ok_at),
                _when(src.next_poll_at),
            )
        out.print(table if statuses else "no sources yet: storywatch sources add URL")

    run(lambda: with_store(settings, work))


@sources_app.command("remove")
def sources_remove(ctx: typer.Context, source_id: int) -> None:
    """Stop polling a source and forget it (its articles stay)."""
    from bot.store.sources import remove_source

    settings = settings_of(ctx)

    async def work(store: Any) -> None:
        if not await remove_source(store, source_id):
            raise UserError(f"no source #{source_id} (see: storywatch sources list)")
        out.print(f"removed source #{source_id}")

    run(lambda: with_store(settings, work))


@sources_app.command("import")
def sources_import(ctx: typer.Context, opml: Path) -> None:
    """Add every feed of an OPML file; bad entries are listed and skipped."""
    from bot.operations.sources import import_opml

    settings = settings_of(ctx)

    async def work(store: Any) -> None:
        report = await import_opml(store, SystemClock(), data, ingest=settings.ingest)
        out.print(f"imported {report.added} sources, {report.existing} already present")
        for problem in report.problems:
            err.print(labelled("skipped:", "yellow", problem))

    if not opml.is_file():
        err.print(labelled("error:", "red", f"{opml}: no such file"))
        raise typer.Exit(1)
    data = opml.read_bytes()
    run(lambda: with_store(settings, work))


@sources_app.command("export")
def sources_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write the sources as OPML 2.0."""
    from bot.operations.sources import export_opml

    settings = settings_of(ctx)

    async def work(store: Any) -> bytes:
        return await export_opml(store, SystemClock())

    data = run(lambda: with_store(settings, work))
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


def evaluate(
    stream: Annotated[Path, typer.Argument(help="Stream JSONL (see the eval kit's README).")],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the predictions (JSONL).")],
    topics: Annotated[Path | None, typer.Option("--topics", help="topics.json: the subscriptions.")] = None,
    gold: Annotated[Path | None, typer.Option("--gold", help="Gold JSONL: print the metrics too.")] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print only JSON on stdout: the metrics (or, without --gold, the run)."),
    ] = False,
) -> None:
    """Replay a labelled stream through normalise + engine and write one prediction per item.

    Progress and the closing line go to stderr; stdout has the metrics (as JSON with --json).
    """
    import json
    import time

    from bot.operations.evaluation import EvalInputError, evaluate_stream

    for path in (stream, topics, gold):
        if path is not None and not path.is_file():
            err.print(labelled("error:", "red", f"{path}: no such file"))
            raise typer.Exit(2)
    started = time.perf_counter()
    try:
        report = evaluate_stream(stream, out_path, topics, gold, progress=_eval_progress())
    except EvalInputError as exc:
        err.print(labelled("error:", "red", exc))
        raise typer.Exit(1) from None
    seconds = time.perf_counter() - started
    rate = report.items / seconds if seconds > 0 else 0.0
    if as_json:
        figures = {"items": report.items, "out": str(out_path), "seconds": round(seconds, 3)}
        sys.stdout.write(json.dumps(report.metrics if report.metrics is not None else figures) + "\n")
    elif report.text:
        out.print(Text(report.text))
    err.print(
        Text(f"wrote {report.items} predictions to {out_path} in {seconds:.1f} s ({rate:,.0f} items/s)")
    )


def _eval_progress() -> Callable[[int, int], None]:
    """Progress on stderr: one line rewritten at a terminal, a line per tenth of the stream otherwise."""
    tenths = [0]

    def report(done: int, total: int) -> None:
        if err.is_terminal:
            err.file.write(f"\reval: {done}/{total} items")
            if done >= total:
                err.file.write("\r\033[K")
            err.file.flush()
        elif done >= total or done * 10 // max(total, 1) > tenths[0]:
            tenths[0] = done * 10 // max(total, 1)
            err.print(f"eval: {done}/{total} items")

    return report


def status_command(ctx: typer.Context) -> None:
    """Sources' health, the outbox, the next digests and the last poll."""
    from bot.operations.status import collect_status, render_status

    settings = settings_of(ctx)
    report = run(lambda: with_store(settings, lambda store: collect_status(store, SystemClock())))
    out.print(*render_status(report))


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"
