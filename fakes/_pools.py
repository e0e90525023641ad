"""Small pools of Faker output per seed, from which worlds are drawn with ``fake.random`` choices.

Faker provider calls cost ~50-200 µs each; a 50,000-message world built from direct calls would take
tens of seconds. Drawing from pools keeps the build in seconds and still varies with the seed. The
pools and the random state after filling them are cached per seed, so rebuilding a seed's world does
not call Faker again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

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


@lru_cache(maxsize=16)
def pools_for(seed: int) -> tuple[Pools, tuple]:
    """The pools for ``seed`` and the state of ``fake.random`` right after filling them."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    pools = Pools(
        first_names=_distinct(fake.first_name, 120),
        last_names=_distinct(fake.last_name, 160),
        jobs=_distinct(fake.job, 40),
        words=_distinct(fake.word, 120),
        sentences=tuple(fake.sentence(nb_words=10) for _ in range(120)),
        paragraphs=tuple(fake.paragraph(nb_sentences=4) for _ in range(60)),
    )
    return pools, fake.random.getstate()


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
