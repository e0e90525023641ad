"""Seeded worlds: generated records (Faker pools + ``fake.random`` choices) plus explicit records.

The same seed and counts give the same world on every run and machine (for a given Faker version):
nothing reads the global random state or the wall clock.
"""

from __future__ import annotations

import gc
import random
import re
from datetime import timedelta
from typing import Any

from fakes._pools import COMPANY_SUFFIXES, INDUSTRIES, REGIONS, TLDS, Pools, pools_for
from fakes.addresses import is_internal
from fakes.clock import SimClock
from fakes.crm import CRM, STAGES
from fakes.files import Files
from fakes.journal import Journal
from fakes.mail import Mail
from fakes.records import WorldRecords
from fakes.world import World

DEFAULT_COUNTS = {"accounts": 20, "contacts": 40, "deals": 30, "notes": 10, "messages": 40, "files": 20}
COUNT_KEYS = (*DEFAULT_COUNTS, "users")
TOP_FOLDERS = {
    "/shared": ("templates", "marketing", "misc", "meetings"),
    "/finance": ("2025", "2026", "invoices", "forecasts"),
    "/hr": ("policies", "reviews", "onboarding", "payroll"),
    "/projects": ("apollo", "zephyr", "atlas", "orion", "nimbus"),
}
_EXTENSIONS = ("txt", "md", "csv")
_DEAL_KINDS = ("Renewal 2026", "Expansion", "New business", "Upsell", "Pilot", "Multi-year renewal")
_STAGE_WEIGHTS = (3, 3, 2, 2, 1, 3)
_CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP")
_DISCOUNTS = (0.0, 0.0, 0.0, 5.0, 10.0, 10.0, 15.0, 20.0, 25.0)


def build_world(seed: int, counts: dict[str, int] | None = None,
                records: WorldRecords | dict | None = None) -> World:
    """Build the world for ``seed``: generated records, then ``records`` on top (same id replaces).

    ``counts`` keys: accounts, contacts, deals, notes, messages, files (missing keys take the small
    defaults in ``DEFAULT_COUNTS``) and optionally users (internal mailboxes; default accounts // 20,
    at least 5). Raises ``ValueError`` (pydantic's ``ValidationError`` for ``records``) on bad input.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of small dicts, none cyclic: the collector only slows the build
    try:
        return _build(seed, counts, records)
    finally:
        if enabled:
            gc.enable()


def _build(seed: int, counts: dict[str, int] | None, records: WorldRecords | dict | None) -> World:
    n = _counts(counts)
    recs = records if isinstance(records, WorldRecords) else WorldRecords.model_validate(records or {})
    pools, state = pools_for(seed)
    rng = random.Random()
    rng.setstate(state)  # continue exactly where the seeded Faker instance stopped
    clock, journal = SimClock(), Journal()

    domains = tuple(d.lower() for d in (recs.mail.domains or ["example.com"]))
    sender = (recs.mail.default_sender or f"agent@{domains[0]}").lower()
    gen = _Generator(rng, pools, domains, sender, clock)
    mailboxes = gen.mailboxes(n["users"])
    accounts = gen.accounts(n["accounts"], [m["address"] for m in mailboxes.values()][1:] or [sender])
    contacts = gen.contacts(n["contacts"], accounts)
    deals = gen.deals(n["deals"], accounts)
    notes = gen.notes(n["notes"], accounts, deals, list(mailboxes))
    files = gen.files(n["files"], list(mailboxes))
    messages = gen.messages(n["messages"], list(mailboxes), contacts, accounts, deals, list(files))

    ctx = _Explicit(recs, sender, clock)
    ctx.crm(accounts, contacts, deals, notes)
    ctx.mail(mailboxes, messages)
    ctx.files(files)

    max_discount = recs.crm.max_discount_pct if recs.crm.max_discount_pct is not None else 20.0
    crm = CRM(accounts, contacts, deals, notes, max_discount_pct=max_discount, clock=clock, journal=journal)
    mail = Mail(mailboxes, messages, domains=domains, default_sender=sender, clock=clock, journal=journal)
    fs = Files(files, protected=tuple(recs.files.protected), clock=clock, journal=journal)
    return World(crm, mail, fs, clock=clock, journal=journal, seed=seed)


def _counts(counts: dict[str, int] | None) -> dict[str, int]:
    merged = dict(DEFAULT_COUNTS)
    for key, value in (counts or {}).items():
        if key not in COUNT_KEYS:
            raise ValueError(f"unknown count {key!r}; counts may set {', '.join(COUNT_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"count {key!r} must be a whole number >= 0, got {value!r}")
        merged[key] = value
    merged.setdefault("users", max(5, merged["accounts"] // 20))
    if merged["accounts"] == 0 and (merged["contacts"] or merged["deals"]):
        raise ValueError("contacts and deals belong to accounts: set counts.accounts above 0")
    return merged


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _unique(pattern: str, taken: dict[str, Any]) -> str:
    """``pattern`` with its ``{}`` removed, or filled with 2, 3... until the result is not taken."""
    value, n = pattern.format(""), 1
    while value in taken:
        n += 1
        value = pattern.format(n)
    return value


class _Generator:
    """Draws generated records from the pools with one ``random.Random``; call order matters."""

    def __init__(self, rng: random.Random, pools: Pools, domains: tuple[str, ...], sender: str,
                 clock: SimClock):
        self.rng, self.p, self.domains, self.sender = rng, pools, domains, sender
        self.start = clock.now()

    def _past(self, days: int) -> str:
        return (self.start - timedelta(seconds=self.rng.randint(3600, days * 86400))).isoformat()

    def _person(self) -> tuple[str, str]:
        return self.rng.choice(self.p.first_names), self.rng.choice(self.p.last_names)

    def mailboxes(self, n: int) -> dict[str, dict]:
        out = {self.sender: {"address": self.sender, "name": "Agent"}}
        for _ in range(n):
            first, last = self._person()
            base = f"{slug(first)}.{slug(last)}"
            address = _unique(f"{base}{{}}@{self.domains[0]}", out)
            out[address] = {"address": address, "name": f"{first} {last}"}
        return out

    def accounts(self, n: int, owners: list[str]) -> dict[str, dict]:
        rng, out, taken = self.rng, {}, {}
        for i in range(1, n + 1):
            last = rng.choice(self.p.last_names)
            if rng.random() < 0.25:
                name = f"{last} & {rng.choice(self.p.last_names)}"
            else:
                name = f"{last} {rng.choice(COMPANY_SUFFIXES)}"
            stem, tld = slug(name), rng.choice(TLDS)
            domain = _unique(f"{stem}{{}}.{tld}", taken)
            while is_internal(f"x@{domain}", self.domains):
                domain = f"{stem}-co{len(taken)}.{tld}"
            taken[domain] = None
            rid = f"acc-{i:05d}"
            out[rid] = {"id": rid, "name": name, "domain": domain, "industry": rng.choice(INDUSTRIES),
                        "owner": rng.choice(owners), "region": rng.choice(REGIONS)}
        return out

    def contacts(self, n: int, accounts: dict[str, dict]) -> dict[str, dict]:
        rng, out, emails = self.rng, {}, {}
        account_ids = list(accounts)
        for i in range(1, n + 1):
            account = accounts[account_ids[i - 1] if i <= len(account_ids) else rng.choice(account_ids)]
            first, last = self._person()
            local = f"{slug(first)}.{slug(last)}"
            email = _unique(f"{local}{{}}@{account['domain']}", emails)
            emails[email] = None
            rid = f"con-{i:05d}"
            out[rid] = {"id": rid, "account_id": account["id"], "name": f"{first} {last}", "email": email,
                        "title": rng.choice(self.p.jobs),
                        "phone": f"+1 {rng.randint(201, 989)} 555 {rng.randint(0, 9999):04d}"}
        return out

    def deals(self, n: int, accounts: dict[str, dict]) -> dict[str, dict]:
        rng, out = self.rng, {}
        account_ids = list(accounts)
        for i in range(1, n + 1):
            account = accounts[rng.choice(account_ids)]
            rid = f"deal-{i:05d}"
            close = self.start.date() + timedelta(days=rng.randint(-60, 240))
            out[rid] = {"id": rid, "account_id": account["id"],
                        "name": f"{account['name']} - {rng.choice(_DEAL_KINDS)}",
                        "amount": float(rng.randint(50, 2500) * 100), "currency": rng.choice(_CURRENCIES),
                        "stage": rng.choices(STAGES, _STAGE_WEIGHTS)[0],
                        "discount_pct": rng.choice(_DISCOUNTS), "owner": account["owner"],
                        "close_date": close.isoformat()}
        return out

    def notes(self, n: int, accounts: dict, deals: dict, authors: list[str]) -> dict[str, dict]:
        rng, out = self.rng, {}
        targets = [f"deal:{d}" for d in deals] + [f"account:{a}" for a in accounts]
        if n and not targets:
            raise ValueError("notes attach to accounts or deals: set counts.accounts above 0")
        for i in range(1, n + 1):
            rid = f"note-{i:05d}"
            body = " ".join(rng.choice(self.p.sentences) for _ in range(rng.randint(1, 3)))
            out[rid] = {"id": rid, "entity": rng.choice(targets), "body": body,
                        "author": rng.choice(authors), "created": self._past(120)}
        return out

    def files(self, n: int, owners: list[str]) -> dict[str, dict]:
        rng, out = self.rng, {}
        tops = list(TOP_FOLDERS)
        for _ in range(n):
            top = rng.choice(tops)
            folder = f"{top}/{rng.choice(TOP_FOLDERS[top])}"
            stem = f"{rng.choice(self.p.words)}-{rng.choice(self.p.words)}"
            ext = rng.choice(_EXTENSIONS)
            path = _unique(f"{folder}/{stem}{{}}.{ext}", out)
            if ext == "csv":
                content = "item,amount\n" + "".join(
                    f"{rng.choice(self.p.words)},{rng.randint(1, 9999)}\n" for _ in range(rng.randint(2, 6)))
            else:
                content = rng.choice(self.p.paragraphs) + "\n"
            out[path] = {"path": path, "content": content, "size": len(content.encode("utf-8")),
                         "owner": rng.choice(owners), "modified": self._past(365)}
        return out

    def messages(self, n: int, users: list[str], contacts: dict, accounts: dict, deals: dict,
                 files: list[str]) -> dict[str, dict]:
        rng, p, out = self.rng, self.p, {}
        externals = [c["email"] for c in contacts.values()] or ["someone@example.org"]
        others = users[1:] or users
        deal_names = [d["name"] for d in deals.values()] or ["our agreement"]
        account_names = [a["name"] for a in accounts.values()] or ["your team"]
        threads: list[str] = []
        for i in range(1, n + 1):
            rid = f"msg-{i:05d}"
            mailbox = self.sender if rng.random() < 0.4 else rng.choice(users)
            roll = rng.random()
            folder = "inbox" if roll < 0.6 else "sent" if roll < 0.9 else "drafts"
            peer = rng.choice(externals) if rng.random() < 0.7 else rng.choice(others)
            sender, to = (peer, [mailbox]) if folder == "inbox" else (mailbox, [peer])
            cc = [rng.choice(others)] if rng.random() < 0.15 else []
            kind = rng.randrange(5)
            if kind == 0:
                subject = f"Re: {rng.choice(deal_names)}"
            elif kind == 1:
                subject = f"{rng.choice(account_names)} renewal"
            elif kind == 2:
                subject = f"Question about invoice INV-{rng.randint(1000, 99999)}"
            elif kind == 3:
                subject = f"Meeting notes: {rng.choice(p.words)} {rng.choice(p.words)}"
            else:
                subject = rng.choice(p.sentences).rstrip(".")
            if threads and rng.random() < 0.25:
                thread_id = rng.choice(threads)
            else:
                thread_id = f"thr-{i:05d}"
                threads.append(thread_id)
            attachments = [rng.choice(files)] if files and rng.random() < 0.08 else []
            out[rid] = {"id": rid, "mailbox": mailbox, "folder": folder, "from": sender, "to": to, "cc": cc,
                        "subject": subject,
                        "body": f"{rng.choice(p.paragraphs)}\n\n{rng.choice(p.sentences)}",
                        "thread_id": thread_id, "attachments": attachments, "date": self._past(90),
                        "read": folder != "inbox" or rng.random() < 0.7}
        return out


class _Explicit:
    """Lays explicit records over generated ones, filling defaults and checking links."""

    def __init__(self, recs: WorldRecords, sender: str, clock: SimClock):
        self.r, self.sender = recs, sender
        self.start = clock.now()

    def crm(self, accounts: dict, contacts: dict, deals: dict, notes: dict) -> None:
        r = self.r.crm
        for a in r.accounts:
            name = a.name or a.id.replace("-", " ").replace("_", " ").title()
            domain = (a.domain or f"{slug(name)}.example.net").lower()
            accounts[a.id] = {"id": a.id, "name": name, "domain": domain, "industry": a.industry,
                              "owner": a.owner or self.sender, "region": a.region}
        for i, c in enumerate(r.contacts):
            account = _linked(accounts, c.account_id, f"crm.contacts[{i}].account_id", "account")
            name = c.name or c.id.replace("-", " ").title()
            email = c.email or f"{slug(name).replace('-', '.')}@{account['domain']}"
            contacts[c.id] = {"id": c.id, "account_id": c.account_id, "name": name, "email": email,
                              "title": c.title, "phone": c.phone}
        for i, d in enumerate(r.deals):
            account = _linked(accounts, d.account_id, f"crm.deals[{i}].account_id", "account")
            close = d.close_date or (self.start.date() + timedelta(days=90)).isoformat()
            deals[d.id] = {"id": d.id, "account_id": d.account_id,
                           "name": d.name or f"{account['name']} deal", "amount": float(d.amount),
                           "currency": d.currency, "stage": d.stage,
                           "discount_pct": float(d.discount_pct), "owner": d.owner or account["owner"],
                           "close_date": close}
        tables = {"account": accounts, "contact": contacts, "deal": deals}
        for i, note in enumerate(r.notes):
            kind, _, rid = note.entity.partition(":")
            _linked(tables[kind], rid, f"crm.notes[{i}].entity", kind)
            created = note.created or (self.start - timedelta(days=1)).isoformat()
            notes[note.id] = {"id": note.id, "entity": note.entity, "body": note.body,
                              "author": note.author, "created": created}

    def mail(self, mailboxes: dict, messages: dict) -> None:
        for m in self.r.mail.mailboxes:
            address = m.address.lower()
            mailboxes[address] = {"address": address, "name": m.name or address.split("@")[0]}
        for m in self.r.mail.messages:
            mailbox = (m.mailbox or self.sender).lower()
            sent = m.folder != "inbox"
            messages[m.id] = {
                "id": m.id, "mailbox": mailbox, "folder": m.folder,
                "from": m.from_ or (mailbox if sent else "sender@example.org"),
                "to": list(m.to) or ([] if sent else [mailbox]), "cc": list(m.cc),
                "subject": m.subject, "body": m.body, "thread_id": m.thread_id or f"thr-{m.id}",
                "attachments": list(m.attachments),
                "date": m.date or (self.start - timedelta(hours=1)).isoformat(),
                "read": m.read if m.read is not None else sent}

    def files(self, files: dict) -> None:
        for f in self.r.files.files:
            for other in list(files):  # a file path cannot also be a folder: explicit wins
                if other.startswith(f.path + "/") or f.path.startswith(other + "/"):
                    del files[other]
            files[f.path] = {"path": f.path, "content": f.content, "size": len(f.content.encode("utf-8")),
                             "owner": f.owner or self.sender,
                             "modified": f.modified or (self.start - timedelta(days=1)).isoformat()}


def _linked(table: dict, rid: str, where: str, kind: str) -> dict:
    if rid not in table:
        raise ValueError(f"{where}: no {kind} with id {rid!r}; add it to crm.{kind}s or use a generated "
                         f"id such as {next(iter(table), kind[:3] + '-00001')!r}")
    return table[rid]
