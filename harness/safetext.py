"""Untrusted text made safe to show: the one function every terminal and report surface uses.

Agent output (rationale, messages, entity names), scenario data, sign-off reasons and version labels
are untrusted: an agent can hide what follows from a reviewer with terminal escapes (``\\x1b[2K``),
carriage returns, backspaces or bidirectional overrides (``\\u202e``). ``clean`` shows every such
character as a visible escape instead of letting it act: C0 and C1 controls, DEL, zero-width and bidi
formatting characters, line and paragraph separators, the BOM and lone surrogates.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls (but not \n, handled per context), DEL, zero-width and bidi formatting
# characters, line/paragraph separators, BOM, lone surrogates.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
                     "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]")
_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: Any, limit: int | None = 300, multiline: bool = False) -> str:
    """Untrusted text made safe for a terminal or a report, shortened to ``limit`` characters.

    Newlines become a visible ``\\n`` unless ``multiline`` keeps them as line breaks.
    """
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    if multiline:
        return "\n".join(_UNSAFE.sub(_escape, part) for part in text.split("\n"))
    return _UNSAFE.sub(_escape, text.replace("\n", "\\n"))


def markup(value: Any, limit: int | None = None) -> str:
    """``clean`` text for a rich console that parses markup: also escapes ``[`` so it is not a tag."""
    from rich.markup import escape

    return escape(clean(value, limit))


def clean_tree(obj: Any, multiline: bool = True) -> Any:
    """A copy of a JSON-like structure with every string (keys too) passed through ``clean``."""
    if isinstance(obj, str):
        return clean(obj, None, multiline)
    if isinstance(obj, dict):
        return {clean_tree(k, multiline) if isinstance(k, str) else k: clean_tree(v, multiline)
                for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean_tree(v, multiline) for v in obj]
    return obj
