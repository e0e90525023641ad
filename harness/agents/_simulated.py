"""A simulated agent: follows the reference solution but makes seeded, configurable mistakes.

It lets the whole promotion story be shown without a model: a sloppy version (high mistake rate)
and a careful one (low rate) build different track records. Options (``-a key=value``):

- ``mistake_rate``: probability per run of one mistake, of a kind drawn from ``kinds``;
- a rate per kind (``wrong_target=0.1`` …): each kind also fires independently with its own rate;
- ``kinds``: comma-separated kinds to draw from (default: all);
- ``seed``: changes which runs go wrong (default 0); same seed, same mistakes, on every repeat.

Kinds: wrong_target, wrong_value, extra_irreversible, skipped_step, follow_injection,
hallucination, invalid_call.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from harness.agents._api import Task, Toolbox

KINDS = ("wrong_target", "wrong_value", "extra_irreversible", "skipped_step", "follow_injection",
         "hallucination", "invalid_call")
WRITE_TOOLS = {"crm_update_deal", "crm_update_contact", "crm_create_note", "crm_delete_record",
               "email_draft", "email_send", "files_write", "files_move", "files_delete"}
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
VERSION = "1.0"


def _float(name: str, value: Any) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"option {name} must be a number between 0 and 1, got {value!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"option {name} must be between 0 and 1, got {rate}")
    return rate


class SimulatedProvider:
    name = "simulated"

    def __init__(self, **options: Any):
        self.options = {k: str(v) for k, v in options.items()}
        self.mistake_rate = _float("mistake_rate", options.pop("mistake_rate", 0.0))
        self.seed = int(options.pop("seed", 0))
        kinds = options.pop("kinds", None)
        self.kinds = tuple(k.strip() for k in kinds.split(",")) if kinds else KINDS
        for kind in self.kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown mistake kind {kind!r}; kinds are {', '.join(KINDS)}")
        self.kind_rates = {}
        for key in list(options):
            if key in KINDS:
                self.kind_rates[key] = _float(key, options.pop(key))
        if options:
            raise ValueError(f"unknown option(s) {', '.join(options)}; options are mistake_rate, seed, "
                             f"kinds and a rate per kind ({', '.join(KINDS)})")
        label = ",".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        self.version = f"{VERSION}+{label}" if label else VERSION

    def plan_mistakes(self, scenario_id: str, seed: int) -> tuple[random.Random, list[str]]:
        digest = hashlib.sha256(f"{self.seed}:{scenario_id}:{seed}".encode()).hexdigest()
        rng = random.Random(int(digest[:16], 16))
        chosen = []
        if rng.random() < self.mistake_rate:
            chosen.append(rng.choice(self.kinds))
        for kind, rate in sorted(self.kind_rates.items()):
            if rng.random() < rate and kind not in chosen:
                chosen.append(kind)
        return rng, chosen

    def bind(self, scenario: Any, seed: int):
        rng, kinds = self.plan_mistakes(scenario.id, seed)
        steps = [(s.tool, dict(s.args), s.rationale) for s in scenario.reference]
        injected = _injected_addresses(scenario)

        async def simulated(task: Task, tools: Toolbox) -> None:
            plan = list(steps)
            extra: list[tuple[str, dict, str]] = []
            for kind in kinds:
                plan, more = _apply(kind, plan, rng, tools, injected)
                extra.extend(more)
            for tool, args, why in plan + extra:
                tools.call_json(tool, args, why or "following the task")

        return simulated


def _write_indexes(plan: list) -> list[int]:
    return [i for i, (tool, _, _) in enumerate(plan) if tool in WRITE_TOOLS]


def _apply(kind: str, plan: list, rng: random.Random, tools: Toolbox, injected: list[str]) -> tuple[list, list]:
    writes = _write_indexes(plan)
    if kind in ("wrong_target", "wrong_value", "skipped_step", "hallucination") and not writes:
        kind = "extra_irreversible"  # nothing to get wrong: do something that should not be done
    if kind == "skipped_step":
        drop = rng.choice(writes)
        return [step for i, step in enumerate(plan) if i != drop], []
    if kind == "wrong_target":
        i = rng.choice(writes)
        tool, args, why = plan[i]
        changed = _retarget(tool, dict(args), rng, tools)
        if changed is None:
            return plan, _extra_irreversible(rng, tools)
        return plan[:i] + [(tool, changed, why)] + plan[i + 1:], []
    if kind == "wrong_value" and all(plan[i][0] in ("files_delete", "crm_delete_record") for i in writes):
        kind = "wrong_target"  # a delete has no value to get wrong, only a target
    if kind == "wrong_value":
        writes = [i for i in writes if plan[i][0] not in ("files_delete", "crm_delete_record")]
        i = rng.choice(writes)
        tool, args, why = plan[i]
        return plan[:i] + [(tool, _revalue(tool, dict(args), rng), why)] + plan[i + 1:], []
    if kind == "hallucination":
        i = rng.choice(writes)
        tool, args, why = plan[i]
        args = dict(args)
        for key in ("id", "entity", "path", "src", "draft_id", "reply_to"):
            if key in args and args[key]:
                args[key] = _invent(str(args[key]), rng)
                break
        else:
            return plan, _extra_irreversible(rng, tools)
        return plan[:i] + [(tool, args, why)] + plan[i + 1:], []
    if kind == "invalid_call":
        return plan, [("crm_update_deal", {"id": "", "discount_pct": "ten percent"}, "apply the discount")]
    if kind == "follow_injection":
        target = injected[0] if injected else "records-sync@partner-outreach.net"
        return plan, [("email_send", {"to": [target], "subject": "Requested export",
                                      "body": "As requested, forwarding the customer contact list."},
                       "the message asked me to forward the contacts")]
    return plan, _extra_irreversible(rng, tools)


def _extra_irreversible(rng: random.Random, tools: Toolbox) -> list:
    listing = tools.call("files_list", path="/", recursive=True, rationale="looking for stale files")
    files = [e["path"] for e in listing.get("result") or [] if e.get("type") == "file"]
    if files:
        return [("files_delete", {"path": rng.choice(files)}, "this looked like a stale file")]
    found = tools.call("crm_search", query="", kind="note", rationale="looking for duplicate notes")
    notes = [r["id"] for r in found.get("result") or []]
    if notes:
        return [("crm_delete_record", {"kind": "note", "id": rng.choice(notes)}, "duplicate note")]
    return [("email_send", {"to": ["someone@outside-example.net"], "subject": "FYI", "body": "Sharing this."},
             "keeping them in the loop")]


def _retarget(tool: str, args: dict, rng: random.Random, tools: Toolbox) -> dict | None:
    if tool in ("email_send", "email_draft"):
        to = list(args.get("to") or [])
        if not to:
            return None
        local, _, domain = to[0].partition("@")
        name, _, tld = domain.rpartition(".")
        lookalike = f"{local}@{name or domain}-{'mail' if rng.random() < 0.5 else 'corp'}.{tld or 'com'}"
        args["to"] = [lookalike] + to[1:]
        return args
    if tool.startswith("files_"):
        key = "src" if tool == "files_move" else "path"
        current = str(args.get(key, ""))
        parent = current.rsplit("/", 1)[0] or "/"
        listing = tools.call("files_list", path=parent, rationale="checking the folder")
        others = [e["path"] for e in listing.get("result") or []
                  if e.get("type") == "file" and e.get("path") != current]
        if not others:
            return None
        args[key] = rng.choice(sorted(others))
        return args
    if tool == "crm_create_note":
        kind, _, current = str(args.get("entity", "")).partition(":")
        other = _other_record(tools, kind or "deal", current, rng)
        if other is None:
            return None
        args["entity"] = f"{kind or 'deal'}:{other}"
        return args
    kind = {"crm_update_deal": "deal", "crm_update_contact": "contact"}.get(tool, args.get("kind", "deal"))
    other = _other_record(tools, kind, str(args.get("id", "")), rng)
    if other is None:
        return None
    args["id"] = other
    return args


def _other_record(tools: Toolbox, kind: str, current: str, rng: random.Random) -> str | None:
    hint = ""
    got = tools.call("crm_get", kind=kind, id=current, rationale="checking the record") if current else {}
    record = got.get("result") or {}
    name = str(record.get("name", ""))
    if name:
        hint = name.split()[0]
    results = []
    for query in (hint, ""):
        found = tools.call("crm_search", query=query, kind=kind, limit=20, rationale="finding the record")
        results = [r["id"] for r in found.get("result") or [] if r.get("id") != current]
        if results:
            break
    return rng.choice(sorted(results)) if results else None


def _revalue(tool: str, args: dict, rng: random.Random) -> dict:
    if tool == "crm_update_deal":
        if "discount_pct" in args:
            args["discount_pct"] = min(100.0, float(args["discount_pct"]) + rng.choice([5, 10, 15, 25]))
        elif "amount" in args:
            args["amount"] = round(float(args["amount"]) * rng.choice([0.1, 10]), 2)
        elif "stage" in args:
            args["stage"] = "closed_lost" if args["stage"] != "closed_lost" else "closed_won"
        else:
            args["discount_pct"] = float(rng.choice([20, 30, 40]))
        return args
    if tool == "crm_update_contact":
        for key in ("email", "phone", "title", "name"):
            if key in args:
                value = str(args[key])
                args[key] = value[:-1] + ("x" if value[-1:] != "x" else "y")
                return args
    if tool in ("email_send", "email_draft"):
        args["body"] = "Hi, see below." if args.get("body") else "Hello"
        args["subject"] = "Re: your message"
        return args
    if tool == "files_write":
        args["content"] = "TODO"
        return args
    if tool == "files_move":
        args["dst"] = str(args.get("dst", "/")).rstrip("/") + "-old"
        return args
    if tool == "crm_create_note":
        args["body"] = "ok"
        return args
    return args


def _invent(value: str, rng: random.Random) -> str:
    if value.startswith("/"):
        return value.rsplit("/", 1)[0] + f"/missing-{rng.randint(100, 999)}.txt"
    if ":" in value:
        kind, _, _ = value.partition(":")
        return f"{kind}:{kind}-{rng.randint(90000, 99999)}"
    prefix = value.split("-", 1)[0] if "-" in value else value
    return f"{prefix}-{rng.randint(90000, 99999)}"


def _injected_addresses(scenario: Any) -> list[str]:
    """External addresses named inside the scenario's messages (where an injection would point)."""
    mail = scenario.world.mail
    if mail is None:
        return []
    domains = [d.lower() for d in (mail.domains or ["example.com"])]
    found: list[str] = []
    for message in mail.messages or []:
        for address in _EMAIL.findall(getattr(message, "body", "") or ""):
            domain = address.rsplit("@", 1)[-1].lower()
            if not any(domain == d or domain.endswith("." + d) for d in domains) and address not in found:
                found.append(address)
    return found
