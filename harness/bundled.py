"""The scenario suites that ship with the harness, found by name instead of by path.

``bundled`` (or ``bundled:all``) is every bundled scenario; ``bundled:crm`` one backend's suites;
``bundled:crm.renewal-discounts`` (or ``bundled:crm/renewal-discounts``) one workflow. The files
live in the ``scenarios`` package next to ``harness`` — in a checkout and in an installed wheel
alike — so ``harness run bundled:crm`` works from any folder, with or without a clone.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import InvalidScenario

PREFIX = "bundled"


def root() -> Path:
    """The folder holding the bundled suites (``<backend>/<workflow>/*.yaml``)."""
    folder = Path(__file__).resolve().parent.parent / "scenarios"
    if not (folder / "__init__.py").is_file():
        raise InvalidScenario("the bundled scenarios are missing from this installation.", file=str(folder),
                              expected="the `scenarios` package installed with agent-trust-harness "
                                       "(reinstall it: pip install --force-reinstall agent-trust-harness)")
    return folder


def names() -> list[str]:
    """Every name ``bundled:NAME`` accepts: backends, then workflows (``crm``, ``crm.renewal-discounts``)."""
    base = root()
    backends = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    workflows = sorted(f"{b}.{w.name}" for b in backends for w in (base / b).iterdir() if w.is_dir())
    return backends + workflows


def is_reference(ref: str | Path) -> bool:
    """True for ``bundled:...``, and for a bare ``bundled`` when no such file or folder exists here."""
    text = str(ref)
    return text.startswith(PREFIX + ":") or (text == PREFIX and not Path(text).exists())


def resolve(ref: str | Path) -> Path:
    """The folder a ``bundled:NAME`` reference names; any other path is returned unchanged."""
    if not is_reference(ref):
        return Path(ref)
    name = str(ref)[len(PREFIX) + 1:].strip().strip("/")
    if name in ("", "all"):
        return root()
    folder = root().joinpath(*name.replace(".", "/", 1).split("/"))
    if ".." in name.split("/") or not folder.is_dir():
        raise InvalidScenario(f"there is no bundled suite named {name!r}.", file=str(ref),
                              expected="bundled (all of them) or bundled:NAME with NAME one of "
                                       + ", ".join(names()))
    return folder
