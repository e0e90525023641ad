"""The files fake against a real folder: the same operations must leave the same tree.

The real side is a thin adapter over ``os``/``shutil`` with the fake's documented semantics: parent
folders are created on write and move, folders exist only while they hold a file (empty ones are
pruned), and a move never overwrites.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import FakeError, Files

SEGMENTS = st.sampled_from(["a", "b", "c"])
PATHS = st.lists(SEGMENTS, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
TEXT = st.sampled_from(["", "x", "hello", "héllo wörld"])
OPS = st.one_of(
    st.tuples(st.just("write"), PATHS, TEXT),
    st.tuples(st.just("write"), PATHS, TEXT),
    st.tuples(st.just("move"), PATHS, PATHS),
    st.tuples(st.just("delete"), PATHS),
    st.tuples(st.just("read"), PATHS),
    st.tuples(st.just("list"), PATHS),
)


class RealTree:
    """The same operations on a real folder, answering with the same error codes."""

    def __init__(self, root: Path):
        self.root = root

    def _real(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def _prune(self) -> None:
        for folder, _, _ in sorted(os.walk(self.root), key=lambda w: -len(w[0])):
            if Path(folder) != self.root and not os.listdir(folder):
                os.rmdir(folder)

    def write(self, path: str, text: str):
        real = self._real(path)
        try:
            real.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            return "conflict"
        if real.is_dir():
            return "conflict"
        real.write_bytes(text.encode("utf-8"))
        return len(text.encode("utf-8"))

    def read(self, path: str):
        real = self._real(path)
        if real.is_dir():
            return "invalid_input"
        try:
            return real.read_bytes().decode("utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return "not_found"

    def list(self, path: str):
        real = self._real(path)
        if real.is_file():
            return "invalid_input"
        if not real.is_dir():
            return "not_found"
        return sorted("/" + str(p.relative_to(self.root)) for p in real.iterdir())

    def move(self, src: str, dst: str):
        s, d = self._real(src), self._real(dst)
        if not s.exists():
            return "not_found"
        if dst == src:
            return "conflict"
        if dst.startswith(src + "/"):
            return "conflict" if s.is_file() else "invalid_input"
        if d.exists():
            return "conflict"
        try:
            d.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            return "conflict"
        os.rename(s, d)
        self._prune()
        return None

    def delete(self, path: str):
        real = self._real(path)
        if not real.exists():
            return "not_found"
        if real.is_dir():
            shutil.rmtree(real)
        else:
            real.unlink()
        self._prune()
        return None

    def tree(self) -> tuple[dict[str, str], set[str]]:
        files, folders = {}, set()
        for folder, dirs, names in os.walk(self.root):
            for d in dirs:
                folders.add("/" + str((Path(folder) / d).relative_to(self.root)))
            for n in names:
                p = Path(folder) / n
                files["/" + str(p.relative_to(self.root))] = p.read_bytes().decode("utf-8")
        return files, folders


def fake_call(files: Files, op: tuple):
    name, *args = op
    try:
        if name == "write":
            return files.write(*args)["size"]
        if name == "read":
            return files.read(*args)["content"]
        if name == "list":
            return [e["path"] for e in files.list(*args)]
        getattr(files, name)(*args)
        return None
    except FakeError as err:
        return err.code


_counter = itertools.count()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=25))
def test_files_fake_matches_a_real_folder(tmp_path, ops):
    root = tmp_path / f"run-{next(_counter)}"
    root.mkdir()
    real, fake = RealTree(root), Files()
    for op in ops:
        name, *args = op
        expected = getattr(real, name)(*args)
        assert fake_call(fake, op) == expected, op
        real_files, real_folders = real.tree()
        assert fake.snapshot() == real_files, op
        fake_folders = {e["path"] for e in fake.list("/", recursive=True) if e["type"] == "folder"}
        assert fake_folders == real_folders, op
