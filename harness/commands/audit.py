"""``harness audit verify`` and ``harness audit explain``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.errors import HarnessError, NotFoundError, UsageError
from harness.safetext import clean

UNANCHORED = 4
"""Exit status of ``audit verify --strict`` for a log that verifies but that nothing anchors."""

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
    help="The head hash recorded for the run (in addition to the ledger's, when it knows the run).",
    show_default=False)]
LedgerOpt = Annotated[str | None, typer.Option(
    "--ledger", metavar="URL",
    help="The ledger the run was recorded in (default: $HARNESS_LEDGER or the SQLite file in $HARNESS_HOME).",
    show_default=False)]
PublicKeyOpt = Annotated[Path | None, typer.Option(
    "--public-key", metavar="FILE",
    help="Ed25519 public key to check signed digests with (default: $HARNESS_HOME/keys/audit-ed25519.pub).",
    show_default=False)]
StrictOpt = Annotated[bool, typer.Option(
    "--strict", help=f"Exit {UNANCHORED} when the log verifies but nothing anchors it (no ledger record, no "
                     "signed digest).")]


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


def _verify(ref: str, key_env: str | None, dirs: list[Path] | None, expected_head: str | None,
            ledger: str | None, public_key: Path | None):
    from harness.audit import verify_anchored

    return verify_anchored(ref, dirs=dirs or (), key=_key(key_env), expected_head=expected_head,
                           ledger_url=ledger, public_key=public_key)


def _verdict_json(verdict) -> dict:
    from dataclasses import asdict

    report = asdict(verdict.report) if verdict.report is not None else {}
    return {**report, "path": str(verdict.path) if verdict.path is not None else None,
            "summary": verdict.summary(), "ok": verdict.ok, "anchored": verdict.anchored,
            "anchors": verdict.anchors, "problems": verdict.problems, "claimed": verdict.claimed}


@app.command("verify")
def verify(ref: RefArg, key_env: KeyEnvOpt = None, dirs: DirOpt = None, expected_head: HeadOpt = None,
           ledger: LedgerOpt = None, public_key: PublicKeyOpt = None, strict: StrictOpt = False,
           as_json: JsonOpt = False) -> None:
    """Check a run's audit log is intact and is the run's. Exit 0 if it is, 1 if anything was changed,
    cut, swapped or deleted; with --strict, 4 when it verifies but nothing anchors it."""
    try:
        verdict = _verify(ref, key_env, dirs, expected_head, ledger, public_key)
    except HarnessError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(_verdict_json(verdict), ensure_ascii=False))
        if not verdict.ok:
            raise typer.Exit(1)
        if strict and not verdict.anchored:
            raise typer.Exit(UNANCHORED)
        return
    where = clean(verdict.path, None) if verdict.path is not None else "-"
    if verdict.ok:
        typer.echo(f"{clean(verdict.summary(), None)}  [{where}]")
        if strict and not verdict.anchored:
            raise typer.Exit(UNANCHORED)
        return
    typer.echo(clean(verdict.summary(), None), err=True)
    typer.echo(f"  log: {where}", err=True)
    raise typer.Exit(1)


@app.command("explain")
def explain(ref: RefArg, key_env: KeyEnvOpt = None, dirs: DirOpt = None, expected_head: HeadOpt = None,
            ledger: LedgerOpt = None, public_key: PublicKeyOpt = None, as_json: JsonOpt = False) -> None:
    """Tell a run as a timeline a person can read after an incident.

    What the agent was asked and saw, what it said and tried, what the gateway decided, what
    changed and what the scorer concluded, with a note on whether the log verified."""
    from harness.audit import explain_run, explain_run_rich, read_events

    try:
        verdict = _verify(ref, key_env, dirs, expected_head, ledger, public_key)
        if verdict.path is None or verdict.report is None:
            raise NotFoundError(verdict.summary())
        events = read_events(verdict.path, strict=False)
    except HarnessError as exc:
        raise _fail(exc) from None
    report = verdict.report
    if as_json:  # the events as recorded, with the verdict on the log they came from
        typer.echo(json.dumps({**_verdict_json(verdict), "events": events}, ensure_ascii=False, default=str))
        if not events:
            raise typer.Exit(1)
        return
    if sys.stdout.isatty():
        from rich.console import Console

        Console(highlight=False, soft_wrap=True).print(explain_run_rich(events, report), end="")
    else:
        typer.echo(explain_run(events, report), nl=False)
    if not verdict.ok:
        typer.echo(f"warning: the audit log does not verify: {clean(verdict.summary(), None)}", err=True)
    elif not verdict.anchored:
        typer.echo("warning: the audit log is unanchored: no ledger record and no signed digest show it is "
                   "the log the run wrote.", err=True)
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
