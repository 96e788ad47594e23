/*
 * cuebox_paced: an ALSA external (ioplug) PCM that behaves like a sound
 * card whose clock follows CLOCK_MONOTONIC, for real-time tests on machines
 * without one. alsa-lib's null and file plugins accept a second of audio in
 * milliseconds; this one takes it in a second, wakes the application once
 * per period through a timerfd, underruns and overruns like a card, can run
 * fast or slow by N ppm (a drifting card clock) and can misbehave on demand.
 *
 *   pcm.NAME {
 *       type cuebox_paced
 *       outfile "/abs/out.raw"   # playback: every frame written, appended raw
 *       infile  "/abs/in.raw"    # capture: raw frames read in order; silence after
 *       ppm 0                    # card clock error against CLOCK_MONOTONIC
 *       control "/abs/ctl"       # fault injection: "stall MS", "block MS", "ppm X"
 *   }
 *
 * See docs/paced-pcm.md. Build:
 *   cc -O2 -fPIC -DPIC -shared -o libasound_module_pcm_cuebox_paced.so \
 *      pcm_cuebox_paced.c -lasound
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>

typedef struct {
	snd_pcm_ioplug_t io;
	int timer;              /* timerfd: one wake-up per card period */
	int out;                /* outfile, or -1 */
	int in;                 /* infile, or -1 */
	char *control;          /* fault injection file, or NULL */
	char *startfile;        /* where the first start's time goes, or NULL */
	double ppm;
	unsigned frame_bytes;
	int running;
	/* The card clock: position `anchor_frames` at time `anchor_ns`,
	 * advancing at rate * (1 + ppm) frames per second from there. */
	double anchor_ns;
	double anchor_frames;
	/* No wake-ups until this time (stall), ns; 0 when none. */
	double stall_until_ns;
	/* The next transfer sleeps this long (block), ns. */
	long block_ns;
	/* Playback: when the card ran out of audio (ns), 0 when it has not. */
	double ran_out_ns;
	/* Playback, after an underrun until the next start: the card is
	 * silent until it starts again, so what is written meanwhile (the
	 * prefill) waits here to go into the outfile after that silence. */
	char *held;
	size_t held_bytes;
	/* Capture: frames the card captured that nobody read (overrun). */
	uint64_t lost_frames;
} paced_t;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double frames_per_ns(const paced_t *p)
{
	return p->io.rate * (1.0 + p->ppm * 1e-6) / 1e9;
}

/* Frames the card has played or captured since it started. */
static uint64_t card_frames(const paced_t *p, double t)
{
	if (!p->running)
		return 0;
	double f = p->anchor_frames + (t - p->anchor_ns) * frames_per_ns(p);
	return f < 0 ? 0 : (uint64_t)f;
}

/* Re-anchors the clock at `t` (the ppm is about to change). */
static void reanchor(paced_t *p, double t)
{
	if (p->running) {
		p->anchor_frames += (t - p->anchor_ns) * frames_per_ns(p);
		p->anchor_ns = t;
	}
}

/* Reads and acts on the control file, if it exists: one command, once. */
static void check_control(paced_t *p)
{
	if (!p->control)
		return;
	int fd = open(p->control, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char line[64] = { 0 };
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	unlink(p->control);
	if (n <= 0)
		return;
	double value;
	double t = now_ns();
	if (sscanf(line, "stall %lf", &value) == 1) {
		p->stall_until_ns = t + value * 1e6;
	} else if (sscanf(line, "block %lf", &value) == 1) {
		p->block_ns = (long)(value * 1e6);
	} else if (sscanf(line, "ppm %lf", &value) == 1) {
		reanchor(p, t);
		p->ppm = value;
	} else {
		SNDERR("cuebox_paced: unknown control command \"%s\" in %s", line, p->control);
	}
}

/* Arms the timer for the next period boundary of the card clock (or the
 * end of a stall); `soon` fires it at once (a stream not yet running). */
static void arm(paced_t *p, int soon)
{
	struct itimerspec spec = { 0 };
	double t = now_ns();
	double at;
	if (soon || !p->running) {
		at = t + 1e6; /* not running: writable/readable again in 1 ms */
	} else {
		uint64_t period = p->io.period_size;
		uint64_t next = (card_frames(p, t) / period + 1) * period;
		at = p->anchor_ns + ((double)next - p->anchor_frames) / frames_per_ns(p);
	}
	if (p->stall_until_ns > at)
		at = p->stall_until_ns;
	spec.it_value.tv_sec = (time_t)(at / 1e9);
	spec.it_value.tv_nsec = (long)(at - (double)spec.it_value.tv_sec * 1e9);
	if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
		spec.it_value.tv_nsec = 1;
	timerfd_settime(p->timer, TFD_TIMER_ABSTIME, &spec, NULL);
}

/* Writes `frames` frames of silence to the outfile. */
static void write_silence(paced_t *p, uint64_t frames);

/* After an underrun: the silence the card played from the moment it ran
 * out until `until_ns`, then what was written meanwhile. */
static void release_held(paced_t *p, double until_ns)
{
	if (p->ran_out_ns <= 0)
		return;
	if (p->out >= 0) {
		write_silence(p, (uint64_t)((until_ns - p->ran_out_ns) * frames_per_ns(p)));
		if (p->held_bytes > 0 && write(p->out, p->held, p->held_bytes) != (ssize_t)p->held_bytes)
			perror("pcm_cuebox_paced: outfile");
	}
	free(p->held);
	p->held = NULL;
	p->held_bytes = 0;
	p->ran_out_ns = 0;
}

static int paced_start(snd_pcm_ioplug_t *io)
{
	paced_t *p = io->private_data;
	p->anchor_ns = now_ns();
	p->anchor_frames = 0;
	p->running = 1;
	release_held(p, p->anchor_ns);
	/* The outfile stays on the card's timeline, so its frame 0 plays at the
	 * first start: a test places two cards' files on one clock with it. */
	if (p->startfile) {
		FILE *f = fopen(p->startfile, "w");
		if (f) {
			fprintf(f, "%.0f\n", p->anchor_ns);
			fclose(f);
		}
		free(p->startfile);
		p->startfile = NULL;
	}
	arm(p, 0);
	return 0;
}

static int paced_stop(snd_pcm_ioplug_t *io)
{
	paced_t *p = io->private_data;
	p->running = 0;
	arm(p, 1);
	return 0;
}

static void write_silence(paced_t *p, uint64_t frames)
{
	static const char zeros[4096];
	uint64_t bytes = frames * p->frame_bytes;
	while (bytes > 0) {
		size_t n = bytes < sizeof zeros ? bytes : sizeof zeros;
		if (write(p->out, zeros, n) != (ssize_t)n)
			return;
		bytes -= n;
	}
}

static int paced_prepare(snd_pcm_ioplug_t *io)
{
	paced_t *p = io->private_data;
	double t = now_ns();
	/* After an underrun the card plays silence from the moment it ran out
	 * until it starts again: the outfile stays on the card's timeline when
	 * that silence goes in at the start, before the prefill written from
	 * now on (held until then). A second prepare before a start: the
	 * silence so far and what was held go in now. */
	if (p->held_bytes > 0) {
		release_held(p, t);
		p->ran_out_ns = t;
	}
	/* After an overrun the captured audio went on without us: skip it. */
	if (p->in >= 0 && p->lost_frames > 0)
		lseek(p->in, (off_t)(p->lost_frames * p->frame_bytes), SEEK_CUR);
	p->lost_frames = 0;
	p->running = 0;
	arm(p, 1);
	return 0;
}

static snd_pcm_sframes_t paced_pointer(snd_pcm_ioplug_t *io)
{
	paced_t *p = io->private_data;
	if (!p->running)
		return 0;
	double t = now_ns();
	uint64_t hw = card_frames(p, t);
	uint64_t appl = io->appl_ptr;
	if (io->stream == SND_PCM_STREAM_PLAYBACK && hw > appl) {
		/* The card has played everything it was given: an underrun,
		 * which happened when it reached `appl`. */
		p->ran_out_ns = p->anchor_ns + ((double)appl - p->anchor_frames) / frames_per_ns(p);
		p->running = 0;
		return -EPIPE;
	}
	if (io->stream == SND_PCM_STREAM_CAPTURE && hw > appl + io->buffer_size) {
		p->lost_frames = hw - appl - io->buffer_size;
		p->running = 0;
		return -EPIPE;
	}
	return (snd_pcm_sframes_t)(hw % io->buffer_size);
}

static snd_pcm_sframes_t paced_transfer(snd_pcm_ioplug_t *io,
					const snd_pcm_channel_area_t *areas,
					snd_pcm_uframes_t offset,
					snd_pcm_uframes_t size)
{
	paced_t *p = io->private_data;
	check_control(p);
	if (p->block_ns > 0) {
		/* A driver hung in a transfer: the card clock runs on. */
		struct timespec d = { p->block_ns / 1000000000L, p->block_ns % 1000000000L };
		p->block_ns = 0;
		nanosleep(&d, NULL);
	}
	char *buf = (char *)areas[0].addr + (areas[0].first + offset * areas[0].step) / 8;
	size_t bytes = size * p->frame_bytes;
	if (io->stream == SND_PCM_STREAM_PLAYBACK && p->ran_out_ns > 0) {
		char *more = realloc(p->held, p->held_bytes + bytes);
		if (!more)
			return -ENOMEM;
		memcpy(more + p->held_bytes, buf, bytes);
		p->held = more;
		p->held_bytes += bytes;
	} else if (io->stream == SND_PCM_STREAM_PLAYBACK) {
		if (p->out >= 0 && write(p->out, buf, bytes) != (ssize_t)bytes)
			return -EIO;
	} else {
		ssize_t got = p->in >= 0 ? read(p->in, buf, bytes) : 0;
		if (got < 0)
			got = 0;
		memset(buf + got, 0, bytes - (size_t)got);
	}
	return (snd_pcm_sframes_t)size;
}

static int paced_poll_revents(snd_pcm_ioplug_t *io, struct pollfd *pfd,
			      unsigned int nfds, unsigned short *revents)
{
	paced_t *p = io->private_data;
	uint64_t expirations;
	(void)nfds;
	*revents = 0;
	if (read(p->timer, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
		return -errno;
	(void)pfd;
	check_control(p);
	if (p->stall_until_ns > now_ns()) {
		arm(p, 0);
		return 0;
	}
	p->stall_until_ns = 0;
	snd_pcm_sframes_t avail = snd_pcm_avail_update(io->pcm);
	if (avail < 0)
		*revents = POLLERR;
	else if ((snd_pcm_uframes_t)avail >= io->period_size)
		*revents = io->stream == SND_PCM_STREAM_PLAYBACK ? POLLOUT : POLLIN;
	arm(p, 0);
	return 0;
}

static int paced_hw_params(snd_pcm_ioplug_t *io, snd_pcm_hw_params_t *params)
{
	paced_t *p = io->private_data;
	(void)params;
	p->frame_bytes = (unsigned)snd_pcm_format_physical_width(io->format) / 8 * io->channels;
	return 0;
}

static int paced_close(snd_pcm_ioplug_t *io)
{
	paced_t *p = io->private_data;
	release_held(p, now_ns());
	if (p->out >= 0)
		close(p->out);
	if (p->in >= 0)
		close(p->in);
	close(p->timer);
	free(p->control);
	free(p->startfile);
	free(p);
	return 0;
}

static const snd_pcm_ioplug_callback_t callbacks = {
	.start = paced_start,
	.stop = paced_stop,
	.pointer = paced_pointer,
	.transfer = paced_transfer,
	.close = paced_close,
	.hw_params = paced_hw_params,
	.prepare = paced_prepare,
	.poll_revents = paced_poll_revents,
};

static int set_constraints(snd_pcm_ioplug_t *io)
{
	static const unsigned int access[] = {
		SND_PCM_ACCESS_RW_INTERLEAVED,
		SND_PCM_ACCESS_MMAP_INTERLEAVED,
	};
	static const unsigned int formats[] = {
		SND_PCM_FORMAT_S16_LE,
		SND_PCM_FORMAT_S24_3LE,
		SND_PCM_FORMAT_S32_LE,
		SND_PCM_FORMAT_FLOAT_LE,
	};
	int err;
	if ((err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_ACCESS, 2, access)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_FORMAT, 4, formats)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_CHANNELS, 1, 64)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_RATE, 8000, 192000)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIOD_BYTES,
						   16 * 2, 16384 * 64 * 4)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIODS, 2, 32)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_BUFFER_BYTES,
						   2 * 16 * 2, 32 * 16384 * 64 * 4)) < 0)
		return err;
	return 0;
}

SND_PCM_PLUGIN_DEFINE_FUNC(cuebox_paced)
{
	snd_config_iterator_t i, next;
	const char *outfile = NULL, *infile = NULL, *control = NULL, *startfile = NULL;
	double ppm = 0;
	int err;
	(void)root;

	snd_config_for_each(i, next, conf) {
		snd_config_t *n = snd_config_iterator_entry(i);
		const char *id;
		if (snd_config_get_id(n, &id) < 0)
			continue;
		if (!strcmp(id, "comment") || !strcmp(id, "type") || !strcmp(id, "hint"))
			continue;
		if (!strcmp(id, "outfile")) {
			if (snd_config_get_string(n, &outfile) < 0) {
				SNDERR("cuebox_paced: outfile must be a string (a path)");
				return -EINVAL;
			}
		} else if (!strcmp(id, "infile")) {
			if (snd_config_get_string(n, &infile) < 0) {
				SNDERR("cuebox_paced: infile must be a string (a path)");
				return -EINVAL;
			}
		} else if (!strcmp(id, "control")) {
			if (snd_config_get_string(n, &control) < 0) {
				SNDERR("cuebox_paced: control must be a string (a path)");
				return -EINVAL;
			}
		} else if (!strcmp(id, "startfile")) {
			if (snd_config_get_string(n, &startfile) < 0) {
				SNDERR("cuebox_paced: startfile must be a string (a path)");
				return -EINVAL;
			}
		} else if (!strcmp(id, "ppm")) {
			long l;
			const char *s;
			if (snd_config_get_real(n, &ppm) < 0) {
				if (snd_config_get_integer(n, &l) == 0)
					ppm = (double)l;
				else if (snd_config_get_string(n, &s) == 0 && sscanf(s, "%lf", &ppm) == 1)
					;
				else {
					SNDERR("cuebox_paced: ppm must be a number");
					return -EINVAL;
				}
			}
			if (ppm <= -1e6 || ppm >= 1e6) {
				SNDERR("cuebox_paced: ppm %g is out of range", ppm);
				return -EINVAL;
			}
		} else {
			SNDERR("cuebox_paced: unknown parameter %s (use outfile, infile, ppm, control, startfile)", id);
			return -EINVAL;
		}
	}

	paced_t *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->out = p->in = -1;
	p->ppm = ppm;
	p->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->timer < 0) {
		err = -errno;
		free(p);
		return err;
	}
	if (stream == SND_PCM_STREAM_PLAYBACK && outfile) {
		p->out = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (p->out < 0) {
			err = -errno;
			SNDERR("cuebox_paced: outfile %s: %s", outfile, strerror(errno));
			goto fail;
		}
	}
	if (stream == SND_PCM_STREAM_CAPTURE && infile) {
		p->in = open(infile, O_RDONLY | O_CLOEXEC);
		if (p->in < 0) {
			err = -errno;
			SNDERR("cuebox_paced: infile %s: %s", infile, strerror(errno));
			goto fail;
		}
	}
	if (control && !(p->control = strdup(control))) {
		err = -ENOMEM;
		goto fail;
	}
	if (stream == SND_PCM_STREAM_PLAYBACK && startfile && !(p->startfile = strdup(startfile))) {
		err = -ENOMEM;
		goto fail;
	}

	p->io.version = SND_PCM_IOPLUG_VERSION;
	p->io.name = "cuebox paced test PCM";
	p->io.flags = SND_PCM_IOPLUG_FLAG_MONOTONIC;
	p->io.poll_fd = p->timer;
	p->io.poll_events = POLLIN;
	p->io.mmap_rw = 0;
	p->io.callback = &callbacks;
	p->io.private_data = p;

	if ((err = snd_pcm_ioplug_create(&p->io, name, stream, mode)) < 0)
		goto fail;
	if ((err = set_constraints(&p->io)) < 0) {
		snd_pcm_ioplug_delete(&p->io);
		return err;
	}
	*pcmp = p->io.pcm;
	return 0;

fail:
	if (p->out >= 0)
		close(p->out);
	if (p->in >= 0)
		close(p->in);
	close(p->timer);
	free(p->control);
	free(p->startfile);
	free(p);
	return err;
}

SND_PCM_PLUGIN_SYMBOL(cuebox_paced);
