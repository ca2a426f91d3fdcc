"""The `storywatch` command line: the composition root, the one place that wires store, ingest and engine.

Each command loads settings, opens the store (applying migrations), does its work and prints with rich.
Errors a user can cause print one clear line and exit 1 or 2; nothing else is swallowed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.clock import SystemClock
from bot.config import ROLES, ConfigError, Role, Settings, load_settings
from bot.operations import commands as operations
from bot.operations.shell import UserError, err, out, run, settings_of, with_store
from bot.terminal import CleanFormatter, clean_excepthook, labelled, shown

__all__ = ["UserError", "app", "main", "parse_roles"]

app = typer.Typer(
    name="storywatch",
    help="Follow news stories: one message per new development, on Slack, Discord or the console.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: migrations and checks.", no_args_is_help=True)
app.add_typer(operations.sources_app, name="sources")
app.add_typer(db_app, name="db")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="STORYWATCH_CONFIG", help="TOML configuration file."),
]


def load_config(path: Path | None) -> Settings:
    """The settings, or one line on stderr saying what is wrong with them and exit status 2."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        err.print(labelled("configuration error:", "red", exc))
        raise typer.Exit(2) from None


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
    from bot.operations.workers import release_dead_leases, worker_id
    from bot.pipeline.poll_pass import poll_pass

    settings = settings_of(ctx)

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

    run(lambda: with_store(settings, work))


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply the migrations (they are also applied at start)."""
    from bot.store.migrate import upgrade

    settings = settings_of(ctx)
    revision = run(lambda: upgrade(settings.effective_database_url))
    out.print(f"database at revision {revision}")


@db_app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Check the database: migrations at head, integrity, search index, leases."""
    from bot.store.check import check

    settings = settings_of(ctx)
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


app.command("eval")(operations.evaluate)


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
    settings = settings_of(ctx)
    if config is not None:
        settings = load_config(config)
    raise typer.Exit(run(lambda: run_bot(settings, roles)))


app.command("status")(operations.status_command)


def main() -> None:
    sys.excepthook = clean_excepthook
    app()


if __name__ == "__main__":
    main()
