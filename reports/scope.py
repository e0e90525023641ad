"""What a report is asked for: ``--since``, ``--workflow`` and ``--agent`` checked against the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from harness import promotion
from harness.errors import NotFoundError, UsageError
from harness.ledger import Ledger, report_queries
from harness.policy import Policy


def parse_since(text: str | None) -> datetime | None:
    """``--since``: an ISO date or date-time (naive = UTC) → naive UTC datetime; UsageError otherwise."""
    if text is None:
        return None
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise UsageError(f"--since {text!r} is not a date.",
                         expected="an ISO date or date-time such as 2025-01-31 or 2025-01-31T12:00:00Z") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def check_ledger_exists(url: str) -> None:
    """A SQLite ledger file that does not exist is an error (opening it would create an empty one)."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - Ledger() gives the clear error for a malformed URL
        return
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    if not Path(database).expanduser().exists():
        raise NotFoundError(f"there is no ledger at {database}: nothing to report.",
                            expected="--ledger naming an existing ledger (or runs first: `harness run ...`)")


def resolve_scope(ledger: Ledger, policy: Policy, workflows: list[str] | None, since: datetime | None,
                  agent: str | None) -> report_queries.Selection:
    """Check the request against the ledger: unknown workflows, an empty ledger and unknown agents are errors."""
    known = ledger.workflows()
    if not known:
        raise NotFoundError(
            f"the ledger {ledger_label(ledger)} has no runs and no stage history: there is no evidence to "
            "report on.", expected="runs first, e.g. `harness run scenarios/ --agent oracle`")
    if workflows:
        chosen: list[str] = []
        for name in workflows:
            if name not in known and name not in policy.workflows:
                listed = ", ".join(known)
                raise NotFoundError(f"unknown workflow {name!r}: it has no runs in the ledger and is not in the "
                                    f"policy.", expected=f"one of the workflows with evidence: {listed}")
            if name not in chosen:
                chosen.append(name)
    else:
        chosen = list(known)
    name = version = None
    if agent:
        name, version = promotion.parse_agent(agent)
        tracks = [t for wf in chosen for t in ledger.tracks(wf)]
        if not any(t["agent"] == name and version in (None, t["agent_version"]) for t in tracks):
            have = ", ".join(sorted({f"{t['agent']}@{t['agent_version']}" for t in tracks})) or "none"
            raise UsageError(f"--agent {agent!r} has no runs in {', '.join(chosen)}.",
                             expected=f"an agent version with runs: {have}")
    return report_queries.Selection(workflows=tuple(chosen), since=since, agent=name, agent_version=version)


def ledger_label(ledger: Ledger) -> str:
    """The ledger's URL without its password; a SQLite file inside the working folder by its relative path."""
    url = ledger.engine.url
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and Path(database).is_absolute():
        try:
            return f"sqlite:///{Path(database).relative_to(Path.cwd()).as_posix()}"
        except ValueError:
            pass
    return url.render_as_string(hide_password=True)


def agent_text(selection: report_queries.Selection) -> str | None:
    if selection.agent is None:
        return None
    return selection.agent if selection.agent_version is None else f"{selection.agent}@{selection.agent_version}"


def policy_label(path: str | None) -> str | None:
    """How the header names the policy: as the user gave it, relative to the working folder when it lies
    inside it, and ``bundled: …`` for the packaged default — never this machine's absolute path to it."""
    if not path:
        return path
    from harness import config

    given = Path(path)
    bundled = config.default_policy_path()
    try:
        if given.resolve() == bundled.resolve():
            return "bundled: harness/defaults/policy.yaml"
    except OSError:
        return path
    if given.is_absolute():
        try:
            return given.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path
    return path
