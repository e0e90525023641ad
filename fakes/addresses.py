"""Email address rules: a strict syntax check and the internal/external test."""

from __future__ import annotations

import re

_LOCAL = r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
ADDRESS_RE = re.compile(rf"^{_LOCAL}@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$")


def is_valid_address(address: object) -> bool:
    """A bare address like ``ana.lopez@example.com`` (no display names, no quoted parts)."""
    return isinstance(address, str) and len(address) <= 254 and ADDRESS_RE.match(address) is not None


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().rstrip(".").lower()


def is_internal(address: str, domains: tuple[str, ...]) -> bool:
    """True when the address's domain is an org domain or a subdomain of one (case-insensitive).

    Lookalikes are external: with ``example.com`` internal, ``example.co``, ``example.com.evil.io``
    and ``badexample.com`` are not. Anything that is not an address is external (the safe answer).
    """
    if not isinstance(address, str) or "@" not in address:
        return False
    domain = domain_of(address)
    return any(domain == d or domain.endswith("." + d) for d in domains)
