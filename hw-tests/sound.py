#!/usr/bin/env python3
"""Says whether a recording (QEMU's wav audio backend) has sound in it.

For each channel: the RMS level of its loudest 100 ms window and how many
seconds are above the floor, in dBFS. Prints a one-line summary (and writes
the figures as JSON to FILE with --json FILE); exit status 0
when at least one channel (or every channel of --need) is louder than --floor
dBFS RMS in some window, 1 when the recording is silence, 2 when it cannot be
read.

QEMU writes the wav header's sizes when it closes the file; a recording of a
QEMU that was killed has sizes of 0, so the data is taken up to the file's end.

--frames CHANNELS:RATE reads the data as frames of that many 16-bit channels
whatever the header says: without its mixing engine QEMU's wav backend writes
the guest's frames as they come under its own default header (stereo,
44.1 kHz), which is how a card of more than two channels gets recorded.

Usage: sound.py WAV [--floor DB] [--need 1,2,...] [--frames CHANNELS:RATE] [--json FILE]
"""
import array
import json
import math
import operator
import struct
import sys


def read_wav(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file ({len(raw)} bytes)")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(raw):
        tag, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        body = pos + 8
        if tag == b"fmt ":
            fmt = struct.unpack("<HHIIHH", raw[body:body + 16])
        elif tag == b"data":
            end = len(raw) if size == 0 or body + size > len(raw) else body + size
            data = raw[body:end]
            break
        pos = body + size + (size & 1)
    if fmt is None or data is None:
        raise ValueError(f"{path}: no fmt or data chunk")
    tag, channels, rate, _, align, bits = fmt
    if tag not in (1, 0xFFFE) or bits not in (16, 32):
        raise ValueError(f"{path}: format {tag}, {bits} bits: only 16/32-bit PCM")
    code = "h" if bits == 16 else "i"
    samples = array.array(code)
    whole = len(data) - len(data) % align
    samples.frombytes(data[:whole])
    if sys.byteorder != "little":
        samples.byteswap()
    return channels, rate, bits, samples


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if args else 2)
    path, floor, need, json_out, frames_as = args[0], -50.0, [], None, None
    i = 1
    while i < len(args):
        if args[i] == "--floor":
            floor = float(args[i + 1])
            i += 2
        elif args[i] == "--frames":
            c, r = args[i + 1].split(":")
            frames_as = (int(c), int(r))
            i += 2
        elif args[i] == "--json":
            json_out = args[i + 1]
            i += 2
        elif args[i] == "--need":
            need = [int(c) for c in args[i + 1].split(",") if c]
            i += 2
        else:
            sys.exit(f"sound.py: unknown argument {args[i]}")
    try:
        channels, rate, bits, samples = read_wav(path)
        if frames_as:
            if bits != 16:
                raise ValueError(f"{path}: --frames needs 16-bit data, the header says {bits}")
            channels, rate = frames_as
    except (OSError, ValueError, struct.error) as e:
        if json_out:
            with open(json_out, "w") as f:
                json.dump({"error": str(e)}, f)
        print(f"cannot read the recording: {e}")
        sys.exit(2)
    full = float(1 << (bits - 1))
    frames = len(samples) // channels
    window = max(1, rate // 10)
    per_channel = []
    for c in range(channels):
        best, loud = -math.inf, 0
        ch = samples[c:frames * channels:channels]
        for start in range(0, frames - window + 1, window):
            w = ch[start:start + window]
            acc = sum(map(operator.mul, w, w)) / (full * full)
            db = 10 * math.log10(acc / window) if acc > 0 else -math.inf
            best = max(best, db)
            if db > floor:
                loud += 1
        per_channel.append({"channel": c + 1,
                            "max_rms_dbfs": None if best == -math.inf else round(best, 1),
                            "seconds_above_floor": round(loud * window / rate, 1)})
    loud_channels = [p["channel"] for p in per_channel
                     if p["max_rms_dbfs"] is not None and p["max_rms_dbfs"] > floor]
    ok = bool(loud_channels) and all(c in loud_channels for c in need)
    figures = {"channels": channels, "rate": rate, "bits": bits,
               "seconds": round(frames / rate, 1), "floor_dbfs": floor,
               "loud_channels": loud_channels, "per_channel": per_channel}
    if json_out:
        with open(json_out, "w") as f:
            json.dump(figures, f, indent=1)
    levels = ", ".join(
        f"{p['channel']}: {p['max_rms_dbfs'] if p['max_rms_dbfs'] is not None else '-inf'}"
        for p in per_channel)
    missing = [c for c in need if c not in loud_channels]
    print(f"{channels} ch {rate} Hz, {frames / rate:.1f} s; loudest 100 ms RMS per channel "
          f"(dBFS) {levels}; sound (> {floor:g} dBFS) on {loud_channels or 'no channel'}"
          + (f"; none on {missing}" if missing else ""))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
