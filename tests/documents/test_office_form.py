"""Office form 2 and normal form 2: member-level deltas, content-defined pieces, bounded decoding."""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_office import document_xml, docx, paragraphs

from lowband.documents.delta.copyinsert import write_varint
from lowband.documents.delta.delta import DeltaError
from lowband.documents.forms import decode_form, encode_form
from lowband.documents.office import delta as od
from lowband.documents.office import plan as office_plan
from lowband.documents.office.form import BIG, Entry, crc32_combine, whole
from lowband.documents.office.normalise import normalise, repack, unpack
from lowband.documents.office.zip import pack_entries, read_entries


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rebuild(new: bytes, bases: dict[str, bytes]) -> bytes:
    form = od.office_delta(new, bases)
    return od.apply_office_delta(form.data, bases, max_size=len(new), expected_sha256=sha(new))


def entries(norm: bytes) -> dict[str, Entry]:
    return {e.name: e for e in read_entries(norm, max_total=1 << 30, max_members=100)}


def test_changed_unchanged_added_and_removed_members_rebuild_byte_for_byte() -> None:
    big = document_xml(paragraphs(8, 6000)).encode()
    old = repack([
        ("[Content_Types].xml", b"<Types/>"), ("word/document.xml", big),
        ("word/styles.xml", b"<styles>old</styles>"), ("word/removed.xml", b"<gone/>" * 50),
        ("docProps/core.xml", b"<core>1</core>"), ("mimetype", b"application/x-test"),
    ])  # fmt: skip
    new = repack([
        ("[Content_Types].xml", b"<Types/>"), ("word/document.xml", big),
        ("word/styles.xml", b"<styles>new</styles>"), ("word/added.xml", b"<gone/>" * 50),
        ("docProps/core.xml", b"<core>1</core>"), ("mimetype", b"application/x-test"),
    ])  # fmt: skip
    assert len(big) > BIG and rebuild(new, {"old": old}) == new
    assert rebuild(old, {"new": new}) == old
    assert rebuild(new, {}) == new  # a first fetch: every member added
    assert rebuild(new, {"same": new}) == new


def test_an_edit_in_the_middle_of_a_big_member_touches_only_its_pieces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paras = paragraphs(9, 16000)  # a document.xml of about 3.7 MB
    old = normalise(docx(paras, (2026, 3, 4, 10, 0, 0)))
    paras.insert(8000, "The delegation of Ghana proposed a new paragraph here.")
    new = normalise(docx(paras, (2026, 3, 4, 11, 0, 0), rev=2))
    before, after = entries(old)["word/document.xml"], entries(new)["word/document.xml"]
    assert len(after.pieces) >= 5
    assert len(set(after.pieces) - set(before.pieces)) <= 2  # content-defined cuts resynchronise
    inflated: list[int] = []
    real = office_plan.inflate
    monkeypatch.setattr(
        office_plan,
        "inflate",
        lambda data, size, **kw: inflated.append(size) or real(data, size, **kw),
    )
    form = od.office_delta(new, {"old": old})
    inflated.clear()
    got = od.apply_office_delta(
        form.data, {"old": old}, max_size=len(new), expected_sha256=sha(new)
    )
    assert got == new and len(form.data) < 400
    biggest = max(p.size for p in before.pieces)
    assert 0 < sum(inflated) <= 2 * biggest < after.size / 2  # only the held versions of the edit


def test_a_member_in_pieces_is_one_valid_deflate_stream_with_its_crc() -> None:
    members = [("word/document.xml", document_xml(paragraphs(3, 9000)).encode())]
    norm = repack(members)
    with zipfile.ZipFile(io.BytesIO(norm)) as zf:
        assert zf.testzip() is None and zf.read("word/document.xml") == members[0][1]
    assert len(entries(norm)["word/document.xml"].pieces) > 1
    assert repack(unpack(norm)) == norm and normalise(norm) == norm


@given(st.binary(max_size=300), st.binary(max_size=3000))
def test_crc32_combine_matches_zlib(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_a_zip_in_another_normal_form_goes_as_a_plain_delta() -> None:
    paras = paragraphs(4, 6000)
    prev = pack_entries([whole("word/document.xml", document_xml(paras).encode())])
    paras[3000] = "An amended paragraph."
    new = pack_entries([whole("word/document.xml", document_xml(paras).encode())])  # as form 1
    with pytest.raises(od.OfficeError, match="not a normalised"):
        od.office_delta(new, {"prev": prev})
    held = {"a" * 16: prev}
    form = encode_form(new, held)
    assert not od.is_office_form(form.data)  # a byte delta, as before normal form 2
    assert decode_form(form.data, held, max_size=len(new), expected_sha256=sha(new)) == new


def test_an_unknown_office_form_version_is_refused_in_one_sentence() -> None:
    new = normalise(docx(paragraphs(4), (2026, 1, 2, 3, 4, 6)))
    form = od.office_delta(new, {}).data
    with pytest.raises(
        DeltaError,
        match=r"^The office delta is of form version 1; this receiver knows only version 2\.$",
    ):
        decode_form(b"\x21" + form[1:], {}, max_size=len(new), expected_sha256=sha(new))


def plan_form(plan: bytearray, base_id: str, inner: bytes = b"\x10") -> bytes:
    size = bytearray()
    write_varint(size, len(plan))
    return bytes([od.TAG]) + od.write_id(base_id) + bytes(size) + plan + inner


def test_malformed_plans_are_refused_with_bounded_work() -> None:
    base = repack([("word/document.xml", document_xml(paragraphs(5, 6000)).encode())])
    held = {"b": base}
    many = bytearray()
    write_varint(many, 50_000 << 2 | office_plan.ADD)
    write_varint(many, 1)
    for _ in range(50_000):  # the same 300 KB piece copied 50,000 times: 15 GB
        write_varint(many, 0 << 1 | 1)
    past, small = bytearray(), bytearray()
    write_varint(past, 5 << 2 | office_plan.KEEP)  # the base has one member
    write_varint(small, 2 << 2 | office_plan.ADD)  # a 2-byte member made of a piece
    write_varint(small, 1)
    write_varint(small, 0 << 1 | 1)
    write_varint(small, 1 << 1)
    cases = [
        (plan_form(many, "b", b"\x10x"), "larger than allowed"),
        (plan_form(past, "b"), "past the base"),
        (plan_form(small, "b", b"\x10xy"), "larger than allowed|small member"),
        (plan_form(bytearray(b"\x80"), "b"), "plan is malformed"),
        (plan_form(bytearray(), "nope"), "not held"),
        (bytes([od.TAG, 0, 0x85]), "cut short"),
    ]
    for form, message in cases:
        with pytest.raises(DeltaError, match=message):
            od.apply_office_delta(form, held, max_size=len(base) * 2)


@cache
def big_pair() -> tuple[bytes, bytes, bytes]:
    paras = paragraphs(6, 6000)
    old = normalise(docx(paras, (2026, 1, 1, 0, 0, 0)))
    paras[3000] = "A paragraph amended in session."
    new = normalise(docx(paras, (2026, 1, 1, 0, 0, 2), rev=2))
    return old, new, od.office_delta(new, {"o": old}).data


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_damaged_forms_with_pieces_raise_only_delta_errors(data: st.DataObject) -> None:
    old, new, form = big_pair()
    at = data.draw(st.integers(0, len(form) - 1))
    bad = form[:at] + bytes([form[at] ^ data.draw(st.integers(1, 255))]) + form[at + 1 :]
    try:  # a damaged form is refused, or (if the damage is inert) still rebuilds the file
        got = od.apply_office_delta(bad, {"o": old}, max_size=len(new), expected_sha256=sha(new))
    except DeltaError:
        return
    assert got == new
