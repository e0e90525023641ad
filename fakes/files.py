"""The filesystem fake: an in-memory tree of files with protected paths. Never touches the disk.

Folders are implicit: a folder exists while some file lies beneath it (and the root always exists).
Writing ``/a/b/c.txt`` creates ``/a`` and ``/a/b``; moving or deleting the last file of a folder
makes the folder disappear.
"""

from __future__ import annotations

from fakes._backend import Backend
from fakes._checks import check_text
from fakes.clock import SimClock
from fakes.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from fakes.journal import Journal
from fakes.paths import ancestors, is_protected, normalise, normalise_pattern, shields
from fakes.table import Table

MAX_CONTENT = 1_000_000


def _file_text(r: dict) -> str:
    return r["path"].lower()


class Files(Backend):
    """Files keyed by normalised path; ``protected`` glob patterns refuse write, move and delete."""

    NAME = "files"
    TABLES = ("files",)

    def __init__(self, files: dict[str, dict] | None = None, *, protected: tuple[str, ...] | list[str] = (),
                 default_owner: str = "agent", clock: SimClock | None = None,
                 journal: Journal | None = None):
        super().__init__(clock, journal)
        self.files = Table(files, text_of=_file_text)
        self.protected = tuple(normalise_pattern(p) for p in protected)
        self.default_owner = default_owner

    normalise = staticmethod(normalise)

    def is_protected(self, path: str) -> bool:
        return is_protected(normalise(path), self.protected)

    # -- queries on the tree ---------------------------------------------------------------------
    def is_file(self, path: str) -> bool:
        return path in self.files

    def is_folder(self, path: str) -> bool:
        return path == "/" or next(self.files.ids_with_prefix(path + "/"), None) is not None

    def exists(self, path: str) -> bool:
        return self.is_file(path) or self.is_folder(path)

    def paths_under(self, folder: str) -> list[str]:
        """Every file path beneath a folder, sorted."""
        prefix = "/" if folder == "/" else folder + "/"
        return sorted(self.files.ids_with_prefix(prefix))

    # -- reads -----------------------------------------------------------------------------------
    def list(self, path: str = "/", recursive: bool = False) -> list[dict]:
        """Entries ``{path, type: "file"|"folder", size}`` below a folder, sorted by path.

        A folder's size is the total size of the files beneath it.
        """
        folder = normalise(path)
        if self.is_file(folder):
            raise InvalidInput(f"{folder!r} is a file, not a folder; use files_read to open it")
        if not self.is_folder(folder):
            raise NotFound(f"no folder at {folder!r}; use files_list on '/' to see what exists")
        prefix = "/" if folder == "/" else folder + "/"
        entries: dict[str, dict] = {}
        for file_path in self.paths_under(folder):
            size = self.files._peek(file_path)["size"]  # type: ignore[index]
            rest = file_path[len(prefix):].split("/")
            depth = len(rest) if recursive else 1
            for i in range(1, min(depth, len(rest) - 1) + 1):
                sub = prefix + "/".join(rest[:i])
                entry = entries.setdefault(sub, {"path": sub, "type": "folder", "size": 0})
                entry["size"] += size
            if recursive or len(rest) == 1:
                entries[file_path] = {"path": file_path, "type": "file", "size": size}
        return [entries[p] for p in sorted(entries)]

    def read(self, path: str) -> dict:
        file_path = normalise(path)
        record = self.files.get(file_path)
        if record is not None:
            return record
        if self.is_folder(file_path):
            raise InvalidInput(f"{file_path!r} is a folder; use files_list to see what it holds")
        raise NotFound(f"no file at {file_path!r}; use files_list to see what exists")

    # -- writes ----------------------------------------------------------------------------------
    def write(self, path: str, content: str) -> dict:
        """Create or overwrite a file (parents are implicit). Both are reversible."""
        file_path = normalise(path)
        content = check_text("content", content, allow_empty=True, max_len=MAX_CONTENT)
        if file_path == "/":
            raise InvalidInput("cannot write to the root folder; give a file path such as '/shared/a.txt'")
        self._check_writable(file_path)
        self._check_parents(file_path)
        if self.is_folder(file_path):
            raise Conflict(f"{file_path!r} is a folder; write to a file path inside it instead")
        before = self.files.get(file_path)
        at = self._tick()
        after = {"path": file_path, "content": content, "size": len(content.encode("utf-8")),
                 "owner": before["owner"] if before else self.default_owner, "modified": at}
        self.files.put(file_path, after)
        op = "write" if before else "create"
        self._log(op, "file", file_path, before, dict(after), reversible=True, at=at)
        return {"path": file_path, "size": after["size"], "created": before is None}

    def move(self, src: str, dst: str) -> dict:
        """Move a file, or a folder with everything under it. One reversible "move" change per file.

        Refused when the destination exists (``Conflict``); a folder cannot move into itself.
        """
        source, target = normalise(src), normalise(dst)
        if source == "/":
            raise InvalidInput("cannot move the root folder; move a file or folder inside it")
        moving = [source] if self.is_file(source) else self.paths_under(source)
        if not moving:
            raise NotFound(f"nothing at {source!r} to move; use files_list to see what exists")
        if target == source:
            raise Conflict(f"{target!r} already exists: source and destination are the same")
        if target.startswith(source + "/"):
            if self.is_file(source):
                raise Conflict(f"{source!r} is a file, so {target!r} cannot be created beneath it")
            raise InvalidInput(f"cannot move folder {source!r} into itself ({target!r})")
        pairs = [(old, target + old[len(source):]) for old in moving]
        self._check_shielded(source)
        for path in (source, target, *(p for pair in pairs for p in pair)):
            self._check_writable(path)
        if self.exists(target):
            raise Conflict(f"{target!r} already exists; choose another destination or delete it first")
        self._check_parents(target)
        at = self._tick()
        for old, new in pairs:
            before = self.files.get(old)
            after = {**before, "path": new}  # type: ignore[dict-item]
            self.files.delete(old)
            self.files.put(new, after)
            self._log("move", "file", old, before, dict(after), reversible=True, at=at)
        return {"src": source, "dst": target, "files": len(pairs)}

    def delete(self, path: str) -> dict:
        """Delete a file, or a folder and everything under it. Irreversible: one change per file."""
        target = normalise(path)
        if target == "/":
            raise InvalidInput("refusing to delete the root folder; delete the files or folders inside it")
        doomed = [target] if self.is_file(target) else self.paths_under(target)
        if not doomed:
            raise NotFound(f"nothing at {target!r} to delete; use files_list to see what exists")
        self._check_shielded(target)
        for p in (target, *doomed):
            self._check_writable(p)
        at = self._tick()
        for p in doomed:
            before = self.files.get(p)
            self.files.delete(p)
            self._log("delete", "file", p, before, None, reversible=False, at=at)
        return {"deleted": doomed, "count": len(doomed)}

    # -- checks ----------------------------------------------------------------------------------
    def _check_writable(self, path: str) -> None:
        if is_protected(path, self.protected):
            raise PermissionDenied(f"{path!r} is protected; it cannot be written, moved or deleted. "
                                   "Ask a person to change it, or work on a copy elsewhere")

    def _check_shielded(self, path: str) -> None:
        if shields(path, self.protected):
            raise PermissionDenied(f"{path!r} holds protected paths; it cannot be moved or deleted. "
                                   "Move or delete the files inside it that are not protected instead")

    def _check_parents(self, path: str) -> None:
        for folder in ancestors(path):
            if self.is_file(folder):
                raise Conflict(f"{folder!r} is a file, so {path!r} cannot be created beneath it")

    def snapshot(self) -> dict[str, str]:
        """``{path: content}`` of every file: for tests and small worlds (scans the tree)."""
        return {r["path"]: r["content"] for r in self.files.values()}
