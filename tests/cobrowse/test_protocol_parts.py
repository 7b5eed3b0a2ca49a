import json

import pytest

from cobrowse import protocol


def test_split_and_reassemble_round_trip():
    envelope = {"type": "rrweb", "seq": 4, "ts": 1, "data": {"events": [{"t": "é" * 3000 + "x" * 9000}]}}
    text = protocol.encode(envelope)
    parts = protocol.split_parts(text, "abc", 4, body_max=1000)
    assembler = protocol.PartAssembler()
    results = [assembler.add(protocol.parse_message(json.dumps(p), protocol.CUSTOMER).data) for p in parts]
    assert all(r is None for r in results[:-1])
    assert json.loads(results[-1]) == envelope


def test_out_of_order_part_drops_the_message_with_a_clear_error():
    parts = protocol.split_parts("y" * 5000, "abc", 1, body_max=1000)
    assembler = protocol.PartAssembler()
    assembler.add(parts[0]["data"])
    with pytest.raises(protocol.ProtocolError) as exc:
        assembler.add(parts[2]["data"])
    assert exc.value.code == "bad_part"


def test_assembled_size_is_bounded():
    assembler = protocol.PartAssembler(max_total=2500)
    parts = protocol.split_parts("z" * 5000, "abc", 1, body_max=1000)
    assembler.add(parts[0]["data"])
    assembler.add(parts[1]["data"])
    with pytest.raises(protocol.ProtocolError) as exc:
        assembler.add(parts[2]["data"])
    assert exc.value.code == "too_large"


@pytest.mark.parametrize(
    "data",
    [
        {"id": "a", "index": 2, "count": 2, "body": "x"},  # index beyond count
        {"id": "a", "index": 0, "count": 0, "body": "x"},
        {"id": "a", "index": 0, "count": 65, "body": "x"},
        {"id": "", "index": 0, "count": 1, "body": "x"},
        {"id": "a", "index": 0, "count": 1, "body": "x" * (protocol.PART_BODY_MAX + 1)},
    ],
)
def test_invalid_parts_are_refused(data):
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_message({"type": "part", "seq": 0, "ts": 0, "data": data}, protocol.CUSTOMER)
