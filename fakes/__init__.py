"""Fake backends for agent sandboxes: an in-memory CRM, mail system and filesystem.

Seeded, deterministic worlds (``build_world``) that fork and reset in O(changes); every mutation is a
``Change`` in the world's ``Journal`` with before/after values and whether it can be undone. The fakes
know nothing of agents, stages or scoring, never open a socket and never write to the real disk.
"""

from fakes.clock import SimClock
from fakes.crm import CRM
from fakes.errors import Conflict, FakeError, InvalidInput, NotFound, PermissionDenied
from fakes.files import Files
from fakes.generate import build_world
from fakes.journal import Change, Journal
from fakes.mail import Mail
from fakes.records import (
    AccountRecord,
    ContactRecord,
    CRMRecords,
    DealRecord,
    FileRecord,
    FilesRecords,
    MailboxRecord,
    MailRecords,
    MessageRecord,
    NoteRecord,
    WorldRecords,
)
from fakes.table import Table
from fakes.world import World

__all__ = [
    "CRM",
    "AccountRecord",
    "CRMRecords",
    "Change",
    "Conflict",
    "ContactRecord",
    "DealRecord",
    "FakeError",
    "FileRecord",
    "Files",
    "FilesRecords",
    "InvalidInput",
    "Journal",
    "Mail",
    "MailRecords",
    "MailboxRecord",
    "MessageRecord",
    "NoteRecord",
    "NotFound",
    "PermissionDenied",
    "SimClock",
    "Table",
    "World",
    "WorldRecords",
    "build_world",
]
