"""Bundles: one file (or HTTP body) per push, pull or enrolment.

    WARDKIT-SYNC\\n  <header: one line of JSON>\\n  <12-byte nonce><AES-256-GCM ciphertext>

The ciphertext is the gzip'd payload (JSON lines of changes, or one JSON object), sealed
under the kit's 256-bit enrolment key with the header bytes as associated data: a flipped
byte anywhere, or a header edited to name another kit, fails the tag before anything is
read (docs/ARCHITECTURE.md#sync).
"""
import gzip
import hashlib
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"WARDKIT-SYNC\n"
FORMAT = 1
KINDS = ("push", "pull", "ack", "join", "welcome")
MAX_HEADER = 4096


class BundleError(ValueError):
    """A bundle that cannot be read or verified; `reason` says why in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def code_key(code: str, salt: str) -> bytes:
    """Return the key a one-time enrolment code unlocks (scrypt: a short code must not be
    guessable offline from a captured bundle)."""
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    kdf = Scrypt(salt=salt.encode(), length=32, n=2 ** 15, r=8, p=1)
    return kdf.derive(normal.encode())


def seal(key: bytes, header: dict, payload: bytes) -> bytes:
    """Return the bundle of `payload` (bytes, gzip'd here) under `key` with `header`."""
    header = {"format": FORMAT, **header}
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, gzip.compress(payload, compresslevel=6), head)
    return MAGIC + head + b"\n" + nonce + sealed


def read_header(data: bytes) -> dict:
    """Return a bundle's header (not yet verified: use it only to find the key).

    :raises BundleError: when `data` is not a WardKit bundle.
    """
    if not data.startswith(MAGIC):
        raise BundleError("not a WardKit bundle")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER)
    if end < 0:
        raise BundleError("damaged header")
    try:
        header = json.loads(data[len(MAGIC):end])
    except ValueError:
        raise BundleError("damaged header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT \
            or header.get("kind") not in KINDS:
        raise BundleError("unknown bundle format")
    return header


def open_sealed(key: bytes, data: bytes) -> tuple[dict, bytes]:
    """Return (header, payload bytes) of a bundle sealed under `key`.

    :raises BundleError: "bad seal" when the tag does not verify (a changed byte, the
        wrong key, a header edited).
    """
    header = read_header(data)
    end = data.index(b"\n", len(MAGIC))
    head, body = data[len(MAGIC):end], data[end + 1:]
    if len(body) < 12 + 16:
        raise BundleError("damaged bundle")
    try:
        packed = AESGCM(key).decrypt(body[:12], body[12:], head)
        return header, gzip.decompress(packed)
    except (InvalidTag, OSError, EOFError):
        raise BundleError("bad seal") from None


def json_lines(items) -> bytes:
    """Return `items` as JSON lines."""
    return b"".join(json.dumps(i, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                    for i in items)


def read_lines(payload: bytes, *, digests: bool = False) -> list[dict]:
    """Return the objects of a JSON-lines payload; with `digests`, each gets "_d": the
    SHA-256 of its line as sent.

    :raises BundleError: when a line is not a JSON object.
    """
    try:
        lines = [line for line in payload.splitlines() if line.strip()]
        items = [json.loads(line) for line in lines]
    except ValueError:
        raise BundleError("damaged payload") from None
    if not all(isinstance(i, dict) for i in items):
        raise BundleError("damaged payload")
    if digests:
        for item, line in zip(items, lines):
            item["_d"] = hashlib.sha256(line).hexdigest()
    return items
