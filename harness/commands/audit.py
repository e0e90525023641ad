"""``harness audit verify`` and ``harness audit explain``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.errors import HarnessError, UsageError
from harness.safetext import clean

app = typer.Typer(
    help="Check and read the hash-chained audit log of a run: `verify` detects any edit, deletion, "
         "insertion, reordering or truncation; `explain` tells the run as a readable timeline.",
    no_args_is_help=True,
)

RefArg = Annotated[str, typer.Argument(
    metavar="PATH|RUN_ID",
    help="A run's .jsonl audit log, its run id, or a unique prefix of the run id.", show_default=False)]
KeyEnvOpt = Annotated[str | None, typer.Option(
    "--key-env", metavar="NAME",
    help="Environment variable holding the HMAC key the log was signed with "
         "(default: HARNESS_AUDIT_KEY, when it is set).", show_default=False)]
DirOpt = Annotated[list[Path] | None, typer.Option(
    "--dir", metavar="DIR",
    help="Another folder to look for run ids in (e.g. a `harness run --out DIR` folder); repeatable.",
    show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
HeadOpt = Annotated[str | None, typer.Option(
    "--expected-head", metavar="HASH",
    help="The head hash recorded for the run (by default the ledger's, when it knows the run).",
    show_default=False)]


def _key(key_env: str | None) -> bytes | None:
    if key_env is None:
        from harness.config import audit_key

        return audit_key()
    value = os.environ.get(key_env)
    if not value:
        raise UsageError(f"--key-env {key_env}: the environment variable {key_env} is not set or is empty, "
                         "so there is no key to check the log's HMAC with.")
    return value.encode("utf-8")


def _fail(exc: HarnessError) -> typer.Exit:
    typer.echo(f"error: {clean(exc.render(), None, multiline=True)}", err=True)
    return typer.Exit(exc.exit_code)


def _verify(ref: str, key_env: str | None, dirs: list[Path] | None, expected_head: str | None):
    from harness.audit import locate_log, recorded_head, verify_log

    path = locate_log(ref, dirs or ())
    key = _key(key_env)
    report = verify_log(path, key=key, expected_head=expected_head)
    if report.ok and expected_head is None:
        head = recorded_head(report.run_id)
        if head:
            report = verify_log(path, key=key, expected_head=head)
    return path, report


def _report_json(path: Path, report) -> dict:
    from dataclasses import asdict

    return {"path": str(path), "summary": report.summary(), **asdict(report)}


@app.command("verify")
def verify(ref: RefArg, key_env: KeyEnvOpt = None, dirs: DirOpt = None,
           expected_head: HeadOpt = None, as_json: JsonOpt = False) -> None:
    """Check a run's audit log is intact. Exit 0 if it is, 1 if anything was changed or cut."""
    from harness.audit import clean

    try:
        path, report = _verify(ref, key_env, dirs, expected_head)
    except HarnessError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(_report_json(path, report), ensure_ascii=False))
        if not report.ok:
            raise typer.Exit(1)
        return
    if report.ok:
        typer.echo(f"{report.summary()}  [{clean(path, None)}]")
        return
    typer.echo(clean(report.summary(), None), err=True)
    typer.echo(f"  log: {clean(path, None)}", err=True)
    raise typer.Exit(1)


@app.command("explain")
def explain(ref: RefArg, key_env: KeyEnvOpt = None, dirs: DirOpt = None,
            expected_head: HeadOpt = None, as_json: JsonOpt = False) -> None:
    """Tell a run as a timeline a person can read after an incident.

    What the agent was asked and saw, what it said and tried, what the gateway decided, what
    changed and what the scorer concluded, with a note on whether the log verified."""
    from harness.audit import clean, explain_run, explain_run_rich, read_events

    try:
        path, report = _verify(ref, key_env, dirs, expected_head)
        events = read_events(path, strict=False)
    except HarnessError as exc:
        raise _fail(exc) from None
    if as_json:  # the events as recorded, with the verdict on the log they came from
        typer.echo(json.dumps({**_report_json(path, report), "events": events}, ensure_ascii=False, default=str))
        if not events:
            raise typer.Exit(1)
        return
    if sys.stdout.isatty():
        from rich.console import Console

        Console(highlight=False, soft_wrap=True).print(explain_run_rich(events, report), end="")
    else:
        typer.echo(explain_run(events, report), nl=False)
    if not report.ok:
        typer.echo(f"warning: the audit log does not verify: {clean(report.summary(), None)}", err=True)
    if not events:
        raise typer.Exit(1)


def _ledger_lookups() -> None:
    """Let ``harness audit`` find logs written with ``--out DIR`` and check heads the ledger recorded."""
    from harness.audit import set_head_lookup, set_locator
    from harness.errors import NotFoundError

    def run_row(ref: str):
        from harness.config import ledger_url
        from harness.ledger import Ledger

        url = ledger_url()
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            return None
        ledger = Ledger(url)
        try:
            return ledger.get_run(ref)
        except NotFoundError:
            pass
        try:  # a gateway session at work is audited like a run
            return ledger.get_session(ref)
        except NotFoundError:
            return None

    def locate(ref: str):
        row = run_row(ref)
        return Path(row["audit_path"]) if row and row.get("audit_path") else None

    def head(run_id: str):
        row = run_row(run_id)
        return row.get("audit_head") if row else None

    set_locator(locate)
    set_head_lookup(head)


def register(root: typer.Typer) -> None:
    _ledger_lookups()
    root.add_typer(app, name="audit")
