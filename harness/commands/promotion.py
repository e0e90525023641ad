"""``harness status | promote | demote | history``: the release owner's commands.

``register(app)`` mounts the four commands on the root Typer app. Errors the user can act on are
one paragraph on stderr (``error: ...``) and the HarnessError's exit code: 1 refused, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from harness.commands._common import out
from harness.errors import HarnessError
from harness.safetext import clean, markup

LedgerOpt = Annotated[str | None, typer.Option("--ledger", help="Ledger URL (default: $HARNESS_LEDGER or "
                                                                "the SQLite file in $HARNESS_HOME).")]
PolicyOpt = Annotated[str | None, typer.Option("--policy", help="Policy YAML (default: $HARNESS_POLICY or "
                                                                "the bundled policy).")]
AgentOpt = Annotated[str | None, typer.Option("--agent", help="NAME@VERSION whose track record to judge.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _run(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except HarnessError as exc:
        typer.echo(f"error: {clean(str(exc), None, multiline=True)}", err=True)
        raise typer.Exit(exc.exit_code) from None


def _say_no_ledger(ledger: str | None, as_json: bool) -> bool:
    """Read-only commands never create a ledger: with none here, say so (and print [] for --json)."""
    from harness.commands._common import no_ledger_message

    message = no_ledger_message(ledger)
    if message is None:
        return False
    typer.echo(message, err=True)
    if as_json:
        typer.echo("[]")
    return True


def _open(ledger: str | None, policy: str | None):
    from harness.ledger import Ledger
    from harness.policy import load_policy

    return Ledger(ledger), load_policy(policy)


def status_cmd(workflow: Annotated[str | None, typer.Argument(help="One workflow (default: all).")] = None,
               as_json: JsonOpt = False, ledger: LedgerOpt = None, policy: PolicyOpt = None,
               agent: AgentOpt = None) -> None:
    """Each workflow's stage and, per agent version, the next gate criterion by criterion."""
    from harness import promotion
    from harness.policy import load_policy

    _run(lambda: load_policy(policy))  # a bad policy is bad input even where nothing was recorded yet
    if _say_no_ledger(ledger, as_json):
        return

    def work():
        led, pol = _open(ledger, policy)
        with led:
            return promotion.status(led, pol, workflow, agent)

    report = _run(work)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    console = out
    for entry in report:
        _print_status(console, entry)


def _when(value: str | None) -> str:
    return f"{value[:19].replace('T', ' ')}Z" if value else "—"


def _print_status(console: Console, entry: dict[str, Any]) -> None:
    m = markup
    head = f"[bold]{markup(entry['workflow'])}[/]  highest grant: [cyan]{entry['stage']}[/]"
    if entry["granted_to"]:
        head += f" ({markup(entry['granted_to'])})"
        head += f" ({markup(entry['granted_to'])})"
    if entry.get("granted_by_override"):
        head += " [bold yellow](by override)[/]"
    if entry["owner"]:
        head += f"  owner: {markup(entry['owner'])}"
    console.print(head)
    if entry.get("paused"):
        p = entry["paused"]
        console.print(f"  [bold red]PAUSED[/] by {markup(p['by'])} at {_when(p['at'])}: {markup(p['reason'])} "
                      "— every write is refused until `harness resume`")
    pol = entry.get("policy") or {}
    if pol.get("pinned"):
        console.print(f"  governed by the pinned policy {pol['digest'][:12]} ({markup(str(pol['path']))}), pinned by "
                      f"{markup(str(pol['pinned_by']))} at {_when(pol['pinned_at'])}")
    if entry["note"]:
        console.print(f"  {entry['note']}")
    for track in entry["agents"]:
        gate = track["gate"]
        granted = f"[cyan]{track['stage']}[/]"
        if track.get("grant_source") == "carried-over":
            granted += f" (carried over from {markup(track['carried_from'] or '?')})"
        elif track.get("granted_at"):
            granted += f" since {_when(track['granted_at'])}"
        label = (f"  {markup(track['agent'])}@{markup(track['agent_version'])} — granted {granted} — "
                 f"{track['runs']} runs recorded")
        work = track.get("production")
        if work:
            label += (f"\n    at work: {work['sessions']} sessions, {work['forwarded_writes']} writes forwarded, "
                      f"{work['refused']} refused, suggestions {work['suggestions_accepted']} accepted / "
                      f"{work['suggestions_rejected']} rejected / {work['suggestions_pending']} pending, "
                      f"{work['env_errors']} upstream errors")
        if track.get("incidents"):
            worst = max(track["incidents"], key=lambda i: ["low", "medium", "high", "critical"].index(i["severity"]))
            label += (f"\n    [red]{len(track['incidents'])} incident(s)[/], worst {worst['severity']}: "
                      f"{markup(worst['reason'])}")
        if track.get("override"):
            o = track["override"]
            label += (f"\n    [bold yellow]OVERRIDE[/]: granted {o['stage']} by {markup(o['by'])} at "
                      f"{_when(o['at'])} despite unmet {', '.join(o['overrode']) or 'criteria'}: {markup(o['reason'])}")
        recert = track.get("recertification")
        if recert and recert["due"]:
            rg = recert["gate"]
            verdict = "" if rg is None else (" — fresh evidence meets the gate" if rg["ready"]
                                             else f" — fresh evidence falls short: {', '.join(rg['unmet'])}")
            label += f"\n    [yellow]recertification due since {recert['due_at']}[/]{verdict}"
            if recert.get("expired"):
                label += (f"\n    [bold yellow]the {recert['stage']} grant EXPIRED[/]: it holds "
                          f"{recert['holds_meanwhile']} until re-certified (`harness promote` on evidence "
                          "recorded after the grant)")
        if gate is None:
            console.print(label + ("" if track["stage"] == "sandbox" or track.get("next_stage") else
                                   " — at the top of its ladder"))
            continue
        sign = gate["signoffs"]
        if gate["ready"]:
            verdict = f"[green]READY[/] for {m(gate['stage'])}" + (
                "" if sign["met"] else f"; sign-offs needed: {m(sign['required'])}, have {m(sign['measured'])}")
        elif gate.get("outcome") == "not_met":
            verdict = f"[red]NOT MET[/] for {m(gate['stage'])}: {len(gate['unmet'])} unmet (more runs will not fix it)"
        else:
            verdict = f"[yellow]INCONCLUSIVE[/] for {m(gate['stage'])}: {len(gate['unmet'])} unmet — keep collecting"
        console.print(f"{label} — {verdict}")
        errors = gate.get("errors") or {}
        if any(errors.values()):
            console.print("        [yellow]errored runs in the window[/]: " + ", ".join(
                f"{n} {cause}" for cause, n in errors.items()) + " [dim](agent errors count as mistakes; "
                "harness and environment errors do not, and block promotion)[/]")
        looks = gate.get("looks")
        if looks:
            console.print(f"        [dim]looks at this gate (promote attempts): {looks['looks']}; error spent "
                          f"{looks['error_spent']:.3%} of {looks['error_budget']:.0%}[/]")
        for c in gate["criteria"] + [sign]:
            ok = "[green]  ok[/]" if c["met"] else "[red]  no[/]"
            console.print(f"  {ok}  {m(c['name']):<24} required {m(_fmt(c['required']))}, "
                          f"measured {m(_fmt(c['measured']))}")
            console.print(f"        [dim]{m(c['detail'])}[/]")
    console.print()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def promote_cmd(workflow: Annotated[str, typer.Argument(help="The workflow to promote.")],
                by: Annotated[str, typer.Option("--by", help="Who signs off (a name in the policy's people).")],
                reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
                to: Annotated[str | None, typer.Option("--to", help="The next stage up (default: the "
                                                       "version's next stage).")] = None,
                agent: AgentOpt = None,
                override: Annotated[bool, typer.Option("--override", help="Promote although criteria are "
                                                       "unmet; recorded as an override.")] = False,
                ledger: LedgerOpt = None, policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """Promote one agent version of WORKFLOW one stage up when its gate is met (each attempt is a recorded look).

    Refused with the outcome (inconclusive or not met) and every unmet criterion. --to defaults to the
    version's next stage; --agent names the version when several have evidence.
    """
    from harness import promotion

    def work():
        led, pol = _open(ledger, policy)
        with led:
            target = to or _next_stage(led, pol, workflow)
            return promotion.promote(led, pol, workflow, target, by, reason, agent=agent, override=override)

    t = _run(work)
    if as_json:
        typer.echo(json.dumps(t, indent=2, default=str))
        return
    extra = " [OVERRIDE: " + ", ".join(t["gate"]["override"]["unmet"]) + " unmet]" if t["override"] else ""
    typer.echo(clean(f"promoted {t['workflow']}: {t['from_stage']} → {t['to_stage']} for {t['agent']}@"
                     f"{t['agent_version']} by {t['actor']} (transition #{t['seq']}, evidence "
                     f"{t['evidence_digest'][:12]}){extra}", None))


def _next_stage(led: Any, pol: Any, workflow: str) -> str:
    from harness.errors import UsageError

    current = led.stage_of(workflow)
    target = pol.workflow(workflow).next_stage(current)
    if target is None:
        raise UsageError(f"{workflow} is at {current}, the top of its ladder: there is no stage to promote to.",
                         field="--to")
    return target


def demote_cmd(workflow: Annotated[str, typer.Argument(help="The workflow to demote.")],
               to: Annotated[str, typer.Option("--to", help="A lower stage.")],
               by: Annotated[str, typer.Option("--by", help="Who demotes.")],
               reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
               agent: Annotated[str | None, typer.Option("--agent", help="NAME@VERSION (or NAME) to demote "
                                                         "(default: every version above --to).")] = None,
               ledger: LedgerOpt = None, policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """Demote WORKFLOW (every agent version above --to, or the one named) to a lower stage."""
    from harness import promotion

    def work():
        led, pol = _open(ledger, policy)
        with led:
            return promotion.demote(led, pol, workflow, to, by, reason, agent=agent)

    moved = _run(work)
    if as_json:
        typer.echo(json.dumps(moved, indent=2, default=str))
        return
    for t in moved:
        typer.echo(clean(f"demoted {t['workflow']} for {t['agent']}@{t['agent_version']}: {t['from_stage']} → "
                         f"{t['to_stage']} by {t['actor']} (transition #{t['seq']})"))


def pause_cmd(workflow: Annotated[str, typer.Argument(help="The workflow to pause.")],
              by: Annotated[str, typer.Option("--by", help="Who pauses it.")],
              reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
              ledger: LedgerOpt = None, policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """The kill switch: refuse every write of every agent version of WORKFLOW, from the next tool call on."""
    from harness import promotion

    def work():
        led, pol = _open(ledger, policy)
        with led:
            return promotion.pause(led, pol, workflow, by, reason)

    t = _run(work)
    if as_json:
        typer.echo(json.dumps(t, indent=2, default=str))
        return
    typer.echo(f"paused {t['workflow']} by {t['actor']} (transition #{t['seq']}): every write is refused until "
               f"`harness resume {t['workflow']} --by NAME --reason TEXT`")


def resume_cmd(workflow: Annotated[str, typer.Argument(help="The workflow to resume.")],
               by: Annotated[str, typer.Option("--by", help="Who resumes it.")],
               reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
               ledger: LedgerOpt = None, policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """Lift a pause: writes follow each agent version's grant again."""
    from harness import promotion

    def work():
        led, pol = _open(ledger, policy)
        with led:
            return promotion.resume(led, pol, workflow, by, reason)

    t = _run(work)
    if as_json:
        typer.echo(json.dumps(t, indent=2, default=str))
        return
    typer.echo(f"resumed {t['workflow']} by {t['actor']} (transition #{t['seq']})")


incident_app = typer.Typer(help="Incidents at work: record one (the demotion rules apply at once), list them.",
                          no_args_is_help=True)


@incident_app.command("record")
def incident_record_cmd(
        workflow: Annotated[str, typer.Argument(help="The workflow the incident happened in.")],
        severity: Annotated[str, typer.Option("--severity", help="low, medium, high or critical.")],
        reason: Annotated[str, typer.Option("--reason", help="What happened.")],
        by: Annotated[str, typer.Option("--by", help="Who records it.")],
        session: Annotated[str | None, typer.Option("--session", help="The session (or run) it came from.")] = None,
        agent: Annotated[str | None, typer.Option("--agent", help="NAME@VERSION (default: the session's).")] = None,
        ledger: LedgerOpt = None, policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """Record a real incident; the policy's demotion rules apply at once (the next tool call obeys them)."""
    from harness import promotion

    def work():
        led, pol = _open(ledger, policy)
        with led:
            who = agent or _session_agent(led, workflow, session)
            return promotion.record_incident(led, pol, workflow, agent=who, severity=severity, reason=reason,
                                             by=by, session=session)

    done = _run(work)
    if as_json:
        typer.echo(json.dumps(done, indent=2, default=str))
        return
    i = done["incident"]
    typer.echo(clean(f"incident #{i['id']} recorded for {i['workflow']} ({i['agent']}@{i['agent_version']}, "
                     f"{i['severity']}) by {i['actor']}"))
    d = done["demotion"]
    if d:
        typer.echo(f"demoted {d['workflow']} for {d['agent']}@{d['agent_version']}: {d['from_stage']} → "
                   f"{d['to_stage']} ({d['actor']}, transition #{d['seq']})")
    else:
        typer.echo("no demotion rule fired for this severity at this stage; it blocks nothing by itself — "
                   "use `harness demote` or `harness pause` if it should.")


@incident_app.command("list")
def incident_list_cmd(workflow: Annotated[str | None, typer.Argument(help="One workflow (default: all).")] = None,
                      ledger: LedgerOpt = None, as_json: JsonOpt = False) -> None:
    """Incidents recorded, oldest first."""
    from harness.ledger import Ledger

    def work():
        with Ledger(ledger) as led:
            return led.incidents(workflow)

    rows = _run(work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo("no incidents recorded.")
    for i in rows:
        out.print(f"#{i['id']} {_when(i['created_at'])} {markup(i['workflow'])} {markup(i['agent'])}@"
                  f"{markup(i['agent_version'])} at {i['stage']}: {i['severity']} — {markup(i['reason'])} "
                  f"(by {markup(i['actor'])}" + (f", session {markup(i['session_id'])})" if i["session_id"] else ")"))


def _session_agent(led: Any, workflow: str, session: str | None) -> str:
    """The NAME@VERSION a session or run was made by (sessions at work first, then runs)."""
    from harness.errors import NotFoundError, UsageError

    if session is None:
        raise UsageError("name the agent version or the session the incident came from.",
                         field="--agent / --session", expected="--agent NAME@VERSION or --session ID")
    finder = getattr(led, "get_session", None)
    if finder is not None:
        try:
            row = finder(session)
            return f"{row['agent']}@{row['agent_version']}"
        except NotFoundError:
            pass
    try:
        row = led.get_run(session)
    except NotFoundError:
        raise UsageError(f"no session or run {session!r} in the ledger.", field="--session",
                         expected="a session id from `harness gateway serve`, or --agent NAME@VERSION") from None
    if row["workflow"] != workflow:
        raise UsageError(f"{session} belongs to {row['workflow']}, not {workflow}.", field="--session")
    return f"{row['agent']}@{row['agent_version']}"


def history_cmd(workflow: Annotated[str | None, typer.Argument(help="One workflow (default: all).")] = None,
                as_json: JsonOpt = False, ledger: LedgerOpt = None) -> None:
    """Stage transitions with who, when, why, sign-offs and evidence digests."""
    from harness import promotion
    from harness.ledger import Ledger

    if _say_no_ledger(ledger, as_json):
        return

    def work():
        with Ledger(ledger) as led:
            return promotion.history(led, workflow)

    rows = _run(work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo(f"no stage transitions{f' for {workflow}' if workflow else ''} yet "
                   "(every workflow starts at sandbox).")
        return
    console = out
    m = markup
    for t in rows:
        change = (f"{t['kind']}" if t["kind"] in ("pause", "resume") else f"{t['from_stage']} → {t['to_stage']}"
                  + (f" ({t['kind']})" if t["kind"] == "carry-over" else "")) + (
            " [bold red](override)[/]" if t["override"] else "")
        signed = ", ".join(s["person"] for s in t["signoffs"])
        console.print(f"[bold]{m(t['workflow'])}[/] #{t['seq']}  {t['created_at'][:19].replace('T', ' ')}Z  "
                      f"{change}  by {markup(t['actor'])}" + (f" (signed off: {markup(signed)})" if signed else ""))
        facts = [f"agent {m(t['agent'])}@{m(t['agent_version'])}" if t["agent"] else None,
                 f"evidence {t['evidence_digest'][:12]}" if t["evidence_digest"] else None,
                 f"policy {t['policy_digest'][:12]}" if t["policy_digest"] else None]
        if any(facts):
            console.print("    " + " · ".join(f for f in facts if f))
        console.print(f"    reason: {m(t['reason'])}")


def register(app: typer.Typer) -> None:
    """Add ``status``, ``promote``, ``demote``, ``history``, ``pause``, ``resume`` and ``incident``."""
    app.command("status")(status_cmd)
    app.command("promote")(promote_cmd)
    app.command("demote")(demote_cmd)
    app.command("history")(history_cmd)
    app.command("pause")(pause_cmd)
    app.command("resume")(resume_cmd)
    app.add_typer(incident_app, name="incident")


def main() -> None:  # pragma: no cover - for running this module alone
    app = typer.Typer(add_completion=False)
    register(app)
    app(sys.argv[1:])
