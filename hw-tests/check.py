#!/usr/bin/env python3
"""The host's half of hw-tests: what the box played (recorded on the other
side of snd-aloop) against `cueboxd render` of the same show, bit-exact.

  play      play.raw (10 channels FLOAT_LE) against render of play-events.json:
            outputs 1-2 are group A, 3-4 group B, 5-10 silent
  network   network.raw against render of c1 from frame 0: a GO over the
            network starts at a frame the host cannot know, so both are
            aligned on their first non-zero sample

Show time zero is the card's first frame, and the loopback's capture side ran
before it (silence), so the recording is aligned on the first sample that is
not zero. After the run the loopback replays a short tail: only frames up to
the last one played are compared. Rewrites RESULTS/<test>.result from RAN to
PASS or FAIL.

Usage: check.py CUEBOXD SESSIONS RESULTS
"""
import json
import struct
import subprocess
import sys
from array import array
from pathlib import Path

RATE = 48000
cueboxd, sessions, results = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])


def read_wav_f32(path):
    """(channels, interleaved float32 samples) of a float WAV."""
    data = path.read_bytes()
    pos, channels = 12, None
    while pos < len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt, channels = struct.unpack("<HH", body[:4])
            bits = struct.unpack("<H", body[14:16])[0]
            if not (fmt in (3, 0xFFFE) and bits == 32):
                sys.exit(f"check.py: {path} is not 32-bit float (format {fmt}, {bits} bits)")
        elif cid == b"data":
            return channels, array("f", body)
        pos += 8 + size + (size & 1)
    sys.exit(f"check.py: {path} has no data chunk")


def render(session, events, bus, seconds, name):
    out = results / f"{name}-render-{bus}.wav"
    ev = results / f"{name}-events.json"
    ev.write_text(json.dumps(events))
    subprocess.run([cueboxd, "render", "--session", str(session), "--events", str(ev), "--out", str(out),
                    "--bus", bus, "--seconds", str(seconds)], check=True, stdout=subprocess.DEVNULL)
    ch, samples = read_wav_f32(out)
    return [samples[c::ch] for c in range(ch)]


def first_nonzero(x):
    return next((i for i, v in enumerate(x) if v != 0.0), None)


def conditions(test):
    """What the run went through: the box's xruns and late commands (its
    events), and whether the test's recorder overran (arecord's stderr)."""
    events = results / f"{test}.events"
    lines = events.read_text().splitlines() if events.exists() else []
    count = {kind: sum(f'"event":"{kind}"' in line for line in lines) for kind in ("xrun", "late")}
    said = [f"xruns {count['xrun']}, late commands {count['late']}"]
    recorder = results / f"{test}.arecord.txt"
    if recorder.exists() and "overrun" in recorder.read_text():
        said.append("the recorder (arecord) overran and lost frames: " + recorder.read_text().strip().splitlines()[-1])
    return "; ".join(said)


def verdict(test, ok, detail):
    old = (results / f"{test}.result").read_text().split(" ", 2) if (results / f"{test}.result").exists() else ["", "-", ""]
    status = "PASS" if ok else "FAIL"
    (results / f"{test}.result").write_text(f"{status} {old[1]} {detail}; {conditions(test)}\n")


def compare(test, raw, refs, length):
    """refs: {output channel index: reference samples}; the other outputs must be silent."""
    rec = array("f", raw.read_bytes()[: raw.stat().st_size // 40 * 40])
    chans = [rec[c::10] for c in range(10)]
    first_ref = min(i for i in (first_nonzero(r) for r in refs.values()) if i is not None)
    first_rec = first_nonzero(chans[min(refs)])
    if first_rec is None:
        return verdict(test, False, f"the recording ({len(chans[0])} frames) is silent")
    shift = first_rec - first_nonzero(refs[min(refs)])
    if shift < 0:
        return verdict(test, False, "the recording starts after the show's first sound")
    if len(chans[0]) < shift + length:
        return verdict(test, False, f"the recording has {len(chans[0]) - shift} frames of show, fewer than {length}")
    first, count, worst = None, 0, 0.0
    for c in range(10):
        live = chans[c][shift:shift + length]
        ref = refs[c][:length] if c in refs else array("f", bytes(4 * length))
        if live == ref:
            continue
        for i, (a, b) in enumerate(zip(live, ref)):
            if a != b:
                count += 1
                worst = max(worst, abs(a - b))
                if first is None or i < first[1]:
                    first = (c, i, a, b)
    heard = sum(1 for v in refs[min(refs)][:length] if v != 0.0)
    what = f"outputs 1-10 against cueboxd render, {length / RATE:.2f} s ({heard} non-zero frames on output {min(refs) + 1})"
    if count == 0:
        return verdict(test, True, f"bit-exact: {what}")
    c, i, a, b = first
    detail = (f"{count} sample(s) differ, by at most {worst:.3g}; first on output {c + 1} at show frame {i} "
              f"({a!r} played, {b!r} rendered)")
    # Where the recording's first sound is in the render, if anywhere: a
    # recording that begins part way in lost its start.
    out = min(refs)
    window = list(chans[out][first_rec:first_rec + 32])
    ref = list(refs[out])
    found = next((k for k in range(len(ref) - len(window)) if ref[k:k + len(window)] == window), None)
    if found is not None and found != first_nonzero(refs[out]):
        detail += (f"; the recording's first sound is not the clip's start but the render's frame {found} "
                   "(or a period of the tone later): its start was lost")
    verdict(test, False, f"{what}: {detail}")


if (results / "play.raw").exists():
    events = json.loads((sessions / "play-events.json").read_text())
    a = render(sessions / "play", events, "A", 12, "play")
    b = render(sessions / "play", events, "B", 12, "play")
    # Everything is faded out by 11.5 s of show time.
    compare("play", results / "play.raw", {0: a[0], 1: a[1], 2: b[0], 3: b[1]}, int(11.6 * RATE))
if (results / "network.raw").exists():
    a = render(sessions / "play", [{"at": 0, "cmd": "go", "clip": "c1"}], "A", 3, "network")
    compare("network", results / "network.raw", {0: a[0], 1: a[1]}, int(2.5 * RATE))
