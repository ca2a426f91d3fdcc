"""The `storywatch` command line: the composition root, the one place that wires store, ingest and engine.

Each command loads settings, opens the store (applying migrations), does its work and prints with rich.
Errors a user can cause print one clear line and exit 1 or 2; nothing else is swallowed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from bot.clock import SystemClock
from bot.config import ROLES, ConfigError, Role, Settings, load_settings
from bot.terminal import CleanFormatter, SafeConsole, clean_excepthook, labelled, shown

T = TypeVar("T")

app = typer.Typer(
    name="storywatch",
    help="Follow news stories: one message per new development, on Slack, Discord or the console.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sources_app = typer.Typer(help="Manage the feeds storywatch polls.", no_args_is_help=True)
db_app = typer.Typer(help="The database: migrations and checks.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(db_app, name="db")

# Soft wrap: a long line stays one line in pipes and logs (the demo's summary line is read by tools).
# Every line may carry feed or server text: SafeConsole cleans what each print renders.
out = SafeConsole(soft_wrap=True)
err = SafeConsole(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="STORYWATCH_CONFIG", help="TOML configuration file."),
]


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


def load_config(path: Path | None) -> Settings:
    """The settings, or one line on stderr saying what is wrong with them and exit status 2."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        err.print(labelled("configuration error:", "red", exc))
        raise typer.Exit(2) from None


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@app.callback()
def _main(
    ctx: typer.Context,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every poll and delivery.")] = False,
) -> None:
    settings = load_config(config)
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(CleanFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    if not verbose:
        # The CLI prints its own summaries; library chatter stays below WARNING unless asked for.
        logging.getLogger().setLevel(max(level, logging.WARNING))
    ctx.obj = settings


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one async command, turning user-fixable errors into one line and exit status 1."""
    from bot.ingest.feed import FeedError
    from bot.ingest.fetch import FetchError
    from bot.store.db import StoreError

    try:
        return asyncio.run(coro_fn())
    except (UserError, StoreError, FetchError, FeedError, ConfigError) as exc:
        err.print(labelled("error:", "red", exc))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _with_store(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from bot.store import open_store

    store = await open_store(settings.effective_database_url)
    try:
        return await work(store)
    finally:
        await store.close()


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
    from bot.sources import add_source_checked

    settings = _settings(ctx)

    async def work(store: Any) -> None:
        source, note = await add_source_checked(store, settings, SystemClock(), url, title=title, check=check)
        line = Text.assemble(f"added source #{source.id}: ", shown(source.url))
        if note:
            line.append_text(Text.assemble(" (", shown(note), ")"))
        out.print(line)

    run(lambda: _with_store(settings, work))


@sources_app.command("list")
def sources_list(ctx: typer.Context) -> None:
    """The sources with their health."""
    from bot.store.sources import list_source_statuses

    settings = _settings(ctx)

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

    run(lambda: _with_store(settings, work))


@sources_app.command("remove")
def sources_remove(ctx: typer.Context, source_id: int) -> None:
    """Stop polling a source and forget it (its articles stay)."""
    from bot.store.sources import remove_source

    settings = _settings(ctx)

    async def work(store: Any) -> None:
        if not await remove_source(store, source_id):
            raise UserError(f"no source #{source_id} (see: storywatch sources list)")
        out.print(f"removed source #{source_id}")

    run(lambda: _with_store(settings, work))


@sources_app.command("import")
def sources_import(ctx: typer.Context, opml: Path) -> None:
    """Add every feed of an OPML file; bad entries are listed and skipped."""
    from bot.sources import import_opml

    settings = _settings(ctx)

    async def work(store: Any) -> None:
        report = await import_opml(store, SystemClock(), data, ingest=settings.ingest)
        out.print(f"imported {report.added} sources, {report.existing} already present")
        for problem in report.problems:
            err.print(labelled("skipped:", "yellow", problem))

    if not opml.is_file():
        err.print(labelled("error:", "red", f"{opml}: no such file"))
        raise typer.Exit(1)
    data = opml.read_bytes()
    run(lambda: _with_store(settings, work))


@sources_app.command("export")
def sources_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write the sources as OPML 2.0."""
    from bot.sources import export_opml

    settings = _settings(ctx)

    async def work(store: Any) -> bytes:
        return await export_opml(store, SystemClock())

    data = run(lambda: _with_store(settings, work))
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


@app.command("poll")
def poll(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One pass over the due sources, then exit.")] = False,
) -> None:
    """Poll the due sources once (the scheduler does this continuously in `storywatch run`)."""
    if not once:
        err.print("storywatch poll runs one pass: use --once (continuous polling is `storywatch run`)")
        raise typer.Exit(2)
    from bot.ingest.fetch import Fetcher
    from bot.pipeline.poll_pass import poll_pass
    from bot.workers import release_dead_leases, worker_id

    settings = _settings(ctx)

    async def work(store: Any) -> None:
        clock = SystemClock()
        await release_dead_leases(store)
        async with Fetcher(settings.ingest, clock) as fetcher:
            report = await poll_pass(store, fetcher, clock=clock, settings=settings.ingest, owner=worker_id())
        for p in report.polls:
            if p.status == "error":
                err.print(labelled(f"source #{p.source.id}", "yellow", f"{p.source.url}: {p.error}"))
        out.print(
            f"polled {len(report.polls)} sources: {report.new} new articles, "
            f"{report.folded} duplicates folded, {report.errors} errors"
        )

    run(lambda: _with_store(settings, work))


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply the migrations (they are also applied at start)."""
    from bot.store.migrate import upgrade

    settings = _settings(ctx)
    revision = run(lambda: upgrade(settings.effective_database_url))
    out.print(f"database at revision {revision}")


@db_app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Check the database: migrations at head, integrity, search index, leases."""
    from bot.store.check import check

    settings = _settings(ctx)
    problems = run(lambda: check(settings.effective_database_url))
    if problems:
        for problem in problems:
            err.print(labelled("problem:", "red", problem))
        raise typer.Exit(1)
    out.print("database ok")


@app.command("demo")
def demo(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Keep the demo's database here (default: a fresh one).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list each poll's new articles.")
    ] = False,
) -> None:
    """Replay the seed feeds as live news on a fast clock, with no token and no network."""
    from bot.demo.session import run_demo

    code = run(lambda: run_demo(data_dir=data_dir, console=out, verbose=verbose))
    raise typer.Exit(code)


@app.command("eval")
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

    from bot.evaluation import EvalInputError, evaluate_stream

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


# --- run and status (bot/runtime.py, bot/status.py) ---
RoleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--role",
        help="poll, engine, deliver or all (the default); repeat it or join with commas for several",
    ),
]


def parse_roles(given: list[str] | None) -> tuple[Role, ...]:
    """`--role` values as roles, in pipeline order; a UserError names a word that is none."""
    words = [w.strip().lower() for value in given or ["all"] for w in value.split(",") if w.strip()]
    unknown = [w for w in words if w != "all" and w not in ROLES]
    if unknown:
        raise UserError(f"unknown role {shown(unknown[0]).plain!r}: use poll, engine, deliver or all")
    return ROLES if "all" in words or not words else tuple(r for r in ROLES if r in words)


@app.command("run")
def run_command(ctx: typer.Context, config: ConfigOption = None, role: RoleOption = None) -> None:
    """Run the bot: the enabled chat adapters (the console when none), polling and delivery, until SIGTERM.

    With --role, this worker does only part of the work (see the README's deployment section).
    """
    from bot.runtime import run_bot

    try:
        roles = parse_roles(role)
    except UserError as exc:
        err.print(labelled("error:", "red", exc))
        raise typer.Exit(2) from None
    settings = _settings(ctx)
    if config is not None:
        settings = load_config(config)
    raise typer.Exit(run(lambda: run_bot(settings, roles)))


@app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Sources' health, the outbox, the next digests and the last poll."""
    from bot.status import collect_status, render_status

    settings = _settings(ctx)
    report = run(lambda: _with_store(settings, lambda store: collect_status(store, SystemClock())))
    out.print(*render_status(report))


# --- end run and status ---
def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def main() -> None:
    sys.excepthook = clean_excepthook
    app()


if __name__ == "__main__":
    main()
