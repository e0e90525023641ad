"""Checks across fields that pydantic cannot express: ladders, gates that can never be met, roles."""

from __future__ import annotations

import re

from harness.errors import InvalidPolicy
from harness.models import STAGES
from harness.yamlsafe import format_path


def check_policy(policy, file: str, lines: dict[tuple, int]) -> None:
    def fail(path: tuple, message: str, expected: str | None = None) -> None:
        line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), None)
        raise InvalidPolicy(message, file=file, field=format_path(path), line=line, expected=expected)

    for name, wf in policy.workflows.items():
        base = ("workflows", name)
        ladder = wf.ladder
        if not ladder or ladder[0] != "sandbox":
            fail(base + ("ladder",), "the ladder must start at sandbox: every workflow starts there.",
                 "a list such as [sandbox, suggest, approve, autonomous]")
        order = [STAGES.index(s) for s in ladder]
        if order != sorted(set(order)):
            fail(base + ("ladder",), f"the stages {ladder} are repeated or out of order.",
                 f"stages in the order {' → '.join(STAGES)} (some may be left out)")
        for stage, entry in wf.stages.items():
            path = base + ("stages", stage)
            if stage not in ladder:
                fail(path, f"{stage} is not on this workflow's ladder ({', '.join(ladder)}).",
                     "a stage named in `ladder`")
            if stage == "sandbox" and entry.gate is not None:
                fail(path + ("gate",), "sandbox has no gate: every workflow starts there.",
                     "no `gate` under sandbox (bounds only)")
            if entry.gate is not None:
                _check_gate(entry.gate, path + ("gate",), policy, fail)
            _check_bounds(entry.bounds, path + ("bounds",), fail)
            for i, tool in enumerate(entry.bounds.allowed_tools or []):
                if any(ch in tool for ch in "*?[]"):
                    fail(path + ("bounds", "allowed_tools", i), f"{tool!r} looks like a glob; tool names are "
                         "matched exactly (a glob such as `bash*` also matches `bash_session`).",
                         "exact tool names, e.g. crm_update_deal")
        for stage in ladder[1:]:
            if wf.gate(stage) is None:
                fail(base + ("stages", stage, "gate"),
                     f"{stage} is on the ladder but has no gate, so anyone could promote to it.",
                     "a gate for every stage after sandbox (`gate: {}` for sign-off only)")
        if wf.tools:
            from harness.work.toolmap import check_tools

            check_tools(wf.tools, base, fail)
        for i, trigger in enumerate(wf.demotion):
            path = base + ("demotion", i)
            if trigger.to not in ladder:
                fail(path + ("to",), f"{trigger.to} is not on this workflow's ladder.", "a stage of the ladder")
            for stage in trigger.at_stages or []:
                if stage not in ladder:
                    fail(path + ("at_stages",), f"{stage} is not on this workflow's ladder.", "stages of the ladder")
                if STAGES.index(stage) <= STAGES.index(trigger.to):
                    fail(path + ("at_stages",), f"demoting from {stage} to {trigger.to} is not a demotion.",
                         f"stages above {trigger.to}")
            if trigger.to == ladder[-1]:
                fail(path + ("to",), f"{trigger.to} is the top of the ladder: nothing can be demoted to it.",
                     "a lower stage")
            if trigger.on == "mistake_rate" and trigger.short_window_runs > trigger.window_runs:
                fail(path + ("short_window_runs",),
                     f"the short window ({trigger.short_window_runs} runs) is longer than the long one "
                     f"({trigger.window_runs}).", f"an integer <= window_runs ({trigger.window_runs})")


def _check_gate(gate, path: tuple, policy, fail) -> None:
    if gate.window_runs is not None:
        if gate.min_runs > gate.window_runs:
            fail(path + ("min_runs",), f"{gate.min_runs} runs can never be met in a window of "
                 f"{gate.window_runs} runs.", f"an integer <= window_runs ({gate.window_runs})")
        if gate.min_consecutive_clean > gate.window_runs:
            fail(path + ("min_consecutive_clean",), f"a streak of {gate.min_consecutive_clean} can never be "
                 f"seen in a window of {gate.window_runs} runs.", f"an integer <= window_runs ({gate.window_runs})")
    for i, role in enumerate(gate.signoffs.roles):
        if not any(role in roles for roles in policy.people.values()):
            fail(path + ("signoffs", "roles", i), f"nobody in `people` has the role {role!r}, so this gate "
                 "could never be signed off.", "a role given to someone under `people`")
    if gate.signoffs.roles:
        able = [p for p, roles in policy.people.items() if set(roles) & set(gate.signoffs.roles)]
        if len(able) < gate.signoffs.count:
            fail(path + ("signoffs", "count"), f"{gate.signoffs.count} sign-offs are needed but only "
                 f"{len(able)} people hold the roles {', '.join(gate.signoffs.roles)}.",
                 f"an integer <= {len(able)}, or more people with those roles")
    for dim, limit in gate.blast_radius.limits() if gate.blast_radius else []:
        if dim != "money_exposed" and limit.max != int(limit.max):
            fail(path + ("blast_radius", dim, "max"), f"{dim} counts whole things; {limit.max:g} is not whole.",
                 "an integer >= 0")


_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _check_bounds(bounds, path: tuple, fail) -> None:
    """Recipient domains and protected paths mean what they say, or the policy is refused."""
    for i, domain in enumerate(bounds.allowed_recipient_domains or []):
        if not _DOMAIN.fullmatch(domain.strip().rstrip(".").lower()):
            fail(path + ("allowed_recipient_domains", i),
                 f"{domain!r} is not a domain name (an empty or malformed domain would match nothing, or "
                 "everything).", "a domain such as example.com (its subdomains are included)")
    for i, pattern in enumerate(bounds.protected_paths):
        where = path + ("protected_paths", i)
        if not pattern.startswith("/"):
            fail(where, f"{pattern!r} is not an absolute path: protected paths are matched against paths "
                 "that start with `/`, so it would protect nothing.", f"an absolute glob such as /{pattern}")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in pattern) or "\\" in pattern or \
                ".." in pattern.split("/") or "." in pattern.split("/"):
            fail(where, f"{pattern!r} holds `.`/`..` segments, a backslash or a control character; the "
                 "paths it is matched against never do.", "a plain absolute glob such as /legal/**")
