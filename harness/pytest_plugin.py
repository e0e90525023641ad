"""pytest plugin: scenario YAML files as test items, one per scenario and trial. See docs/pytest.md.

Registered through the ``pytest11`` entry point, so it is imported by every pytest run on a machine
where the harness is installed. It therefore imports nothing heavy at module level and does nothing
unless ``--harness-agent`` is given: only then are YAML files collected, markers registered, runs
recorded. The ``harness_run`` and ``load_scenario`` fixtures are always available (they import the
harness when first used).

    pytest scenarios/ --harness-agent oracle
    pytest scenarios/ --harness-agent simulated --harness-agent-arg mistake_rate=0.3 --harness-trials 5 -n 4
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover - typing only: these imports are what we avoid at import time
    from harness.models import RunResult
    from harness.plans import Plan
    from harness.scenario import Scenario

SUFFIXES = (".yaml", ".yml")
TIERS = ("low", "medium", "high")
_SESSION = "harness-session"
_ID_LINE = re.compile(r"^id\s*:", re.MULTILINE)


# -- options and start-up -----------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "agent trust harness: scenario YAML files as tests (docs/pytest.md)")
    group.addoption("--harness-agent", metavar="SPEC", default=None,
                    help="Collect scenario YAML files and run them with this agent: oracle, simulated, "
                         "replay, noop, openai or module:attribute. Without it no YAML file is collected.")
    group.addoption("--harness-suite", metavar="NAME", action="append", default=[],
                    help="Collect a bundled suite by name: bundled (all), bundled:crm, "
                         "bundled:crm.renewal-discounts (repeatable). Without test paths only these "
                         "are collected.")
    group.addoption("--harness-agent-arg", metavar="KEY=VALUE", action="append", default=[],
                    help="Agent option, e.g. mistake_rate=0.3 (repeatable).")
    group.addoption("--harness-agent-version", metavar="V", default=None,
                    help="Record the agent under this version.")
    group.addoption("--harness-trials", metavar="N", type=int, default=1,
                    help="Runs per scenario, one test item each (default 1).")
    group.addoption("--harness-stage", metavar="STAGE", default=None,
                    help="sandbox, suggest, approve or autonomous (default: the stage granted to the agent "
                         "version, per workflow; above the grant only with --harness-rehearse).")
    group.addoption("--harness-rehearse", action="store_true", default=False,
                    help="Run above the granted stage as a rehearsal: marked, never counted as evidence.")
    group.addoption("--harness-policy", metavar="FILE", default=None,
                    help="Policy file for stage bounds and demotion triggers (default: $HARNESS_POLICY "
                         "or the bundled policy).")
    group.addoption("--harness-reviewer", metavar="R", default=None,
                    help="Decide approve-stage plans: approve-all, reject-all, careful or careful:RATE.")
    group.addoption("--harness-catch-rate", metavar="P", type=float, default=None,
                    help="For --harness-reviewer careful: the share of wrong actions caught (0..1).")
    group.addoption("--harness-seed", metavar="S", type=int, default=0,
                    help="Base seed of the runs (default 0); each run's seed follows from it, the "
                         "scenario id and the trial, so -n N gives the same runs as a serial session.")
    group.addoption("--harness-ledger", metavar="URL", default=None,
                    help="Record the runs in this ledger (default: $HARNESS_LEDGER or .harness/ledger.db).")
    group.addoption("--harness-no-ledger", action="store_true", default=False,
                    help="Do not record the runs in the ledger.")
    group.addoption("--harness-no-audit", action="store_true", default=False,
                    help="Do not write audit logs (harness audit explain will not know the runs).")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("harness_agent", None):
        return
    for tier in TIERS:
        config.addinivalue_line("markers", f"tier_{tier}: scenario items of risk tier {tier} (harness)")
    # a malformed scenario file is a collection error; the rest of the suite still runs
    config.option.continue_on_collection_errors = True
    _add_suites(config)
    config.pluginmanager.register(HarnessSession(config), _SESSION)


def _add_suites(config: pytest.Config) -> None:
    """``--harness-suite bundled:crm``: the suite's folder joins the paths to collect (or replaces the
    default ones — the current folder or ``testpaths`` — when no path was given)."""
    names = config.getoption("harness_suite", None) or []
    if not names:
        return
    from harness.bundled import resolve
    from harness.errors import HarnessError

    try:
        folders = [str(resolve(n if str(n).startswith("bundled") else f"bundled:{n}")) for n in names]
    except HarnessError as exc:
        raise pytest.UsageError(f"--harness-suite: {exc.render()}") from None
    given = config.args_source == pytest.Config.ArgsSource.ARGS
    config.args = (list(config.args) if given else []) + folders


def workflow_marker(workflow: str) -> str:
    """The marker a workflow's items carry: ``crm.renewal-discounts`` → ``workflow_crm_renewal_discounts``."""
    return "workflow_" + re.sub(r"[^0-9A-Za-z_]", "_", workflow)


# -- the session: agent, run configuration, results, ledger -------------------------------------------
class HarnessSession:
    """Everything ``--harness-agent`` switches on; registered as a plugin only then."""

    def __init__(self, config: pytest.Config):
        from harness.errors import HarnessError

        self.config = config
        self.worker = hasattr(config, "workerinput")  # a pytest-xdist worker
        self.results: list[RunResult] = []
        self.plans: list[Plan] = []
        self.ids: dict[str, str] = {}
        self.markers: set[str] = set()
        self.outcomes: dict[str, int] = {"pass": 0, "fail": 0, "error": 0}
        self.recorded = 0
        self.ledger_errors: list[str] = []
        self.demotions: list[dict] = []
        try:
            self._setup(config)
        except HarnessError as exc:
            raise pytest.UsageError(exc.render()) from None

    def _setup(self, config: pytest.Config) -> None:
        from harness.agents import load_agent, parse_options
        from harness.config import audit_dir, audit_key, ledger_url
        from harness.errors import UsageError
        from harness.models import STAGES
        from harness.plans import parse_reviewer
        from harness.policy import load_policy
        from harness.runner import RunConfig

        opt = config.getoption
        stage = opt("harness_stage")
        if stage is not None and stage not in STAGES:
            raise UsageError(f"unknown stage {stage!r}.", field="--harness-stage",
                             expected="one of " + ", ".join(STAGES))
        trials = opt("harness_trials")
        if trials < 1:
            raise UsageError(f"--harness-trials {trials}: a scenario needs at least one run.",
                             field="--harness-trials", expected="a whole number of 1 or more")
        reviewer = opt("harness_reviewer")
        if reviewer and stage not in (None, "approve"):
            raise UsageError("--harness-reviewer decides plans, which only exist at --harness-stage approve.",
                             field="--harness-reviewer")
        self.requested_stage, self.rehearse = stage, bool(opt("harness_rehearse"))
        if opt("harness_ledger") and opt("harness_no_ledger"):
            raise UsageError("--harness-ledger and --harness-no-ledger contradict each other; give one.",
                             field="--harness-ledger")
        self.trials = trials
        self.provider = load_agent(opt("harness_agent"), parse_options(opt("harness_agent_arg")),
                                   opt("harness_agent_version"))
        self.policy = load_policy(opt("harness_policy"))
        self.audit_dir = None if opt("harness_no_audit") else audit_dir()
        self.run_config = RunConfig(stage=stage or "sandbox", trials=1, seed=opt("harness_seed"), policy=self.policy,
                                    reviewer=parse_reviewer(reviewer, opt("harness_catch_rate")),
                                    audit_dir=self.audit_dir, audit_key=audit_key())
        self.ledger_url: str | None = None
        if not opt("harness_no_ledger"):
            self.ledger_url = ledger_url(opt("harness_ledger"))
            try:
                from harness.ledger import Ledger
            except ImportError as exc:  # recording was asked for: never skip it silently
                raise UsageError(f"cannot record runs: the ledger package failed to import "
                                 f"({type(exc).__name__}: {exc}).",
                                 expected="a working installation (pip install -e .) or --harness-no-ledger"
                                 ) from None
            if not self.worker:  # open it now, so a bad URL stops the session before any run
                Ledger(self.ledger_url).close()

    # collection
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list) -> None:
        """Every workflow collected runs at the agent version's grant (checked before any run)."""
        from harness.errors import HarnessError
        from harness.grants import stages_for_suite

        workflows = sorted({i.scenario.workflow for i in items if isinstance(i, ScenarioItem)})
        if not workflows:
            return
        ledger = None
        try:
            if self.ledger_url is not None:
                from harness.ledger import Ledger

                ledger = Ledger(self.ledger_url)
            stages, rehearsals = stages_for_suite(ledger, self.policy, workflows, self.provider.name,
                                                  self.provider.version, self.requested_stage, self.rehearse,
                                                  flag="--harness-stage")
            if self.run_config.reviewer is not None and "approve" not in stages.values():
                from harness.errors import UsageError

                raise UsageError("--harness-reviewer decides plans, which only exist at --harness-stage approve.",
                                 field="--harness-reviewer")
        except HarnessError as exc:
            raise pytest.UsageError(exc.render()) from None
        finally:
            if ledger is not None:
                ledger.close()
        self.run_config.stages, self.run_config.rehearsals = stages, rehearsals

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if file_path.suffix in SUFFIXES:
            return ScenarioFile.from_parent(parent, path=file_path)
        return None

    def marker(self, name: str, description: str) -> str:
        if name not in self.markers and not name.startswith("tier_"):
            self.config.addinivalue_line("markers", f"{name}: {description} (harness)")
        self.markers.add(name)
        return name

    # running
    def run(self, scenario: Scenario, trial: int) -> RunResult:
        from harness.runner import SHARED_WORLDS, run_one

        result, plan = _run_sync(run_one(scenario, self.provider, trial, self.run_config, SHARED_WORLDS))
        self.results.append(result)
        if plan is not None:
            self.plans.append(plan)
        return result

    # reporting
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        c = self.run_config
        ledger = self.ledger_url or "off (--harness-no-ledger)"
        audit = str(self.audit_dir) if self.audit_dir is not None else "off (--harness-no-audit)"
        return [(f"harness: agent {self.provider.name} {self.provider.version}, stage "
                 f"{self.requested_stage or 'as granted'}{' (rehearsal)' if self.rehearse else ''}, "
                 f"{self.trials} trial(s) per scenario, seed {c.seed}"),
                f"harness: ledger {ledger}; audit logs {audit}"]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        outcome = dict(report.user_properties).get("harness_outcome")
        if outcome in self.outcomes:
            self.outcomes[outcome] += 1

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.ledger_url is not None and (self.results or self.plans):
            self._record()
        if self.worker:
            session.config.workeroutput["harness"] = {  # type: ignore[attr-defined]
                "recorded": self.recorded, "ledger_errors": self.ledger_errors, "demotions": self.demotions}
        if self.ledger_errors:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist, on the controller: what a worker recorded."""
        out = (getattr(node, "workeroutput", None) or {}).get("harness") or {}
        self.recorded += int(out.get("recorded", 0))
        self.ledger_errors.extend(out.get("ledger_errors", []))
        self.demotions.extend(out.get("demotions", []))

    def _record(self) -> None:
        """One batch per process (each xdist worker records its own runs), then the demotion triggers."""
        from harness.errors import HarnessError
        from harness.ledger import Ledger

        try:
            ledger = Ledger(self.ledger_url)
        except HarnessError as exc:
            self.ledger_errors.append(exc.render())
            return
        try:
            self.recorded += ledger.record_runs(self.results)
            for plan in self.plans:
                record = plan.to_record()
                decision = getattr(plan, "decision", None)
                if decision:
                    record.update(decision=decision, decided_by=decision.get("by"), reason=decision.get("reason"))
                ledger.save_plan(record)
            from harness.promotion import check_demotions

            self.demotions.extend(_plain(check_demotions(ledger, self.policy, self.results) or []))
        except HarnessError as exc:
            self.ledger_errors.append(exc.render())
        finally:
            ledger.close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        n = sum(self.outcomes.values())
        if not n and not self.ledger_errors:
            return
        tr.write_sep("-", "harness")
        stages = "/".join(sorted(set(self.run_config.stages.values()) or {self.run_config.stage}))
        rehearsal = (f" (REHEARSAL for {', '.join(sorted(self.run_config.rehearsals))}: not evidence)"
                     if self.run_config.rehearsals else "")
        tr.write_line(f"{n} run(s) of {self.provider.name} {self.provider.version} at stage "
                      f"{stages}{rehearsal}: {self.outcomes['pass']} pass, {self.outcomes['fail']} fail, "
                      f"{self.outcomes['error']} error")
        if self.ledger_url is None:
            tr.write_line("not recorded in the ledger (--harness-no-ledger)")
        elif not self.ledger_errors:
            tr.write_line(f"recorded {self.recorded} run(s) in the ledger {_hide_password(self.ledger_url)}")
        for message in self.ledger_errors:
            tr.write_line(f"the runs were NOT recorded in the ledger: {message}", red=True, bold=True)
        for d in self.demotions:
            tr.write_line(f"demoted {d.get('workflow')}: {d.get('from_stage', d.get('from'))} → "
                          f"{d.get('to_stage', d.get('to'))} ({d.get('reason', '')})", red=True, bold=True)
        if self.audit_dir is not None and (self.outcomes["fail"] or self.outcomes["error"]):
            tr.write_line(f"audit logs in {self.audit_dir}; tell a run with: harness audit explain RUN_ID")


def _plain(items: list) -> list[dict]:
    """Demotion records as JSON-safe dicts (they travel from xdist workers to the controller)."""
    import json

    return [json.loads(json.dumps(dict(d), default=str)) for d in items]


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


def _run_sync(coro: Any) -> Any:
    """``asyncio.run``, also from inside a running event loop (then in a thread of its own)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="harness-run") as pool:
        return pool.submit(asyncio.run, coro).result()


# -- collection: a file, its items --------------------------------------------------------------------
class ScenarioFile(pytest.File):
    """A scenario YAML file: one item per trial. A malformed file is a collection error naming the
    file and the field, never a traceback."""

    def collect(self):
        from harness.errors import HarnessError, InvalidScenario
        from harness.scenario import load_scenario_file

        session: HarnessSession = self.config.pluginmanager.get_plugin(_SESSION)
        where = self.nodeid or str(self.path)
        try:
            scenario = load_scenario_file(self.path)
        except HarnessError as exc:
            if exc.file:
                exc.file = where  # the path as pytest shows it, not the absolute one
            raise self.CollectError(exc.render()) from None
        first = session.ids.setdefault(scenario.id, where)
        if first != where:
            raise self.CollectError(InvalidScenario(
                f"the id {scenario.id!r} is already used by {first}.", file=where, field="id",
                expected="ids unique across the suite").render())
        scenario = scenario.model_copy(update={"path": where})
        line = _id_line(self.path)
        markers = [session.marker(f"tier_{scenario.tier}", ""),
                   session.marker(workflow_marker(scenario.workflow), f"scenario items of workflow "
                                                                      f"{scenario.workflow}")]
        for trial in range(session.trials):
            item = ScenarioItem.from_parent(self, name=f"{scenario.id}[t{trial}]", scenario=scenario,
                                            trial=trial, line=line)
            for name in markers:
                item.add_marker(name)
            item.extra_keyword_matches.update([scenario.workflow, *scenario.tags])
            yield item


def _id_line(path: Path) -> int:
    """The (0-based) line of the scenario's ``id:``, for ``reportinfo``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    found = _ID_LINE.search(text)
    return text.count("\n", 0, found.start()) if found else 0


class ScenarioFailed(Exception):
    """The run did not pass: carries the result that ``repr_failure`` explains."""

    def __init__(self, result: RunResult):
        super().__init__(summary_line(result))
        self.result = result


class ScenarioItem(pytest.Item):
    """One run of one scenario (one trial) by the session's agent."""

    def __init__(self, *, scenario: Scenario, trial: int, line: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.trial = trial
        self.line = line
        self.result: RunResult | None = None

    def runtest(self) -> None:
        session: HarnessSession = self.config.pluginmanager.get_plugin(_SESSION)
        result = session.run(self.scenario, self.trial)
        self.result = result
        self.user_properties.extend(result_properties(result))
        if result.outcome != "pass":
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            result = excinfo.value.result
            return _failure_repr(explain(result), summary_line(result), str(self.path), self.line + 1)
        return super().repr_failure(excinfo, style)  # a bug in the harness: show the traceback

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line, f"scenario {self.scenario.id} [t{self.trial}]"


def _failure_repr(text: str, short: str, path: str, lineno: int) -> Any:
    """The explanation as pytest's failure representation, with a one-line crash message so that
    ``-ra``, ``--tb=line`` and JUnit's ``message`` attribute show the short form; a plain string when
    pytest's internals are not what we expect."""
    try:
        from _pytest._code.code import ReprExceptionInfo, ReprFileLocation, ReprTracebackNative

        return ReprExceptionInfo(reprtraceback=ReprTracebackNative([text if text.endswith("\n") else text + "\n"]),
                                 reprcrash=ReprFileLocation(path, lineno, short))
    except Exception:  # noqa: BLE001 - any change in pytest's internals: fall back to the text
        return text


# -- explaining a run -----------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def summary_line(result: RunResult) -> str:
    """One line: the outcome and what went wrong."""
    if result.outcome == "error" and result.error is not None:
        return f"ERROR ({result.error.cause}): {result.error.message}"
    if not result.mistakes:
        return result.outcome.upper()
    shown = "; ".join(f"{m.type} ({m.severity}) {m.entity}" for m in result.mistakes[:3])
    more = f"; and {len(result.mistakes) - 3} more" if len(result.mistakes) > 3 else ""
    return f"{result.outcome.upper()}: {len(result.mistakes)} mistake(s): {shown}{more}"


def explain(result: RunResult) -> str:
    """The report of a run that did not pass, in the user's terms (no traceback)."""
    from harness.models import BLAST_DIMENSIONS

    lines = [f"{result.scenario} [t{result.trial}]: {result.outcome.upper()}",
             f"  workflow {result.workflow}, tier {result.tier}, file {result.scenario_path}",
             (f"  agent {result.agent} {result.agent_version} at stage {result.stage}, run seed {result.seed}, "
              f"{result.tool_calls} tool call(s), {result.blocked_calls} blocked")]
    if result.error is not None:
        lines.append(f"error ({result.error.cause}): {result.error.message}")
        if result.error.cause == "harness":
            lines.append("  this is a bug in the harness, not the agent's mistake: please report it")
    if result.mistakes:
        lines.append(f"mistakes ({len(result.mistakes)}):")
        for m in result.mistakes:
            lines.append(f"  - {m.type} ({m.severity}) {m.entity}: {m.detail}")
    elif result.outcome == "fail":
        lines.append("mistakes: none recorded")
    radii = result.blast_radius
    dims = [d for d in BLAST_DIMENSIONS if getattr(radii.realised, d) or getattr(radii.potential, d)]
    if dims:
        lines.append("blast radius (realised / potential):")
        width = max(len(d) for d in dims)
        for d in dims:
            lines.append(f"  {d.replace('_', ' '):<{width}}  {_fmt(getattr(radii.realised, d))} / "
                         f"{_fmt(getattr(radii.potential, d))}")
    else:
        lines.append("blast radius: none (nothing beyond the expected changes, realised or potential)")
    if result.plan_id:
        lines.append(f"plan: {result.plan_id}")
    if result.audit_path:
        lines.append(f"explain the run: harness audit explain {result.run_id}")
        lines.append(f"  audit log: {result.audit_path}")
    else:
        lines.append(f"run {result.run_id}: no audit log was written (--harness-no-audit); run again "
                     "without it to get the timeline")
    return "\n".join(lines)


def result_properties(result: RunResult) -> list[tuple[str, str]]:
    """What JUnit XML carries as ``<property>`` elements (``item.user_properties``)."""
    import json

    props = [("harness_run_id", result.run_id), ("harness_outcome", result.outcome),
             ("harness_scenario", result.scenario), ("harness_workflow", result.workflow),
             ("harness_tier", result.tier), ("harness_trial", str(result.trial)),
             ("harness_agent", f"{result.agent} {result.agent_version}"), ("harness_stage", result.stage),
             ("harness_seed", str(result.seed)),
             ("harness_mistakes", json.dumps([m.model_dump() for m in result.mistakes], ensure_ascii=False)),
             ("harness_blast_radius", json.dumps(result.blast_radius.model_dump()))]
    if result.error is not None:
        props.append(("harness_error", json.dumps(result.error.model_dump(), ensure_ascii=False)))
    if result.audit_path:
        props.append(("harness_audit", result.audit_path))
        props.append(("harness_explain", f"harness audit explain {result.run_id}"))
    return props


# -- for users' own tests: fixtures ---------------------------------------------------------------------
def load_scenario(path: str | Path, base: str | Path | None = None) -> Scenario:
    """Load and validate one scenario file (``InvalidScenario`` when it is malformed). A relative path
    is looked up under ``base`` first (when given), then the current folder."""
    from harness.scenario import load_scenario_file

    p = Path(path)
    if not p.is_absolute() and base is not None and (Path(base) / p).exists():
        p = Path(base) / p
    return load_scenario_file(p)


def _provider(agent: Any, options: dict[str, Any], version: str | None) -> Any:
    from harness.agents import CallableProvider, load_agent
    from harness.errors import UsageError

    if isinstance(agent, str):
        return load_agent(agent, options, version)
    if options:
        raise UsageError(f"agent options {', '.join(sorted(options))} only apply to an agent named by a "
                         "string (e.g. 'simulated'); configure your own agent object directly.")
    if hasattr(agent, "bind") and hasattr(agent, "name"):
        provider = agent
    elif callable(agent):
        provider = CallableProvider(agent, name=getattr(agent, "__name__", type(agent).__name__),
                                    version=str(getattr(agent, "__version__", "0")))
    else:
        raise UsageError(f"agent {agent!r} is a {type(agent).__name__}, not an agent.",
                         expected="a name ('oracle', 'simulated', module:attribute), a callable "
                                  "agent(task, tools) or a provider with name, version and bind()")
    if version:
        provider.version = version
    return provider


@pytest.fixture(name="load_scenario")
def _load_scenario_fixture(request: pytest.FixtureRequest) -> Callable[..., Scenario]:
    """``load_scenario(path)``: a validated Scenario; relative paths are tried next to the test first."""
    base = request.path.parent

    def load(path: str | Path) -> Scenario:
        return load_scenario(path, base)

    return load


@pytest.fixture
def harness_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """``harness_run(path_or_scenario, agent="oracle", stage="sandbox", trials=1, **agent_options)``.

    Runs the scenario (a Scenario or a path; relative paths are tried next to the test first) with the
    agent (a name such as ``"oracle"`` or ``"simulated"``, ``"module:attribute"``, a callable
    ``agent(task, tools)``, or a provider) and returns the ``RunResult``, or a list of them when
    ``trials > 1``. Keyword-only extras: ``seed`` (base seed, default 0), ``policy`` (a Policy or a
    path; default the bundled one), ``reviewer`` (approve stage), ``agent_version``, ``audit`` (True:
    write audit logs in a temporary folder, see ``result.audit_path``). Runs are not recorded in the
    ledger.
    """
    base = request.path.parent

    def run(scenario: Any, agent: Any = "oracle", stage: str = "sandbox", trials: int = 1, *,
            seed: int = 0, policy: Any = None, reviewer: str | None = None, agent_version: str | None = None,
            audit: bool = True, **agent_options: Any) -> Any:
        from harness.config import audit_key
        from harness.errors import UsageError
        from harness.models import STAGES
        from harness.plans import parse_reviewer
        from harness.policy import load_policy
        from harness.runner import SHARED_WORLDS, RunConfig, run_one
        from harness.scenario import Scenario

        if stage not in STAGES:
            raise UsageError(f"unknown stage {stage!r}.", field="stage", expected="one of " + ", ".join(STAGES))
        if trials < 1:
            raise UsageError(f"trials={trials}: a scenario needs at least one run.", field="trials")
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, base)
        provider = _provider(agent, agent_options, agent_version)
        if policy is None or isinstance(policy, (str, Path)):
            policy = load_policy(policy)
        config = RunConfig(stage=stage, trials=1, seed=seed, policy=policy, reviewer=parse_reviewer(reviewer),
                           audit_dir=tmp_path_factory.mktemp("harness-audit") if audit else None,
                           audit_key=audit_key())
        results = [_run_sync(run_one(scenario, provider, t, config, SHARED_WORLDS))[0] for t in range(trials)]
        return results[0] if trials == 1 else results

    return run
