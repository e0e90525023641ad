"""What an agent *is*, as a digest: two runs under one version label must come from the same spec.

The digest covers what changes behaviour: for the OpenAI adapter the model, base URL, system prompt,
temperature, turn limit and tool set; for the simulated agent its options; for an agent given as
``module:attribute`` the module, the attribute and the options. A version label is bound to the
first spec digest it ran with (``agent_specs`` in the ledger), so ``--agent-version`` cannot file one
agent's runs under another agent's record.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def describe(provider: Any, spec: str, options: dict[str, str]) -> dict[str, Any]:
    own = getattr(provider, "spec", None)
    if callable(own):
        return {"agent": spec, **own()}
    if spec == "openai":
        from harness.tools import export

        tools = json.dumps(export("openai"), sort_keys=True)
        return {"agent": "openai", "model": provider.model, "base_url": provider.base_url,
                "system_prompt": hashlib.sha256(provider.system_prompt.encode()).hexdigest(),
                "temperature": provider.temperature, "max_turns": provider.max_turns,
                "tools": hashlib.sha256(tools.encode()).hexdigest()}
    if spec == "simulated":
        return {"agent": "simulated", "options": dict(sorted(getattr(provider, "options", options).items()))}
    module, _, attr = spec.partition(":")
    return {"agent": spec, "module": module, "attribute": attr, "options": dict(sorted(options.items()))}


def digest(description: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(description, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def attach(provider: Any, spec: str, options: dict[str, str]) -> Any:
    """Set ``provider.spec_description`` and ``provider.spec_digest`` (best effort on frozen objects)."""
    description = describe(provider, spec, options)
    for name, value in (("spec_description", description), ("spec_digest", digest(description))):
        try:
            setattr(provider, name, value)
        except AttributeError:  # pragma: no cover - a user's provider with __slots__
            pass
    return provider
