import pytest

from harness.ledger import Ledger


@pytest.fixture
def ledger_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(ledger_url):
    with Ledger(ledger_url) as led:
        yield led
