/* mtc-send: sends MIDI Time Code to an ALSA raw MIDI port in real time — a
 * full-frame SysEx, then quarter-frame messages at the frame rate — as an
 * independent MTC peer for hw-tests (written from the MTC specification, not
 * from cuebox's encoder).
 *
 * Build: cc -O2 -o mtc-send mtc-send.c -lasound
 * Usage: mtc-send PORT FPS HH:MM:SS:FF SECONDS     (FPS 24, 25 or 30)
 *   e.g. mtc-send hw:VirMIDI,0 25 10:00:00:00 6
 */
#include <alsa/asoundlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static snd_rawmidi_t *out;

static void send(const unsigned char *bytes, size_t n) {
  ssize_t w = snd_rawmidi_write(out, bytes, n);
  if (w < 0 || (size_t)w != n) {
    fprintf(stderr, "mtc-send: write failed: %s\n", snd_strerror((int)w));
    exit(1);
  }
  snd_rawmidi_drain(out);
}

int main(int argc, char **argv) {
  int fps, hh, mm, ss, ff;
  double seconds;
  if (argc != 5 || sscanf(argv[3], "%d:%d:%d:%d", &hh, &mm, &ss, &ff) != 4) {
    fprintf(stderr, "usage: mtc-send PORT FPS HH:MM:SS:FF SECONDS  (FPS 24, 25 or 30)\n");
    return 2;
  }
  fps = atoi(argv[2]);
  seconds = atof(argv[4]);
  int rate_code = fps == 24 ? 0 : fps == 25 ? 1 : fps == 30 ? 3 : -1;
  if (rate_code < 0) {
    fprintf(stderr, "mtc-send: FPS must be 24, 25 or 30 (drop-frame is not supported here)\n");
    return 2;
  }
  int err = snd_rawmidi_open(NULL, &out, argv[1], 0);
  if (err < 0) {
    fprintf(stderr, "mtc-send: cannot open %s: %s (is snd-virmidi loaded? amidi -l lists ports)\n",
            argv[1], snd_strerror(err));
    return 1;
  }
  long frame = ((long)(hh * 60 + mm) * 60 + ss) * fps + ff;
  /* Full frame: F0 7F 7F 01 01 hh mm ss ff F7, rate in hh's bits 5-6. */
  unsigned char full[10] = {0xF0, 0x7F, 0x7F, 0x01, 0x01, (unsigned char)(rate_code << 5 | hh),
                            (unsigned char)mm, (unsigned char)ss, (unsigned char)ff, 0xF7};
  send(full, sizeof full);

  /* Quarter frames: 4 per frame; a cycle of 8 (pieces 0-7) spans two frames
   * and carries the time of the frame it started on. */
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  long step_ns = 1000000000L / (fps * 4);
  long steps = (long)(seconds * fps * 4);
  long start = frame;
  for (long i = 0; i < steps; i++) {
    int piece = (int)(i % 8);
    long f = start + (i / 8) * 2; /* the cycle's frame */
    int h = (int)(f / ((long)fps * 3600) % 24), m = (int)(f / ((long)fps * 60) % 60),
        s = (int)(f / fps % 60), fr = (int)(f % fps);
    int v;
    switch (piece) {
      case 0: v = fr & 0xF; break;
      case 1: v = fr >> 4; break;
      case 2: v = s & 0xF; break;
      case 3: v = s >> 4; break;
      case 4: v = m & 0xF; break;
      case 5: v = m >> 4; break;
      case 6: v = h & 0xF; break;
      default: v = (h >> 4) | (rate_code << 1); break;
    }
    unsigned char qf[2] = {0xF1, (unsigned char)(piece << 4 | v)};
    send(qf, 2);
    t.tv_nsec += step_ns;
    while (t.tv_nsec >= 1000000000L) {
      t.tv_nsec -= 1000000000L;
      t.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
  }
  snd_rawmidi_close(out);
  return 0;
}
