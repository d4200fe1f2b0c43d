"""Office documents (lowband.docs): normalisation, byte-identical rebuilds, deltas, zip bombs."""

from __future__ import annotations

import hashlib
import io
import random
import subprocess
import sys
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lowband.documents.delta.delta import DeltaError, encode_delta
from lowband.documents.office.delta import apply_office_delta, office_delta
from lowband.documents.office.form import BIG
from lowband.documents.office.normalise import OfficeError, normalise, repack, unpack

WORDS = "the delegation of Kenya proposed remote participation rights for every member".split()
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
    'openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
    'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http'
    '://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target='
    '"word/document.xml"/></Relationships>'
)


def paragraphs(seed: int, count: int = 150) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 40))) for _ in range(count)]


def document_xml(paras: list[str]) -> str:
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{p}</w:t></w:r></w:p>' for p in paras)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://'
        f'schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body>'
        "</w:document>"
    )


def docx(
    paras: list[str], when: tuple[int, int, int, int, int, int], level: int = 9, rev: int = 1
) -> bytes:
    """A small real .docx as an editor saves it: its own member order, time and compression."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in [
            ("word/document.xml", document_xml(paras)),
            ("_rels/.rels", RELS),
            ("[Content_Types].xml", CONTENT_TYPES),
            ("docProps/core.xml", f"<cp:coreProperties><cp:revision>{rev}</cp:revision>"),
        ]:
            info = zipfile.ZipInfo(name, when)
            zf.writestr(info, text, compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
    return buf.getvalue()


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_normalised_file_is_reproducible_from_its_members() -> None:
    raw = docx(paragraphs(1), (2026, 3, 4, 10, 20, 30))
    norm = normalise(raw)
    assert repack(unpack(norm)) == norm
    assert normalise(norm) == norm
    assert sorted(unpack(norm)) == sorted(unpack(raw))
    with zipfile.ZipFile(io.BytesIO(norm)) as zf:
        assert zf.testzip() is None
        assert zf.namelist()[0] == "[Content_Types].xml"
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_normalising_ignores_how_the_editor_saved() -> None:
    members = unpack(docx(paragraphs(2), (2026, 1, 1, 0, 0, 0)))
    again = docx(paragraphs(2), (2027, 5, 6, 7, 8, 10), level=1)
    assert normalise(again) == repack(reversed(members))


def test_a_big_member_is_deflated_in_pieces_and_rebuilt_byte_for_byte() -> None:
    paras = paragraphs(7, 10000)  # a word/document.xml of about 2.3 MB: three pieces
    norm = normalise(docx(paras, (2026, 3, 4, 10, 20, 30)))
    members = dict(unpack(norm))
    assert len(members["word/document.xml"]) > 2 * BIG
    with zipfile.ZipFile(io.BytesIO(norm)) as zf:  # one valid deflate stream, right CRC
        assert zf.testzip() is None
        assert zf.read("word/document.xml") == members["word/document.xml"]
    assert repack(unpack(norm)) == norm
    edited = paras[:4000] + ["a new paragraph agreed in session"] + paras[4000:]
    new = normalise(docx(edited, (2026, 3, 5, 9, 0, 0)))
    delta = office_delta(new, {"r1": norm})
    assert len(delta.data) < 400
    assert (
        apply_office_delta(delta.data, {"r1": norm}, max_size=len(new), expected_sha256=sha(new))
        == new
    )


def test_odf_keeps_mimetype_first_and_stored() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("content.xml", "<office:document-content/>")
        zf.writestr("Configurations2/", b"")
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    norm = normalise(buf.getvalue())
    assert norm[30:38] == b"mimetype" and norm[38:].startswith(b"application/vnd.oasis")
    with zipfile.ZipFile(io.BytesIO(norm)) as zf:
        assert zf.infolist()[0].compress_type == zipfile.ZIP_STORED
    assert repack(unpack(norm)) == norm


def test_office_delta_is_far_smaller_than_a_byte_delta_of_the_zip() -> None:
    old_paras = paragraphs(3)
    new_paras = list(old_paras)
    new_paras[70] = new_paras[70].replace("Kenya", "Kenya and Ghana", 1) + " As amended."
    old_raw = docx(old_paras, (2026, 3, 4, 10, 0, 0))
    new_raw = docx(new_paras, (2026, 3, 4, 11, 30, 0), rev=2)
    byte_delta = encode_delta(new_raw, {"prev": old_raw})
    old, new = normalise(old_raw), normalise(new_raw)
    delta = office_delta(new, {"prev": old})
    assert delta.base_id == "prev"
    assert len(delta.data) * 10 < len(byte_delta.data)
    rebuilt = apply_office_delta(
        delta.data, {"prev": old}, max_size=len(new), expected_sha256=sha(new)
    )
    assert rebuilt == new


def test_first_fetch_and_wrong_hash() -> None:
    new = normalise(docx(paragraphs(4), (2026, 1, 2, 3, 4, 6)))
    delta = office_delta(new, {})
    assert len(delta.data) < len(new)
    assert apply_office_delta(delta.data, {}, max_size=len(new), expected_sha256=sha(new)) == new
    with pytest.raises(DeltaError, match="SHA-256"):
        apply_office_delta(delta.data, {}, max_size=len(new), expected_sha256=sha(b"x"))
    with pytest.raises(DeltaError, match="larger than allowed"):
        apply_office_delta(delta.data, {}, max_size=len(new) - 1)


def test_refuses_to_delta_a_file_that_is_not_normalised() -> None:
    raw = docx(paragraphs(5), (2026, 1, 2, 3, 4, 6))
    with pytest.raises(OfficeError, match="not a normalised"):
        office_delta(raw, {})


def test_zip_bombs_and_too_many_members_are_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"\0" * 2_000_000)
    assert len(buf.getvalue()) < 10_000
    with pytest.raises(OfficeError, match="zip bomb"):
        normalise(buf.getvalue(), max_total=1_000_000)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(11):
            zf.writestr(f"part{i}.xml", b"<a/>")
    with pytest.raises(OfficeError, match="at most 10"):
        normalise(many.getvalue(), max_members=10)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_zips_and_deltas_raise_only_their_errors(data: st.DataObject) -> None:
    old = normalise(docx(paragraphs(6, 20), (2026, 1, 1, 0, 0, 0)))
    new = normalise(docx(paragraphs(6, 21), (2026, 1, 1, 0, 0, 2)))
    for blob, decode in [
        (new, lambda b: normalise(b)),
        (
            office_delta(new, {"o": old}).data,
            lambda b: apply_office_delta(b, {"o": old}, max_size=len(new)),
        ),
    ]:
        at = data.draw(st.integers(0, len(blob) - 1))
        bad = blob[:at] + bytes([blob[at] ^ data.draw(st.integers(1, 255))]) + blob[at + 1 :]
        try:
            decode(bad)
        except (OfficeError, DeltaError):
            pass


def test_delta_and_office_modules_import_no_io_library() -> None:
    code = (
        "import sys, lowband.documents.delta.delta, lowband.documents.office.delta; "
        "print(' '.join(m for m in ('asyncio', 'httpx', 'sqlite3', 'textual', 'starlette', 'av')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
