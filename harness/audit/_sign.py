"""Signed digests: an Ed25519 signature over each closed log's head, in the manner of CloudTrail.

When a run's log closes, the harness writes ``<log>.digest.json`` next to it: the run id, the log's
file name, the number of events, the head hash and the SHA-256 of the whole file, signed with the
harness's private key. The key is generated on first use (``$HARNESS_HOME/keys/audit-ed25519.pem``,
readable by its owner only) and never leaves the harness process; anyone holding the public key
(``audit-ed25519.pub``, or ``harness audit verify --public-key FILE``) can check that a log is the
one the harness closed, without the ledger. A log edited and re-chained after the fact no longer
matches its signed digest, and a digest cannot be forged without the private key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import UsageError

DIGEST_SUFFIX = ".digest.json"
_FIELDS = ("run_id", "log", "events", "head", "sha256", "signed_at", "key_id")


def key_paths(home: Path | None = None) -> tuple[Path, Path]:
    """(private key, public key) files: ``$HARNESS_HOME/keys/audit-ed25519.{pem,pub}``."""
    from harness.config import data_dir

    folder = (home or data_dir()) / "keys"
    return folder / "audit-ed25519.pem", folder / "audit-ed25519.pub"


def digest_path(log: Path) -> Path:
    return Path(log).with_name(Path(log).name + DIGEST_SUFFIX)


def _payload(fields: dict) -> bytes:
    return json.dumps({k: fields[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


class Signer:
    """Holds the private key (in the harness process only) and signs closed logs."""

    def __init__(self, private_key) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key = private_key
        self.public_raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = _key_id(self.public_raw)

    @classmethod
    def load_or_create(cls, home: Path | None = None) -> Signer:
        """The harness's signing key, generated (owner-only permissions) the first time it is needed."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
            PublicFormat,
            load_pem_private_key,
        )

        private, public = key_paths(home)
        if private.is_file():
            try:
                key = load_pem_private_key(private.read_bytes(), password=None)
            except (ValueError, TypeError) as exc:
                raise UsageError(f"the audit signing key {private} cannot be read: {exc}.",
                                 expected="the PEM file the harness generated (move it away to make a new one)"
                                 ) from None
            if not isinstance(key, Ed25519PrivateKey):
                raise UsageError(f"the audit signing key {private} is not an Ed25519 key.",
                                 expected="the PEM file the harness generated")
            return cls(key)
        key = Ed25519PrivateKey.generate()
        private.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        tmp = private.with_name(f".{private.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        try:
            os.link(tmp, private)  # never overwrite a key another process made meanwhile
        except FileExistsError:
            os.unlink(tmp)
            return cls.load_or_create(home)
        os.unlink(tmp)
        public.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
        return cls(key)

    def sign_log(self, log: Path, run_id: str, head: str) -> Path:
        """Write ``<log>.digest.json`` for a closed log; returns its path."""
        log = Path(log)
        data = log.read_bytes()
        fields = {"run_id": run_id, "log": log.name, "events": data.count(b"\n"), "head": head,
                  "sha256": hashlib.sha256(data).hexdigest(),
                  "signed_at": datetime.now(UTC).isoformat(timespec="seconds"), "key_id": self.key_id}
        fields["signature"] = base64.b64encode(self._key.sign(_payload(fields))).decode("ascii")
        fields["algorithm"] = "ed25519"
        out = digest_path(log)
        out.write_text(json.dumps(fields, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        return out


@dataclass(frozen=True)
class DigestCheck:
    """What a signed digest says about a log. ``present`` False: there is no digest file."""

    present: bool
    ok: bool
    reason: str
    head: str | None = None
    run_id: str | None = None


def load_public_key(path: Path | None = None):
    """The public key to check digests with: ``path``, else the harness's own (None if there is none)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    chosen = Path(path) if path is not None else key_paths()[1]
    if not chosen.is_file():
        if path is not None:
            raise UsageError(f"--public-key {chosen}: no such file.", field="--public-key",
                             expected="the audit-ed25519.pub file of the harness that wrote the logs")
        return None
    try:
        key = load_pem_public_key(chosen.read_bytes())
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{chosen} is not a PEM public key: {exc}.", field="--public-key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{chosen} is not an Ed25519 public key.", field="--public-key")
    return key


def check_digest(log: Path, data: bytes, public_key) -> DigestCheck:
    """Check ``<log>.digest.json`` against the log's bytes and the public key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    path = digest_path(log)
    if not path.is_file():
        return DigestCheck(False, False, "no signed digest")
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        signature = base64.b64decode(fields["signature"], validate=True)
        payload = _payload(fields)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return DigestCheck(True, False, f"the signed digest {path.name} is malformed")
    if public_key is None:
        return DigestCheck(True, False, "a signed digest exists but there is no public key to check it "
                                        "(pass --public-key)", fields.get("head"), fields.get("run_id"))
    key_id = _key_id(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    try:
        public_key.verify(signature, payload)
    except InvalidSignature:
        why = ("it was signed with another key" if fields.get("key_id") != key_id
               else "the digest was altered after signing")
        return DigestCheck(True, False, f"the signed digest's signature does not verify ({why})",
                           fields.get("head"), fields.get("run_id"))
    if fields["sha256"] != hashlib.sha256(data).hexdigest():
        return DigestCheck(True, False, "the log's bytes differ from those the harness signed when it closed "
                                        "the log", fields["head"], fields["run_id"])
    return DigestCheck(True, True, f"signed digest verified (key {key_id})", fields["head"], fields["run_id"])
