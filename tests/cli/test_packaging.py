"""What `pip install agent-trust-harness` gets: the bundled suites, the project template, the docs in
the sdist, project URLs, absolute links in the README, and no test-only runtime dependencies."""

import ast
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser

import pytest

from tests.cli._cli import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
TEST_ONLY = {"hypothesis", "statsmodels", "xdist", "pytest_benchmark", "nox", "ruff", "build", "psycopg"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist, and the wheel built from it (as `python -m build` and pip do)."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return next(out.glob("*.tar.gz")), next(out.glob("*.whl"))


def test_the_wheel_carries_the_bundled_suites_and_the_project_template(dist):
    _, wheel = dist
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (ROOT / "scenarios").rglob("*.yaml"):
        assert path.relative_to(ROOT).as_posix() in names
    assert "scenarios/__init__.py" in names
    template = ROOT / "harness" / "defaults" / "project"
    for path in template.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert path.relative_to(ROOT).as_posix() in names


def test_the_sdist_carries_the_docs(dist):
    sdist, _ = dist
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for doc in (ROOT / "docs").iterdir():
        assert f"docs/{doc.name}" in names
    assert {"README.md", ".ci/run", "pyproject.toml"} <= names


def test_metadata_has_urls_and_no_test_only_requirements(dist):
    _, wheel = dist
    with zipfile.ZipFile(wheel) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(meta_name).decode())
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(urls)
    required = {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in meta.get_all("Requires-Dist")
                if "extra ==" not in r}
    assert not required & {"hypothesis", "statsmodels"}
    # pytest stays: the plugin is registered through the pytest11 entry point, so every pytest session
    # in an environment with the harness loads it; the pin keeps that pytest one the plugin supports.
    assert "pytest" in required


def test_runtime_code_imports_no_test_only_package():
    for package in ("harness", "fakes", "reports", "scenarios"):
        for file in (ROOT / package).rglob("*.py"):
            tree = ast.parse(file.read_text(), str(file))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
                for name in names:
                    top = name.split(".")[0]
                    assert top not in TEST_ONLY, f"{file.relative_to(ROOT)} imports {name}"
                    if top == "pytest":
                        assert file.name == "pytest_plugin.py", f"{file.relative_to(ROOT)} imports pytest"


def test_readme_links_are_absolute_and_point_at_files_that_exist():
    readme = (ROOT / "README.md").read_text()
    source = PYPROJECT["project"]["urls"]["Source"].rstrip("/")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert links
    for link in links:
        assert link.startswith(("https://", "http://", "#")), f"relative link {link!r} breaks on the package index"
        for prefix in (f"{source}/blob/main/", source.replace("github.com", "raw.githubusercontent.com") + "/main/"):
            if link.startswith(prefix):
                path = link[len(prefix):].split("#")[0]
                assert (ROOT / path).exists(), f"{link} names {path}, which is not in the repository"
                break
