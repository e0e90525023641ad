"""The files fake: path normalisation, protection, and the tree operations."""

from __future__ import annotations

import pytest

from fakes import Conflict, InvalidInput, NotFound, PermissionDenied, build_world
from fakes.files import normalise

RECORDS = {
    "files": {
        "protected": ["/legal/**", "*.key"],
        "files": [
            {"path": "/legal/nda.txt", "content": "secret"},
            {"path": "/legal/contracts/acme.txt", "content": "contract"},
            {"path": "/docs/a.txt", "content": "alpha"},
            {"path": "docs/sub/b.txt", "content": "beta"},
            {"path": "/keys/server.key", "content": "k"},
        ],
    }
}


@pytest.fixture
def world():
    return build_world(3, counts={"accounts": 1, "contacts": 0, "deals": 0, "notes": 0, "messages": 0,
                                  "files": 0}, records=RECORDS)


@pytest.mark.parametrize("raw, expected", [
    ("a/b", "/a/b"), ("/a/b", "/a/b"), ("//a//b/", "/a/b"), ("/a/./b", "/a/b"), ("./a", "/a"),
    ("/a/b/../c", "/a/c"), ("", "/"), ("/", "/"), ("/a/..", "/"), ("100% done.txt", "/100% done.txt"),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw", [
    "../../etc/passwd", "/a/../../x", "..", "/..", "a/../..", "%2e%2e/x", "%2E%2E%2Fetc", "a%2fb",
    "a\\..\\b", "a\\b", "a\x00b", "/a\nb", "/a\tb", "/a\x7fb", None, 5, b"/a",
])
def test_normalise_rejects_traversal_and_odd_characters(raw):
    with pytest.raises(InvalidInput):
        normalise(raw)


@pytest.mark.parametrize("op", ["read", "write", "delete", "list"])
@pytest.mark.parametrize("raw", ["../../etc/passwd", "/a/../../x", "%2e%2e/x", "a\\..\\b", "a\x00b"])
def test_every_operation_rejects_traversal(world, op, raw):
    call = {"read": lambda: world.files.read(raw), "write": lambda: world.files.write(raw, "x"),
            "delete": lambda: world.files.delete(raw), "list": lambda: world.files.list(raw)}[op]
    with pytest.raises(InvalidInput):
        call()
    with pytest.raises(InvalidInput):
        world.files.move("/docs/a.txt", raw)
    assert len(world.journal) == 0


def test_read_write_create_and_overwrite(world):
    files = world.files
    assert files.read("docs/a.txt")["content"] == "alpha"
    assert files.write("/docs/new.txt", "héllo") == {"path": "/docs/new.txt", "size": 6, "created": True}
    assert files.write("/docs/a.txt", "ALPHA")["created"] is False
    create, write = world.journal.all()
    assert (create.op, create.before, create.reversible) == ("create", None, True)
    assert (write.op, write.before["content"], write.after["content"], write.reversible) == (
        "write", "alpha", "ALPHA", True)
    assert write.entity == "file:/docs/a.txt"
    assert files.read("/docs/a.txt")["modified"] == write.at


def test_read_errors(world):
    with pytest.raises(NotFound) as err:
        world.files.read("/docs/zzz.txt")
    assert "files_list" in err.value.message
    with pytest.raises(InvalidInput):
        world.files.read("/docs")


def test_write_conflicts(world):
    with pytest.raises(Conflict):
        world.files.write("/docs", "a folder")
    with pytest.raises(Conflict):
        world.files.write("/docs/a.txt/inner.txt", "under a file")
    with pytest.raises(InvalidInput):
        world.files.write("/", "root")
    with pytest.raises(InvalidInput):
        world.files.write("/x.txt", 5)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/legal", "/legal/nda.txt", "legal/contracts/acme.txt", "/legal/new.txt",
                                  "/keys/server.key", "/docs/copy.key"])
def test_protected_paths_refuse_write_move_delete(world, path):
    with pytest.raises(PermissionDenied):
        world.files.write(path, "x")
    with pytest.raises((PermissionDenied, NotFound)):
        world.files.delete(path)
    with pytest.raises((PermissionDenied, NotFound)):
        world.files.move(path, "/elsewhere/x")
    with pytest.raises(PermissionDenied):
        world.files.move("/docs/a.txt", path)
    assert len(world.journal) == 0
    assert world.files.read("/legal/nda.txt")["content"] == "secret", "protected files stay readable"


def test_protecting_a_folder_does_not_protect_lookalikes(world):
    world.files.write("/legalese/x.txt", "fine")
    world.files.write("/docs/legal/x.txt", "fine")


def test_deleting_a_parent_of_protected_files_is_refused(world):
    world.files.write("/outer/legal.txt", "x")
    with pytest.raises(PermissionDenied):
        world.files.move("/keys", "/keys2")
    assert world.files.is_file("/keys/server.key")


def test_list(world):
    files = world.files
    assert files.list("/docs") == [{"path": "/docs/a.txt", "type": "file", "size": 5},
                                   {"path": "/docs/sub", "type": "folder", "size": 4}]
    assert [e["path"] for e in files.list("/docs", recursive=True)] == ["/docs/a.txt", "/docs/sub",
                                                                         "/docs/sub/b.txt"]
    assert [e["path"] for e in files.list()] == ["/docs", "/keys", "/legal"]
    with pytest.raises(NotFound):
        files.list("/nope")
    with pytest.raises(InvalidInput):
        files.list("/docs/a.txt")


def test_move_file_and_folder(world):
    files = world.files
    assert files.move("/docs/a.txt", "/archive/a.txt") == {"src": "/docs/a.txt", "dst": "/archive/a.txt",
                                                           "files": 1}
    assert files.read("/archive/a.txt")["content"] == "alpha"
    with pytest.raises(NotFound):
        files.read("/docs/a.txt")
    files.move("/docs", "/old/docs")
    assert files.read("/old/docs/sub/b.txt")["content"] == "beta"
    assert not files.exists("/docs")
    moves = world.journal.all()
    assert [c.op for c in moves] == ["move", "move"]
    assert (moves[1].entity_id, moves[1].before["path"], moves[1].after["path"]) == (
        "/docs/sub/b.txt", "/docs/sub/b.txt", "/old/docs/sub/b.txt")
    assert all(c.reversible for c in moves)


def test_move_errors(world):
    files = world.files
    world.files.write("/docs/other.txt", "o")
    mark = len(world.journal)
    with pytest.raises(Conflict):
        files.move("/docs/a.txt", "/docs/other.txt")
    with pytest.raises(Conflict):
        files.move("/docs/a.txt", "/docs/sub")
    with pytest.raises(Conflict):
        files.move("/docs/a.txt", "/docs/a.txt")
    with pytest.raises(InvalidInput):
        files.move("/docs", "/docs/inside")
    with pytest.raises(NotFound):
        files.move("/nothing", "/x")
    with pytest.raises(InvalidInput):
        files.move("/", "/x")
    with pytest.raises(Conflict):
        files.move("/docs/sub", "/docs/a.txt/sub")
    assert len(world.journal) == mark


def test_delete_file_and_folder_one_change_per_file(world):
    assert world.files.delete("/docs") == {"deleted": ["/docs/a.txt", "/docs/sub/b.txt"], "count": 2}
    changes = world.journal.all()
    assert [(c.op, c.entity_id, c.reversible) for c in changes] == [
        ("delete", "/docs/a.txt", False), ("delete", "/docs/sub/b.txt", False)]
    assert changes[0].at == changes[1].at
    with pytest.raises(NotFound):
        world.files.delete("/docs")
    with pytest.raises(InvalidInput):
        world.files.delete("/")
