"""Random operation sequences over crm, mail and files keep the world's invariants.

Invariants: ids unique; a failed call changes nothing; replaying the journal with ``apply_change`` on a
pristine fork reproduces the state (digest, records, versions); undoing reversible changes restores;
forks are isolated from each other and from the base; reset returns to the base digest.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fakes import FakeError, World, build_world

BASE = build_world(7, {"accounts": 4, "contacts": 5, "deals": 5, "notes": 3, "messages": 8, "files": 6},
                   records={"crm": {"accounts": [{"id": "acme"}]},
                            "mail": {"messages": [{"id": "in-1", "from": "ana@acme.com", "subject": "hi"}]},
                            "files": {"protected": ["/legal/**"],
                                      "files": [{"path": "/legal/nda.txt", "content": "nda"},
                                                {"path": "/a/one.txt", "content": "1"}]}})
BASE_DIGEST = BASE.digest()


def content(world: World) -> dict:
    """Every record of every table: the brute-force view the digest must agree with."""
    return {name: dict(table.items()) for name, table in world._tables()}


BASE_CONTENT = content(BASE)

deal_ids = st.sampled_from([*BASE.crm.deals.ids(), "deal-99999"])
contact_ids = st.sampled_from([*BASE.crm.contacts.ids(), "con-99999"])
message_ids = st.sampled_from([*BASE.mail.messages.ids(), "msg-r0001", "msg-r0002", "nope"])
entities = st.sampled_from(["deal:deal-00001", "account:acme", "contact:con-00002", "deal:ghost", "note:x"])
good_addresses = st.sampled_from(["ana@acme.com", "boss@example.com", "x@sub.example.com",
                                  "evil@example.com.io", "B@Example.COM"])
addresses = st.one_of(good_addresses, good_addresses, good_addresses, st.just("not-an-address"))
good_paths = st.lists(st.sampled_from(["a", "b", "c.txt", "legal"]), min_size=1, max_size=3).map("/".join)
bad_paths = st.sampled_from(["..", "a/../..", "%2e%2e/a", "a\\b", "a\x00"])
paths = st.one_of(good_paths, good_paths, good_paths, bad_paths)
deal_fields = st.dictionaries(
    st.sampled_from(["amount", "stage", "discount_pct", "close_date", "owner", "colour"]),
    st.one_of(st.integers(-10, 200), st.floats(allow_nan=True), st.sampled_from(
        ["renewal", "won", "2026-02-01", "2026-02-30", "", "sam@example.com"])),
    max_size=3)


class WorldMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.world = BASE.pristine()
        self.forks: list[tuple[World, str]] = []
        self.last_op: tuple[int, str] | None = None  # (journal length before, digest before)

    def _do(self, call):
        """Run one operation; a failure must leave everything as it was."""
        before = (self.world.digest(), len(self.world.journal), self.world.clock.now())
        try:
            result = call()
        except FakeError as err:
            event(f"refused: {err.code}")
            assert (self.world.digest(), len(self.world.journal), self.world.clock.now()) == before
            return None
        for change in self.world.journal.since(before[1]):
            event(f"change: {change.backend}.{change.op}")
        if len(self.world.journal) > before[1]:
            self.last_op = (before[1], before[0])
        return result

    # -- crm -------------------------------------------------------------------------------------
    @rule(rid=deal_ids, fields=deal_fields)
    def update_deal(self, rid, fields):
        result = self._do(lambda: self.world.crm.update_deal(rid, **fields))
        if result is not None:
            assert self.world.crm.get("deal", rid) == result
            assert all(result[k] == v for k, v in fields.items())

    @rule(rid=contact_ids, title=st.sampled_from(["CFO", "", 5]),
          email=st.sampled_from([None, "a@b.co", "x"]))
    def update_contact(self, rid, title, email):
        fields = {"title": title} if email is None else {"title": title, "email": email}
        self._do(lambda: self.world.crm.update_contact(rid, **fields))

    @rule(entity=entities, body=st.sampled_from(["note", " ", "x" * 20]))
    def create_note(self, entity, body):
        note = self._do(lambda: self.world.crm.create_note(entity, body))
        if note is not None:
            assert self.world.get(f"note:{note['id']}") == note

    @rule(kind=st.sampled_from(["deal", "contact", "account", "note"]), data=st.data())
    def delete_record(self, kind, data):
        ids = list(self.world.crm.table(kind).ids()) + ["ghost"]
        rid = data.draw(st.sampled_from(ids))
        if self._do(lambda: self.world.crm.delete_record(kind, rid)) is not None:
            assert not self.world.exists(f"{kind}:{rid}")

    # -- mail ------------------------------------------------------------------------------------
    @rule(rid=message_ids)
    def read(self, rid):
        message = self._do(lambda: self.world.mail.read(rid))
        if message is not None:
            assert self.world.get(f"message:{rid}")["read"] is True

    @rule(to=st.lists(addresses, min_size=1, max_size=2), cc=st.lists(addresses, max_size=1),
          reply=message_ids, as_draft=st.booleans(), use_draft=st.booleans(), data=st.data())
    def compose(self, to, cc, reply, as_draft, use_draft, data):
        mail = self.world.mail
        if as_draft:
            self._do(lambda: mail.draft(to, "s", "b", cc=cc, reply_to=reply))
            return
        drafts = [m["id"] for m in mail.messages.values() if m["folder"] == "drafts"]
        draft_id = data.draw(st.sampled_from(drafts)) if use_draft and drafts else None
        sent = self._do(lambda: mail.send(to, "s", "b", cc=cc, draft_id=draft_id))
        if sent is not None:
            change = next(c for c in self.world.journal.since(self.last_op[0]) if c.op == "send")
            recipients = [a.lower() for a in to + cc]
            assert set(change.recipients) == set(recipients)
            assert change.external == any(not mail.is_internal(a) for a in recipients)
            assert draft_id is None or not self.world.exists(f"message:{draft_id}")

    # -- files -----------------------------------------------------------------------------------
    @rule(path=paths, text=st.sampled_from(["", "one", "two"]))
    def write(self, path, text):
        if self._do(lambda: self.world.files.write(path, text)) is not None:
            assert self.world.files.read(path)["content"] == text

    def _existing(self, data, fallback):
        """A file or folder that exists (so moves and deletes often succeed), or ``fallback``."""
        files = sorted(self.world.files.files.ids())
        folders = sorted({f.rsplit("/", 1)[0] for f in files if f.count("/") > 1})
        return data.draw(st.sampled_from([*files, *folders, fallback]))

    @rule(src=paths, dst=paths, data=st.data())
    def move(self, src, dst, data):
        src = self._existing(data, src)
        snapshot = self.world.files.snapshot()
        if self._do(lambda: self.world.files.move(src, dst)) is not None:
            moved = self.world.files.snapshot()
            assert len(moved) == len(snapshot) and sorted(moved.values()) == sorted(snapshot.values())

    @rule(path=paths, data=st.data())
    def delete(self, path, data):
        path = self._existing(data, path)
        if self._do(lambda: self.world.files.delete(path)) is not None:
            assert not self.world.files.exists(self.world.files.normalise(path))

    # -- undo, forks, reset ----------------------------------------------------------------------
    @precondition(lambda self: self.last_op is not None)
    @rule()
    def undo_last_op(self):
        mark, digest_before = self.last_op
        changes = self.world.journal.since(mark)
        self.last_op = None
        if not all(c.reversible for c in changes):
            return
        for change in reversed(changes):
            self.world.undo(change)
        event(f"undid {len(changes)} change(s)")
        assert self.world.digest() == digest_before

    @rule()
    def fork(self):
        self.forks.append((self.world.fork(), self.world.digest()))

    @precondition(lambda self: self.forks)
    @rule(data=st.data())
    def switch_to_fork(self, data):
        """Continue in a fork; the world we leave keeps its state (it becomes a checked fork)."""
        index = data.draw(st.integers(0, len(self.forks) - 1))
        fork, _ = self.forks.pop(index)
        self.forks.append((self.world, self.world.digest()))
        self.world = fork
        self.last_op = None

    @rule()
    def reset_a_fork(self):
        scratch = self.world.fork()
        scratch.reset()
        assert scratch.digest() == BASE_DIGEST and len(scratch.journal) == 0
        assert content(scratch) == BASE_CONTENT

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def ids_unique(self):
        for _, table in self.world._tables():
            ids = list(table.ids())
            assert len(ids) == len(set(ids)) == len(table)

    @invariant()
    def journal_replays_to_the_same_state(self):
        rebuilt = BASE.pristine()
        for change in self.world.journal:
            rebuilt.apply_change(change)
        assert rebuilt.digest() == self.world.digest()
        assert content(rebuilt) == content(self.world)
        for change in self.world.journal:
            assert rebuilt.version_of(change.entity) == self.world.version_of(change.entity)

    @invariant()
    def digest_agrees_with_content(self):
        assert (self.world.digest() == BASE_DIGEST) == (content(self.world) == BASE_CONTENT)

    @invariant()
    def forks_and_base_are_isolated(self):
        assert BASE.digest() == BASE_DIGEST and len(BASE.journal) == 0
        for fork, digest in self.forks:
            assert fork.digest() == digest

    def teardown(self):
        assert content(BASE) == BASE_CONTENT


WorldMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
test_world_machine = WorldMachine.TestCase
