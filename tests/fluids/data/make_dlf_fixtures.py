#!/usr/bin/env python3
"""Writes the tiny original-format fixtures of test_dataset_file.cpp without msgpack or numpy.

The bytes follow the msgpack spec and the layout of DLF's record tool (a list of frame dicts,
arrays through msgpack-numpy); zstd compression comes from the zstd command line tool reading
stdin, so the frame carries no content size, like python-zstandard's stream writer.

  dlf_current.msgpack.zst  msgpack >= 1.0, msgpack-numpy >= 0.4.6: bin keys in array maps,
                           empty bin 'kind', np.int64 frame ids
  dlf_legacy.msgpack.zst   use_bin_type=False packers: every byte string packed as str, no
                           'kind', plain int frame ids

Run from this directory: python3 make_dlf_fixtures.py
"""
import struct
import subprocess


def mp_str(s):
    b = s.encode() if isinstance(s, str) else s
    assert len(b) < 256
    return (bytes([0xa0 | len(b)]) if len(b) < 32 else b'\xd9' + bytes([len(b)])) + b


def mp_bin(b):
    assert len(b) < 256
    return b'\xc4' + bytes([len(b)]) + b


def mp_uint(v):
    assert 0 <= v < 128
    return bytes([v])


def mp_map(pairs):
    assert len(pairs) < 16
    return bytes([0x80 | len(pairs)]) + b''.join(k + v for k, v in pairs)


def mp_array(items):
    assert len(items) < 16
    return bytes([0x90 | len(items)]) + b''.join(items)


def nd_array(rows, legacy):
    flat = [x for r in rows for x in r] if isinstance(rows[0], list) else rows
    shape = [len(rows), len(rows[0])] if isinstance(rows[0], list) else [len(rows)]
    data = struct.pack('<%df' % len(flat), *flat)
    key = mp_str if legacy else mp_bin
    pairs = [(key(b'nd'), b'\xc3'), (key(b'type'), mp_str('<f4'))]
    if not legacy:
        pairs.append((key(b'kind'), mp_bin(b'')))
    pairs.append((key(b'shape'), mp_array([mp_uint(d) for d in shape])))
    pairs.append((key(b'data'), (mp_str if legacy else mp_bin)(data)))
    return mp_map(pairs)


def int64_scalar(v, legacy):
    key = mp_str if legacy else mp_bin
    return mp_map([(key(b'nd'), b'\xc2'), (key(b'type'), mp_str('<i8')),
                   (key(b'data'), (mp_str if legacy else mp_bin)(struct.pack('<q', v)))])


def frames(legacy):
    box = [[-1.0, 0.0, 0.5], [1.0, 0.25, -0.5]]
    normals = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    out = []
    for f in range(2):
        pos = [[i + 0.5 * f, 1.0 - 0.25 * i, -0.125 * f] for i in range(3)]
        vel = [[0.5 * i, -0.25 * f, 2.0] for i in range(3)]
        pairs = []
        if f == 0:
            pairs += [(mp_str('box'), nd_array(box, legacy)),
                      (mp_str('box_normals'), nd_array(normals, legacy))]
        pairs += [(mp_str('frame_id'), mp_uint(f) if legacy else int64_scalar(f, legacy)),
                  (mp_str('scene_id'), mp_str('sim_0000')),
                  (mp_str('pos'), nd_array(pos, legacy)),
                  (mp_str('vel'), nd_array(vel, legacy)),
                  (mp_str('m'), nd_array([0.125] * 3, legacy)),
                  (mp_str('viscosity'), nd_array([0.0, 0.5, 0.5], legacy))]
        out.append(mp_map(pairs))
    return mp_array(out)


for name, legacy in (('dlf_current.msgpack.zst', False), ('dlf_legacy.msgpack.zst', True)):
    packed = subprocess.run(['zstd', '-19', '-q', '-c'], input=frames(legacy),
                            stdout=subprocess.PIPE, check=True).stdout
    with open(name, 'wb') as f:
        f.write(packed)
