"""pytest plugin: scenario suites as test items (being built; see docs/pytest.md)."""


def pytest_addoption(parser):
    group = parser.getgroup("harness", "agent trust harness")
    group.addoption("--harness-agent", default=None, help="Run scenario YAML files with this agent.")
