"""Independent reader for TensorBoard event files: the oracle of test/fixtures/tensorboard.json.

It shares no code with the TypeScript writer: TFRecord framing is parsed with struct, the masked CRC32C is computed
bit by bit here (the writer uses @aws-crypto/crc32c's table), and the Event message is decoded by Debian's
python3-protobuf from descriptors built below with TensorFlow's field numbers (event.proto, summary.proto,
tensor.proto, tensor_shape.proto), where the writer encodes with protobufjs.
Run: /usr/bin/python3 scripts/read_tfevents.py test/fixtures/sample.tfevents > test/fixtures/tensorboard.json
"""
import json
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def message(name, fields, nested=()):
    m = descriptor_pb2.DescriptorProto(name=name)
    for field_name, number, kind, label, type_name, oneof in fields:
        f = m.field.add(name=field_name, number=number, type=kind, label=label)
        if type_name:
            f.type_name = type_name
        if oneof is not None:
            f.oneof_index = oneof
    m.nested_type.extend(nested)
    return m


OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
file = descriptor_pb2.FileDescriptorProto(name="tb.proto", package="tb", syntax="proto3")
event = message("Event", [
    ("wall_time", 1, F.TYPE_DOUBLE, OPT, None, None),
    ("step", 2, F.TYPE_INT64, OPT, None, None),
    ("file_version", 3, F.TYPE_STRING, OPT, None, 0),
    ("summary", 5, F.TYPE_MESSAGE, OPT, ".tb.Summary", 0),
])
event.oneof_decl.add(name="what")
value = message("Value", [
    ("tag", 1, F.TYPE_STRING, OPT, None, None),
    ("metadata", 9, F.TYPE_MESSAGE, OPT, ".tb.SummaryMetadata", None),
    ("simple_value", 2, F.TYPE_FLOAT, OPT, None, 0),
    ("tensor", 8, F.TYPE_MESSAGE, OPT, ".tb.TensorProto", 0),
])
value.oneof_decl.add(name="value")
summary = message("Summary", [("value", 1, F.TYPE_MESSAGE, REP, ".tb.Summary.Value", None)], [value])
plugin = message("PluginData", [
    ("plugin_name", 1, F.TYPE_STRING, OPT, None, None),
    ("content", 2, F.TYPE_BYTES, OPT, None, None),
])
metadata = message("SummaryMetadata", [("plugin_data", 1, F.TYPE_MESSAGE, OPT, ".tb.SummaryMetadata.PluginData", None)],
                   [plugin])
dim = message("Dim", [("size", 1, F.TYPE_INT64, OPT, None, None)])
shape = message("TensorShapeProto", [("dim", 2, F.TYPE_MESSAGE, REP, ".tb.TensorShapeProto.Dim", None)], [dim])
tensor = message("TensorProto", [
    ("dtype", 1, F.TYPE_INT32, OPT, None, None),
    ("tensor_shape", 2, F.TYPE_MESSAGE, OPT, ".tb.TensorShapeProto", None),
    ("string_val", 8, F.TYPE_BYTES, REP, None, None),
])
file.message_type.extend([event, summary, metadata, shape, tensor])
pool = descriptor_pool.DescriptorPool()
pool.Add(file)
Event = message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName("tb.Event"))


def read(path):
    data = open(path, "rb").read()
    pos, events = 0, []
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        assert header_crc == masked(header), f"record at byte {pos}: bad length CRC"
        body = data[pos + 12:pos + 12 + length]
        (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        assert body_crc == masked(body), f"record at byte {pos}: bad data CRC"
        pos += 16 + length
        e = Event()
        e.ParseFromString(body)
        out = {"wall_time": e.wall_time, "step": e.step}
        if e.WhichOneof("what") == "file_version":
            out["file_version"] = e.file_version
        for v in e.summary.value:
            if v.WhichOneof("value") == "simple_value":
                out.setdefault("scalars", []).append({"tag": v.tag, "value": v.simple_value})
            else:
                out.setdefault("texts", []).append({
                    "tag": v.tag,
                    "plugin": v.metadata.plugin_data.plugin_name,
                    "dtype": v.tensor.dtype,
                    "shape": [d.size for d in v.tensor.tensor_shape.dim],
                    "text": [s.decode("utf-8") for s in v.tensor.string_val],
                })
        events.append(out)
    return events


print(json.dumps(read(sys.argv[1]), indent=1))
