"""Path rules of the files fake: one normal form, no escape from the root, glob protection."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from fakes.errors import InvalidInput

_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
_MAX_PATH = 1024


def normalise(path: str) -> str:
    """The absolute posix form of ``path`` inside the fake tree.

    "a/b", "/a/b", "//a/./b/" all become "/a/b"; "" and "/" are the root. Refused with ``InvalidInput``
    rather than silently repaired: non-strings, NUL and other control characters, backslashes,
    percent-encoded sequences (``%2e%2e``, ``%2f``) and any ``..`` that would climb above the root.
    """
    if not isinstance(path, str):
        raise InvalidInput(f"path must be a string, got {type(path).__name__}; pass e.g. '/shared/notes.txt'")
    if len(path) > _MAX_PATH:
        raise InvalidInput(f"path is {len(path)} characters long; the limit is {_MAX_PATH}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise InvalidInput(f"path {path!r} contains a control character (e.g. NUL or newline); "
                           "use a plain path such as '/shared/notes.txt'")
    if "\\" in path:
        raise InvalidInput(f"path {path!r} contains a backslash; use forward slashes, e.g. '/shared/a.txt'")
    if _PERCENT_ENCODED.search(path):
        raise InvalidInput(f"path {path!r} contains a percent-encoded sequence; write the path "
                           "literally, without URL encoding")
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                raise InvalidInput(f"path {path!r} climbs above the root folder with '..'; "
                                   "paths must stay inside '/'")
            parts.pop()
            continue
        parts.append(segment)
    return "/" + "/".join(parts)


def parent_of(path: str) -> str:
    """The parent folder of a normalised path ("/" for top-level entries and for the root)."""
    head = path.rsplit("/", 1)[0]
    return head or "/"


def ancestors(path: str) -> list[str]:
    """Proper ancestors of a normalised path, nearest first, excluding the root."""
    out = []
    while True:
        path = parent_of(path)
        if path == "/":
            return out
        out.append(path)


def is_under(path: str, folder: str) -> bool:
    """True when ``path`` is ``folder`` itself or lies beneath it."""
    return folder == "/" or path == folder or path.startswith(folder + "/")


def normalise_pattern(pattern: str) -> str:
    """Protection patterns are paths with globs; make them absolute and collapse '//'."""
    pattern = "/" + pattern.lstrip("/")
    return re.sub(r"/{2,}", "/", pattern)


def is_protected(path: str, patterns: tuple[str, ...]) -> bool:
    """True when ``path`` or a folder above it matches a pattern (case-sensitive ``fnmatch``).

    "/legal/**" and "/legal" both protect the folder "/legal" and everything under it; "*.key"
    protects every file ending in ".key"; "/**/secret*" also matches "/secret.txt". Note that ``*``
    crosses "/" as in ``fnmatch``.
    """
    candidates = [path, *ancestors(path)]
    for pattern in patterns:
        variants = {pattern, pattern.removesuffix("/**"), pattern.replace("/**/", "/")}
        for candidate in candidates:
            if any(fnmatchcase(candidate, variant) for variant in variants):
                return True
    return False


_GLOB = re.compile(r"[*?\[]")


def shields(path: str, patterns: tuple[str, ...]) -> bool:
    """True when ``path`` is protected, or is a folder above something a pattern protects.

    Moving or deleting ``/docs`` would carry ``/docs/legal/contract.pdf`` with it, so with
    ``/docs/legal/**`` protected, ``/docs`` is shielded too (even before anything exists under it).
    """
    if is_protected(path, patterns):
        return True
    folder = path.rstrip("/") + "/"
    return any(_GLOB.split(pattern, 1)[0].startswith(folder) for pattern in patterns)
