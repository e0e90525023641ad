"""The CLI mounts its commands lazily: `--help` imports none of them, each command imports its own
module only, and every command module is listed (a broken one is an internal error, never missing)."""

import pkgutil
import subprocess
import sys
from importlib import import_module

import typer
from typer.testing import CliRunner

import harness.cli
import harness.commands
from harness.cli import COMMANDS, app

MODULES = sorted(m.name for m in pkgutil.iter_modules(harness.commands.__path__) if not m.name.startswith("_"))


def _registered(module_name: str) -> dict:
    holder = typer.Typer()
    import_module(f"harness.commands.{module_name}").register(holder)
    return typer.main.get_group(holder).commands


def test_every_command_module_is_in_the_table_with_exactly_its_commands():
    assert sorted({module for module, _ in COMMANDS.values()}) == MODULES
    for module_name in MODULES:
        listed = {name for name, (module, _) in COMMANDS.items() if module == module_name}
        assert set(_registered(module_name)) == listed, module_name


def test_the_listed_help_is_each_commands_own_first_line():
    for name, (module_name, short) in COMMANDS.items():
        command = _registered(module_name)[name]
        assert (command.help or "").strip().splitlines()[0] == short, name


def test_help_lists_every_command_without_importing_any():
    code = ("import sys\nfrom harness.cli import main\nsys.argv = ['harness', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in sys.modules if m.startswith('harness.commands.') "
            "or m.split('.')[0] in ('pydantic', 'sqlalchemy', 'alembic')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in proc.stdout
    for name in COMMANDS:
        assert f" {name} " in proc.stdout


def test_a_command_runs_after_lazy_mounting():
    result = CliRunner().invoke(app, ["tools", "--format", "mcp"])
    assert result.exit_code == 0 and '"inputSchema"' in result.output


def test_a_typo_gets_a_suggestion_among_unmounted_commands():
    result = CliRunner().invoke(app, ["statu"])
    assert result.exit_code == 2
    assert "Did you mean 'status'?" in result.output


def test_a_command_module_that_fails_to_import_is_an_internal_error(monkeypatch, capsys):
    monkeypatch.setitem(COMMANDS, "broken", ("no_such_module", "A command whose module is missing."))
    monkeypatch.setattr(sys, "argv", ["harness", "broken"])
    try:
        harness.cli.main()
    except SystemExit as exc:
        code = exc.code
    assert code == 3
    err = capsys.readouterr().err
    assert err.startswith("internal error: ModuleNotFoundError") and "No such command" not in err
