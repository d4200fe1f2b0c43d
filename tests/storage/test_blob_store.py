"""The blob store on disk: blobs only under their own hash, damaged ones forgotten, atomic
writes, and the handle of a download in progress."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lowband.storage.blobs import BlobError, BlobStore, short_id, write_atomic
from lowband.storage.store import Store


@pytest.fixture
def blobs(tmp_path: Path) -> Iterator[BlobStore]:
    with Store(tmp_path / "store.sqlite") as store:
        yield BlobStore(store)


def test_a_blob_is_stored_only_under_its_own_hash(blobs: BlobStore) -> None:
    data = b"Resolution 167 (Rev. Bucharest, 2022)\n" * 100
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(BlobError, match="does not match its SHA-256"):
        blobs.put(data + b"x", sha)
    assert not blobs.has(sha) and not blobs.path(sha).exists()
    blobs.put(data, sha)
    assert blobs.has(sha) and blobs.read(sha) == data
    assert blobs.path(sha).parent.name == sha[:2]
    assert blobs.resolve(short_id(sha)) == sha and blobs.resolve("0" * 16) is None
    assert list(blobs.tmp.iterdir()) == []


def test_a_damaged_blob_is_forgotten_not_served(blobs: BlobStore) -> None:
    data = os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    blobs.put(data, sha)
    blobs.path(sha).write_bytes(data[:-1] + b"\0")
    with pytest.raises(BlobError, match="missing or damaged"):
        blobs.read(sha)
    assert not blobs.has(sha)


def test_write_atomic_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "documents" / "pp26" / "draft-r1.txt"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two" and os.listdir(target.parent) == ["draft-r1.txt"]


def test_a_partial_download_is_found_again_by_its_name_and_dropped_whole(
    blobs: BlobStore,
) -> None:
    target, etag = "ab" * 32, "0123456789abcdef"
    assert blobs.partial(target) is None
    part = blobs.start_partial(target, etag, 10)
    part.path.write_bytes(b"12345")
    again = blobs.partial(target)  # as a restarted process finds it
    assert again == part and (again.held, again.total, again.complete) == (5, 10, False)
    part.path.write_bytes(b"1234567890")
    assert part.complete
    blobs.drop_partial(target)
    assert blobs.partial(target) is None and part.held == 0
