"""Developer jobs: `nox -s tests`, `nox -s lint`, `nox -s bench`, `nox -s demo`."""

import nox

nox.options.sessions = ["tests", "lint"]


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "harness", "fakes", "reports", "tests", "bench", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    for script in ("bench_startup.py", "bench_fakes.py", "bench_runner.py", "bench_dask.py", "bench_audit.py",
                   "bench_ledger.py", "bench_report.py"):
        session.run("python", f"bench/{script}", *session.posargs)


@nox.session
def scenarios(session: nox.Session) -> None:
    """The bundled suites as pytest items, against the oracle."""
    session.install("-e", ".[dev]")
    session.run("pytest", "scenarios/", "--harness-agent", "oracle", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("harness", "demo", *session.posargs)
