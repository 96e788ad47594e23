/*
 * ltc-peer: Debian's libltc (x42) as an independent LTC peer for cuebox's
 * tests and benchmarks. It generates LTC signals and decodes them with
 * libltc, so cuebox's own codec is checked against an implementation it
 * shares no code with.
 *
 *   ltc-peer generate OUT.f32 RATE FPS DF START SECONDS SPEED_FROM SPEED_TO LEVEL_DB INVERT NOISE_DB DC
 *       raw mono float32 samples. SPEED goes linearly from SPEED_FROM to
 *       SPEED_TO over the signal (negative: reverse, libltc plays the frames
 *       backwards); NOISE_DB is white noise's peak level (-inf: none).
 *   ltc-peer decode IN.f32 RATE APV
 *       one line per frame: "HH:MM:SS:FF start end reverse"; APV is the
 *       expected samples per frame (libltc's starting point for speed)
 *   ltc-peer time IN.f32 RATE APV ROUNDS
 *       decodes the file ROUNDS times; prints frames and seconds taken.
 *
 * Build: scripts/ltc/build-ltc-peer.sh (needs libltc-dev).
 */

#include <ltc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static float *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	long bytes = ftell(f);
	fseek(f, 0, SEEK_SET);
	float *buf = malloc((size_t)bytes);
	*n = fread(buf, sizeof(float), (size_t)bytes / sizeof(float), f);
	fclose(f);
	return buf;
}

static int generate(int argc, char **argv)
{
	if (argc != 14) {
		fprintf(stderr, "usage: ltc-peer generate OUT RATE FPS DF START SECONDS SPEED_FROM SPEED_TO LEVEL_DB INVERT NOISE_DB DC\n");
		return 2;
	}
	const char *out = argv[2];
	double rate = atof(argv[3]), fps = atof(argv[4]);
	int df = atoi(argv[5]);
	int h, m, s, fr;
	if (sscanf(argv[6], "%d:%d:%d:%d", &h, &m, &s, &fr) != 4)
		return 2;
	double seconds = atof(argv[7]), from = atof(argv[8]), to = atof(argv[9]);
	double level = atof(argv[10]);
	int invert = atoi(argv[11]);
	double noise = pow(10.0, atof(argv[12]) / 20.0), dc = atof(argv[13]);

	LTCEncoder *e = ltc_encoder_create(rate, fps, fps == 25 ? LTC_TV_625_50 : LTC_TV_525_60,
					   LTC_USE_DATE);
	SMPTETimecode tc;
	memset(&tc, 0, sizeof tc);
	tc.hours = h;
	tc.mins = m;
	tc.secs = s;
	tc.frame = fr;
	ltc_encoder_set_timecode(e, &tc);
	LTCFrame frame;
	ltc_encoder_get_frame(e, &frame);
	frame.dfbit = df;
	ltc_encoder_set_frame(e, &frame);
	ltc_encoder_set_volume(e, level);
	/* Room for a byte at any slowdown the tests ask for (down to 0.25x). */
	ltc_encoder_set_buffersize(e, rate, fps / 4.0);

	FILE *f = fopen(out, "wb");
	if (!f) {
		perror(out);
		return 1;
	}
	size_t total = (size_t)(seconds * rate), written = 0;
	unsigned seed = 12345;
	while (written < total) {
		double speed = from + (to - from) * (double)written / (double)total;
		int reverse = speed < 0;
		double mag = fabs(speed);
		/* libltc encodes a frame byte by byte; backwards, bytes go 9..0. */
		for (int i = 0; i < 10; i++) {
			int byte = reverse ? 9 - i : i;
			/* libltc's argument is a slowdown: > 1 is slower. */
			ltc_encoder_encode_byte(e, byte, reverse ? -1.0 / mag : 1.0 / mag);
		}
		ltcsnd_sample_t *buf;
		int n = ltc_encoder_get_bufferptr(e, &buf, 1);
		for (int i = 0; i < n && written < total; i++, written++) {
			double x = ((double)buf[i] - 128.0) / 127.0;
			if (invert)
				x = -x;
			seed = seed * 1664525u + 1013904223u;
			x += noise * ((double)(seed >> 8) / (double)(1u << 24) * 2.0 - 1.0) + dc;
			float v = (float)x;
			fwrite(&v, sizeof v, 1, f);
		}
		if (reverse)
			ltc_encoder_dec_timecode(e);
		else
			ltc_encoder_inc_timecode(e);
	}
	fclose(f);
	ltc_encoder_free(e);
	return 0;
}

static long decode_buffer(float *buf, size_t n, int apv, int print)
{
	LTCDecoder *d = ltc_decoder_create(apv, 32);
	LTCFrameExt fe;
	long frames = 0;
	const size_t chunk = 1024;
	for (size_t at = 0; at < n; at += chunk) {
		size_t len = n - at < chunk ? n - at : chunk;
		ltc_decoder_write_float(d, buf + at, len, (ltc_off_t)at);
		while (ltc_decoder_read(d, &fe)) {
			SMPTETimecode t;
			ltc_frame_to_time(&t, &fe.ltc, 0);
			if (print)
				printf("%02d:%02d:%02d:%02d %lld %lld %d\n", t.hours, t.mins, t.secs,
				       t.frame, (long long)fe.off_start, (long long)fe.off_end,
				       fe.reverse);
			frames++;
		}
	}
	ltc_decoder_free(d);
	return frames;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "generate"))
		return generate(argc, argv);
	if (argc == 5 && !strcmp(argv[1], "decode")) {
		size_t n;
		float *buf = read_all(argv[2], &n);
		decode_buffer(buf, n, atoi(argv[4]), 1);
		free(buf);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "time")) {
		size_t n;
		float *buf = read_all(argv[2], &n);
		int rounds = atoi(argv[5]);
		struct timespec a, b;
		long frames = 0;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int r = 0; r < rounds; r++)
			frames += decode_buffer(buf, n, atoi(argv[4]), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%ld %.6f\n", frames,
		       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9);
		free(buf);
		return 0;
	}
	fprintf(stderr, "usage: ltc-peer generate|decode|time ... (see the source)\n");
	return 2;
}
