"""The scenario suites bundled with agent-trust-harness, as package data (YAML files only).

Refer to them by name: ``harness run bundled:crm --agent oracle``; see ``harness.bundled``.
"""
