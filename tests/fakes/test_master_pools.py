"""The shipped master pools are exactly what Faker makes, and are used only with the Faker version
that made them (so worlds are the same either way, and building one need not import Faker)."""

import subprocess
import sys
from importlib import metadata

from fakes import _pools


def test_the_pools_in_use_are_what_faker_makes():
    _pools._master.cache_clear()
    try:
        assert _pools._master() == _pools.make_master()
    finally:
        _pools._master.cache_clear()


def test_another_faker_version_makes_its_own_pools(monkeypatch):
    made = []
    monkeypatch.setattr(metadata, "version", lambda name: "0.0.0-other")
    monkeypatch.setattr(_pools, "make_master", lambda: made.append(1) or "fresh")
    _pools._master.cache_clear()
    try:
        assert _pools._master() == "fresh" and made == [1]
    finally:
        _pools._master.cache_clear()


def test_building_a_world_with_the_shipped_pools_does_not_import_faker():
    code = ("import sys\nfrom importlib import metadata\nimport json\nfrom fakes import _pools, build_world\n"
            "build_world(7, {'accounts': 30, 'contacts': 30, 'messages': 30, 'files': 10})\n"
            "shipped = json.loads(_pools.SHIPPED.read_text())['faker'] == metadata.version('faker')\n"
            "print('faker' in sys.modules, shipped)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    imported, shipped = (word == "True" for word in out)
    assert imported == (not shipped)  # Faker is imported exactly when the shipped pools do not apply
