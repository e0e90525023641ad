"""The fakes never open a socket and never write to the real filesystem."""

from __future__ import annotations

import builtins
import io
import os
import socket

import pytest

from fakes import FakeError, build_world


class Escape(AssertionError):
    pass


@pytest.fixture
def sealed(monkeypatch):
    """Make every network connection and every file opened for writing fail loudly."""
    def no_network(*args, **kwargs):
        raise Escape(f"the fakes tried to use the network: {args!r}")

    for name in ("connect", "connect_ex", "sendto", "bind"):
        monkeypatch.setattr(socket.socket, name, no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise Escape(f"the fakes opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)

    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & write_flags:
            raise Escape(f"the fakes opened {path!r} for writing with os.open")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    for name in ("mkdir", "makedirs", "remove", "unlink", "rename", "replace", "rmdir"):
        monkeypatch.setattr(os, name, _refuse(f"os.{name}"))
    yield


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise Escape(f"the fakes called {what}{args!r}")
    return refuse


def test_the_guards_work(sealed, tmp_path):
    with pytest.raises(Escape):
        open(tmp_path / "x.txt", "w")
    with pytest.raises(Escape):
        socket.create_connection(("example.com", 80))
    with pytest.raises(Escape):
        os.remove(tmp_path / "nothing")


def test_building_and_operating_stays_in_memory(sealed):
    world = build_world(918_273, {"accounts": 30, "contacts": 40, "deals": 30, "notes": 10, "messages": 60,
                                  "files": 40},
                        records={"files": {"protected": ["/legal/**"],
                                           "files": [{"path": "/legal/nda.txt", "content": "x"}]}})
    crm, mail, files = world.crm, world.mail, world.files
    attempts = [
        lambda: crm.search("a"), lambda: crm.update_deal("deal-00001", discount_pct=10),
        lambda: crm.create_note("deal:deal-00002", "n"), lambda: crm.delete_record("contact", "con-00003"),
        lambda: crm.update_contact("con-00001", title="CTO"),
        lambda: mail.search("re"), lambda: mail.read("msg-00001"),
        lambda: mail.send(["someone@outside.io"], "hello", "body", attachments=["/finance/x.csv"]),
        lambda: mail.draft(["boss@example.com"], "d", "b"),
        lambda: files.write("/etc/passwd", "root"), lambda: files.write("/tmp/real.txt", "x"),
        lambda: files.write("../../../tmp/escape.txt", "x"), lambda: files.delete("/legal"),
        lambda: files.move("/shared", "/moved"), lambda: files.delete("/finance"),
        lambda: files.list("/", recursive=True), lambda: files.read("/legal/nda.txt"),
    ]
    for _ in range(5):
        for attempt in attempts:
            try:
                attempt()
            except FakeError:
                pass
    fork = world.fork()
    fork.files.write("/projects/new.md", "in memory")
    world.reset()
    rebuilt = world.pristine()
    for change in fork.journal:
        rebuilt.apply_change(change)
    assert rebuilt.digest() == fork.digest()
    assert fork.files.read("/projects/new.md")["content"] == "in memory"
