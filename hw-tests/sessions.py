#!/usr/bin/env python3
"""Makes the hw-tests' sessions with hostctl (and their media with sox):

  play/             c1 a 440/660 Hz tone (group A), c2 noise (group B)
  play-events.json  the timed commands the play test runs and renders
  mtc/, ltc/        c1 with a timecode trigger at 10:00:03:00; the session
                    follows MTC (mtc/) or the LTC on capture input 1 (ltc/)
  ltc.wav           10 s of 25 fps LTC from 10:00:00:00 (cueboxd tc generate)

Usage: sessions.py HOSTCTL CUEBOXD OUT_DIR [NAME...]
  NAME...  only these of play, mtc, ltc (default: all three, with their
           events and LTC files)
"""
import json
import subprocess
import sys
from pathlib import Path

hostctl, cueboxd, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
wanted = set(sys.argv[4:]) or {"play", "mtc", "ltc"}
media = out / "source"
media.mkdir(parents=True, exist_ok=True)


def run(*args):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"sessions.py: {' '.join(map(str, args))} failed:\n{p.stdout}{p.stderr}")


# Repeatable (-R) sox media: a stereo tone and a noise burst.
run("sox", "-R", "-n", "-r", "48000", "-b", "24", "-c", "2", media / "tone.wav",
    "synth", "6", "sine", "440", "sine", "660", "gain", "-6")
run("sox", "-R", "-n", "-r", "48000", "-b", "16", "-c", "2", media / "noise.wav",
    "synth", "5", "whitenoise", "gain", "-12")


def session(name, edit=None):
    d = out / name
    run(hostctl, "session", "new", d, "--media", d / "media", "--name", name, "--rows", "2", "--cols", "2")
    run(hostctl, "clip", "add", d, media / "tone.wav", "--page", "1", "--tab", "1", "--at", "1,1", "--group", "A")
    run(hostctl, "clip", "add", d, media / "noise.wav", "--page", "1", "--tab", "1", "--at", "1,2", "--group", "B")
    if edit:
        manifest = d / "session.json"
        doc = json.loads(manifest.read_text())
        edit(doc)
        manifest.write_text(json.dumps(doc, indent=2))
    run(hostctl, "session", "validate", d)


def timecode(kind):
    def edit(doc):
        doc["time_sources"]["priority"] = [kind, "system"]
        doc["time_sources"]["frame_rate"] = "25"
        # Emulation adds milliseconds of jitter no real box has (see
        # docs/image.md): the test proves the path (decode, lock, cue), so the
        # thresholds are opened for a jittery but correct source.
        doc["time_sources"]["jitter_warning_us"] = 20000
        doc["time_sources"]["drift_warning_us"] = 50000
        doc["time_sources"]["min_stability"] = 0.05
        doc["clips"][0]["timecode_trigger"] = "10:00:03:00"
        if kind == "ltc":
            doc["busses"]["ltc_input"] = {"input": 1, "enabled": True}
    return edit


if "play" in wanted:
    session("play")
    # The first command 2.5 s in: under emulation cueboxd needs more than the
    # 200 ms it hands commands ahead to be ready (an earlier one plays "late").
    (out / "play-events.json").write_text(json.dumps([
        {"at": 2.5, "cmd": "go", "clip": "c1"},
        {"at": 3.25, "cmd": "go", "clip": "c2"},
        {"at": 5.0, "cmd": "fade_out", "clip": "c1", "time": 1.5},
        {"at": 7.0, "cmd": "stop", "clip": "c2"},
        {"at": 8.5, "cmd": "go", "clip": "c2"},
        {"at": 9.25, "cmd": "go", "clip": "c1"},
        {"at": 11.0, "cmd": "fade_all", "time": 0.5},
    ]))
if "mtc" in wanted:
    session("mtc", timecode("mtc"))
if "ltc" in wanted:
    session("ltc", timecode("ltc"))
    run(cueboxd, "tc", "generate", "--fps", "25", "--start", "10:00:00:00", "--seconds", "10",
        "--out", out / "ltc.wav")
