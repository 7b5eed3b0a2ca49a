"""Data key wrapping, rotation and chunk sealing (recordings/crypto.py)."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordings import crypto
from recordings.crypto import (
    ChunkAuthenticationError,
    ChunkError,
    ChunkFormatError,
    ChunkOrderError,
    InvalidRecordingId,
    KeyShreddedError,
    UnknownKeyError,
    WrappedKeyError,
    new_wrapped_key,
    open_chunk,
    rewrap,
    rotate_wrapped_keys,
    seal_chunk,
    unwrap_data_key,
    wrap_data_key,
    wrapped_key_info,
)
from recordings.keys import generate_entry, parse_keyring

RID = "6f1c2d3e-0000-4000-8000-00000000abcd"


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- wrapped data keys ----------------------------------------------------------------------------


def test_wrap_unwrap_round_trip_names_key_and_recording(keyring):
    data_key, wrapped = new_wrapped_key(RID, keyring)
    assert len(data_key) == 32
    assert unwrap_data_key(wrapped, RID, keyring) == data_key
    assert wrapped_key_info(wrapped) == crypto.WrappedKeyInfo("k1", RID)
    assert data_key not in wrapped
    assert keyring.active.secret not in wrapped


def test_each_recording_gets_a_fresh_data_key(keyring):
    keys = {new_wrapped_key(f"r{i}", keyring)[0] for i in range(50)}
    assert len(keys) == 50


def test_uuid_recording_ids_are_accepted_in_canonical_form(keyring):
    rid = uuid.UUID(RID)
    data_key, wrapped = new_wrapped_key(rid, keyring)
    assert unwrap_data_key(wrapped, RID, keyring) == data_key


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", "a.b", "x" * 65, "r\x00"])
def test_unsafe_recording_ids_are_refused(keyring, bad):
    with pytest.raises(InvalidRecordingId):
        new_wrapped_key(bad, keyring)


def test_unknown_key_id_fails_clearly(keyring):
    _, wrapped = new_wrapped_key(RID, keyring)
    other = parse_keyring([generate_entry("k9"), generate_entry("k8")])
    with pytest.raises(
        UnknownKeyError, match=r"master key 'k1', which is not in RECORDING_KEYS \(configured: k9, k8\)"
    ):
        unwrap_data_key(wrapped, RID, other)


def test_same_key_id_with_different_secret_fails_authentication(keyring):
    _, wrapped = new_wrapped_key(RID, keyring)
    impostor = parse_keyring([generate_entry("k1")])
    with pytest.raises(WrappedKeyError, match="failed authentication under master key 'k1'"):
        unwrap_data_key(wrapped, RID, impostor)


def test_wrapped_key_of_another_recording_is_refused(keyring):
    _, wrapped = new_wrapped_key("rec-a", keyring)
    with pytest.raises(WrappedKeyError, match="belongs to recording rec-a, not to recording rec-b"):
        unwrap_data_key(wrapped, "rec-b", keyring)


def test_every_single_bit_flip_of_a_wrapped_key_is_detected(keyring):
    _, wrapped = new_wrapped_key("rec-1", keyring)
    for bit in range(len(wrapped) * 8):
        with pytest.raises(WrappedKeyError):
            unwrap_data_key(_flip(wrapped, bit), "rec-1", keyring)


def test_truncated_or_empty_wrapped_keys(keyring):
    _, wrapped = new_wrapped_key(RID, keyring)
    with pytest.raises(WrappedKeyError, match="malformed"):
        unwrap_data_key(wrapped[:-1], RID, keyring)
    with pytest.raises(KeyShreddedError, match="destroyed"):
        unwrap_data_key(b"", RID, keyring)


# --- rotation -------------------------------------------------------------------------------------


def test_rewrap_moves_the_data_key_to_the_new_first_key(keyring):
    data_key, wrapped = new_wrapped_key(RID, keyring)
    chunk = seal_chunk(data_key, RID, 0, b'[{"a":1}]', final=True)
    rotated = parse_keyring([generate_entry("k2"), *(f"k1:{_b64(keyring.active.secret)}",)])
    new = rewrap(wrapped, rotated)
    assert wrapped_key_info(new).key_id == "k2"
    assert new != wrapped
    # The old key can leave the ring once everything is re-wrapped; chunks were never touched.
    only_new = parse_keyring([f"k2:{_b64(rotated.active.secret)}"])
    assert unwrap_data_key(new, RID, only_new) == data_key
    assert open_chunk(unwrap_data_key(new, RID, only_new), RID, 0, chunk).payload == b'[{"a":1}]'
    with pytest.raises(UnknownKeyError):
        unwrap_data_key(wrapped, RID, only_new)


def test_rewrap_is_a_no_op_for_current_and_shredded_keys(keyring):
    _, wrapped = new_wrapped_key(RID, keyring)
    assert rewrap(wrapped, keyring) == wrapped
    assert rewrap(b"", keyring) == b""


def test_rewrap_still_verifies_a_current_key(keyring):
    _, wrapped = new_wrapped_key(RID, keyring)
    with pytest.raises(WrappedKeyError):
        rewrap(_flip(wrapped, len(wrapped) * 8 - 1), keyring)


def test_rotate_wrapped_keys_reports_and_is_resumable(keyring):
    rotated = parse_keyring([generate_entry("k2"), f"k1:{_b64(keyring.active.secret)}"])
    old = {f"r{i}": new_wrapped_key(f"r{i}", keyring)[1] for i in range(3)}
    current = new_wrapped_key("r-new", rotated)[1]
    rows = [*old.items(), ("r-new", current), ("r-gone", b""), ("r-bad", _flip(old["r0"], 8 * 40))]
    report = crypto.RotationReport()
    updates = dict(rotate_wrapped_keys(rows, rotated, report))
    assert sorted(updates) == ["r0", "r1", "r2"]
    assert all(wrapped_key_info(w).key_id == "k2" for w in updates.values())
    assert (report.rewrapped, report.current, report.shredded) == (3, 1, 1)
    assert list(report.failed) == ["r-bad"]
    second = crypto.RotationReport()
    again = [(ref, updates.get(ref, wrapped)) for ref, wrapped in rows if ref != "r-bad"]
    assert list(rotate_wrapped_keys(again, rotated, second)) == []
    assert second.current == 4


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


# --- chunks ---------------------------------------------------------------------------------------


def test_chunk_round_trip_is_compressed_and_carries_the_final_flag(keyring):
    data_key, _ = new_wrapped_key(RID, keyring)
    payload = orjson.dumps([{"type": 3, "data": {"source": 1, "x": i}} for i in range(2000)])
    blob = seal_chunk(data_key, RID, 7, payload, final=True)
    assert len(blob) < len(payload) / 4  # gzip before encryption
    opened = open_chunk(data_key, RID, 7, blob)
    assert (opened.index, opened.final, opened.payload) == (7, True, payload)
    assert open_chunk(data_key, RID, 3, seal_chunk(data_key, RID, 3, b"[]", final=False)).final is False


def test_same_plaintext_never_encrypts_the_same_way(keyring):
    data_key, _ = new_wrapped_key(RID, keyring)
    first = seal_chunk(data_key, RID, 0, b"[1]", final=False)
    second = seal_chunk(data_key, RID, 0, b"[1]", final=False)
    assert first != second
    assert (
        first[crypto.CHUNK_HEADER_BYTES - 12 : crypto.CHUNK_HEADER_BYTES]
        != second[crypto.CHUNK_HEADER_BYTES - 12 : crypto.CHUNK_HEADER_BYTES]
    )


def test_every_single_bit_flip_of_a_chunk_is_detected(keyring):
    data_key, _ = new_wrapped_key(RID, keyring)
    blob = seal_chunk(data_key, RID, 2, b'[{"type":3,"data":{"text":"****"}}]', final=False)
    for bit in range(len(blob) * 8):
        with pytest.raises(ChunkError) as info:
            open_chunk(data_key, RID, 2, _flip(blob, bit))
        assert info.value.index == 2


def test_flips_are_reported_by_part(keyring):
    data_key, _ = new_wrapped_key(RID, keyring)
    blob = seal_chunk(data_key, RID, 2, b"[]", final=False)
    header = crypto.CHUNK_HEADER_BYTES
    with pytest.raises(ChunkAuthenticationError, match=f"recording {RID} chunk 2: authentication failed"):
        open_chunk(data_key, RID, 2, _flip(blob, 8 * (header + 3)))  # ciphertext
    with pytest.raises(ChunkAuthenticationError):
        open_chunk(data_key, RID, 2, _flip(blob, 8 * (header - 1)))  # nonce
    with pytest.raises(ChunkAuthenticationError):
        open_chunk(data_key, RID, 2, _flip(blob, 8 * 4))  # final flag set on a non-final chunk
    with pytest.raises(ChunkFormatError, match="unknown flags"):
        open_chunk(data_key, RID, 2, _flip(blob, 8 * 4 + 3))
    with pytest.raises(ChunkFormatError, match="format marker"):
        open_chunk(data_key, RID, 2, _flip(blob, 0))
    with pytest.raises(ChunkFormatError, match="shorter than any chunk"):
        open_chunk(data_key, RID, 2, blob[:20])


def test_chunk_at_the_wrong_index_is_named(keyring):
    data_key, _ = new_wrapped_key(RID, keyring)
    blob = seal_chunk(data_key, RID, 5, b"[]", final=False)
    with pytest.raises(ChunkOrderError, match="chunk 4: stored at position 4 but written as chunk 5"):
        open_chunk(data_key, RID, 4, blob)


def test_chunk_from_another_recording_is_refused_even_with_a_forged_header(keyring):
    key_a, _ = new_wrapped_key("rec-a", keyring)
    blob = seal_chunk(key_a, "rec-b", 0, b"[]", final=True)  # same key, other recording
    with pytest.raises(ChunkOrderError, match="belongs to another recording"):
        open_chunk(key_a, "rec-a", 0, blob)
    forged = blob[:9] + crypto.recording_tag("rec-a") + blob[17:]
    with pytest.raises(ChunkAuthenticationError):
        open_chunk(key_a, "rec-a", 0, forged)


def test_chunk_under_another_data_key_fails(keyring):
    key_a, _ = new_wrapped_key(RID, keyring)
    key_b, _ = new_wrapped_key(RID, keyring)
    with pytest.raises(ChunkAuthenticationError):
        open_chunk(key_b, RID, 0, seal_chunk(key_a, RID, 0, b"[]", final=True))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(events=st.lists(json_values, max_size=30), index=st.integers(0, 2**32 - 1), final=st.booleans())
def test_any_event_list_round_trips(events, index, final):
    data_key = crypto.new_data_key()
    payload = orjson.dumps(events)
    opened = open_chunk(data_key, "prop", index, seal_chunk(data_key, "prop", index, payload, final=final))
    assert orjson.loads(opened.payload) == events
    assert (opened.index, opened.final) == (index, final)


def test_wrap_refuses_a_wrong_size_data_key(keyring):
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_data_key(b"short", RID, keyring)
