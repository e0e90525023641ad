"""Agents: the built-ins and the API a user's agent implements (see docs/agents.md)."""

from harness.agents._api import AgentProvider, CallableProvider, EnvironmentFailure, Task, Toolbox
from harness.agents._loader import BUILTINS, load_agent, parse_options
from harness.agents._openai import OpenAIEndpointError, OpenAIProvider
from harness.agents._oracle import DoNothingProvider, OracleProvider
from harness.agents._replay import ReplayProvider
from harness.agents._simulated import KINDS as SIMULATED_MISTAKE_KINDS
from harness.agents._simulated import SimulatedProvider

__all__ = [
    "BUILTINS",
    "SIMULATED_MISTAKE_KINDS",
    "AgentProvider",
    "CallableProvider",
    "DoNothingProvider",
    "EnvironmentFailure",
    "OpenAIEndpointError",
    "OpenAIProvider",
    "OracleProvider",
    "ReplayProvider",
    "SimulatedProvider",
    "Task",
    "Toolbox",
    "load_agent",
    "parse_options",
]
