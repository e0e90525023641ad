"""The gateway at work: an MCP server between an agent and the real tools (upstream MCP servers).

It enforces the stage the ledger grants the agent version, read at every call: ``sandbox`` talks to
no upstream, ``suggest`` records writes as suggestions, ``approve`` collects them into a plan that
is applied exactly once after a person approves it, ``autonomous`` forwards writes within the
stage's bounds. Modules: ``toolmap`` (the policy's classification of upstream tools), ``upstreams``
(MCP clients to the real servers), ``pins`` (tool-definition pinning), ``session`` (enforcement
and audit of one agent session), ``apply`` (plans applied with an intent journal), ``server``
(the MCP server side).
"""
