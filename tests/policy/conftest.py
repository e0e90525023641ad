import uuid
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from harness.ledger import Ledger

PG="postgresql+psycopg://postgres@/harness_test?host=/tmp&port=55432"

@pytest.fixture
def ledger_url(tmp_path):
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield make_url(PG).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture
def ledger(ledger_url):
    with Ledger(ledger_url) as led:
        yield led
