"""Small pools of Faker output per seed, from which worlds are drawn with ``fake.random`` choices.

Faker provider calls cost ~50-200 µs each; a 50,000-message world built from direct calls would take
tens of seconds. Drawing from pools keeps the build in seconds and still varies with the seed. Faker
fills master pools once per process from a fixed seed; each world seed draws its own half of every
pool, so a new seed costs microseconds and the same seed always gives the same world.

The master pools are also shipped in ``master_pools.json``, made with the Faker version it names:
with that version installed they are read from the file (a millisecond) instead of importing Faker
and calling it (a few tenths of a second per process); with any other version Faker makes them.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

INDUSTRIES = ("Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Logistics", "Energy",
              "Education", "Media", "Hospitality", "Telecom", "Construction", "Agriculture", "Legal",
              "Insurance")
COMPANY_SUFFIXES = ("Group", "Labs", "Systems", "Holdings", "Partners", "Industries", "Logistics",
                    "Foods", "Analytics", "Health", "Energy", "Media", "Works", "Solutions", "Capital",
                    "Robotics", "Retail", "Studios", "Supply", "Networks")
TLDS = ("com", "com", "com", "io", "co", "net", "org", "de", "co.uk", "fr")
REGIONS = ("NA", "EMEA", "APAC", "LATAM")


@dataclass(frozen=True)
class Pools:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    jobs: tuple[str, ...]
    words: tuple[str, ...]
    sentences: tuple[str, ...]
    paragraphs: tuple[str, ...]


MASTER_SEED = 20260105
SHIPPED = Path(__file__).with_name("master_pools.json")


@lru_cache(maxsize=1)
def _master() -> Pools:
    """The master pools: the shipped ones when they were made by the installed Faker version."""
    try:
        shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
        if shipped["faker"] == metadata.version("faker") and shipped["seed"] == MASTER_SEED:
            return Pools(**{name: tuple(values) for name, values in shipped["pools"].items()})
    except (OSError, ValueError, KeyError, TypeError, metadata.PackageNotFoundError):
        pass
    return make_master()


def make_master() -> Pools:
    """Faker output from a fixed seed (Faker calls are the slow part)."""
    from faker import Faker  # imported only when the shipped pools do not apply

    fake = Faker("en_US")
    fake.seed_instance(MASTER_SEED)
    return Pools(
        first_names=_distinct(fake.first_name, 240),
        last_names=_distinct(fake.last_name, 320),
        jobs=_distinct(fake.job, 80),
        words=_distinct(fake.word, 240),
        sentences=tuple(fake.sentence(nb_words=10) for _ in range(240)),
        paragraphs=tuple(fake.paragraph(nb_sentences=4) for _ in range(120)),
    )


@lru_cache(maxsize=64)
def pools_for(seed: int) -> tuple[Pools, tuple]:
    """The pools for ``seed`` (a seeded half of each master pool) and the generator state after."""
    master = _master()
    rng = random.Random(seed)
    pools = Pools(**{name: tuple(rng.sample(values, len(values) // 2))
                     for name, values in master.__dict__.items()})
    return pools, rng.getstate()


def _distinct(make, n: int) -> tuple[str, ...]:
    """Up to ``n`` distinct values (Faker repeats itself; a bounded number of tries keeps it fast)."""
    seen: dict[str, None] = {}
    for _ in range(n * 3):
        value = make()
        if value not in seen and "'" not in value:
            seen[value] = None
            if len(seen) == n:
                break
    return tuple(seen)


def write_shipped() -> None:
    """Regenerate ``master_pools.json`` with the installed Faker (after upgrading Faker)."""
    pools = {name: list(values) for name, values in asdict(make_master()).items()}
    SHIPPED.write_text(json.dumps({"faker": metadata.version("faker"), "seed": MASTER_SEED, "pools": pools},
                                  ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":  # python -m fakes._pools
    write_shipped()
