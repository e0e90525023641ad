from tests.e2e.conftest import cli, harness, run_json  # noqa: F401 - the same CLI fixtures as the e2e tests
