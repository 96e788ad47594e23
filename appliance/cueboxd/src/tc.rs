//! `cueboxd tc`: decode LTC from a WAV file, or generate one.

use std::path::PathBuf;

use atomic_write_file::AtomicWriteFile;
use cuebox_engine::timecode::ltc::{DecodedFrame, Decoder, Encoder};
use cuebox_engine::timecode::{FrameRate, Timecode};
use serde_json::json;

/// `cueboxd tc …`
#[derive(Debug, clap::Subcommand)]
pub enum TcCmd {
    /// Print every LTC frame in a WAV file, one line each, with the samples
    /// where it starts and ends.
    Decode {
        /// The WAV file (any channel count; see --channel).
        file: PathBuf,
        /// The channel carrying LTC, from 1.
        #[arg(long, default_value_t = 1)]
        channel: u16,
        /// One JSON object per line:
        /// `{"tc":"10:00:00:00","fps":25,"df":false,"start":1234,"end":3153,"reverse":false}`.
        #[arg(long)]
        json: bool,
    },
    /// Write LTC to a mono 32-bit float WAV file.
    Generate {
        /// Frame rate: 24, 25, 29.97 (drop-frame, with --df) or 30.
        #[arg(long)]
        fps: String,
        /// Drop-frame (29.97 only).
        #[arg(long)]
        df: bool,
        /// The first frame, HH:MM:SS:FF.
        #[arg(long)]
        start: Timecode,
        /// Length in seconds.
        #[arg(long)]
        seconds: f64,
        /// Sample rate in Hz.
        #[arg(long, default_value_t = 48_000)]
        rate: u32,
        /// Peak level in dBFS.
        #[arg(long, default_value_t = -18.0, allow_negative_numbers = true)]
        level: f64,
        /// The WAV file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs a `tc` command.
pub fn run(cmd: &TcCmd) -> anyhow::Result<()> {
    match cmd {
        TcCmd::Decode {
            file,
            channel,
            json,
        } => decode(file, *channel, *json),
        TcCmd::Generate {
            fps,
            df,
            start,
            seconds,
            rate,
            level,
            out,
        } => generate(fps, *df, *start, *seconds, *rate, *level, out),
    }
}

fn decode(file: &PathBuf, channel: u16, as_json: bool) -> anyhow::Result<()> {
    let mut reader = hound::WavReader::open(file)
        .map_err(|e| anyhow::anyhow!("cannot read {} as WAV: {e}", file.display()))?;
    let spec = reader.spec();
    anyhow::ensure!(
        (1..=spec.channels).contains(&channel),
        "{} has {} channel(s); --channel {channel} does not exist",
        file.display(),
        spec.channels
    );
    let scale = match spec.sample_format {
        hound::SampleFormat::Float => 1.0,
        hound::SampleFormat::Int => 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32,
    };
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => reader
            .samples::<i32>()
            .map(|s| s.map(|v| v as f32 * scale))
            .collect::<Result<_, _>>()?,
    };
    let mono: Vec<f32> = samples
        .iter()
        .skip(usize::from(channel - 1))
        .step_by(usize::from(spec.channels))
        .copied()
        .collect();
    let mut count = 0;
    Decoder::new(spec.sample_rate).process(&mono, |f| {
        count += 1;
        print_frame(&f, spec.sample_rate, as_json);
    });
    if count == 0 {
        eprintln!(
            "cueboxd: no LTC found in channel {channel} of {}; check the channel and the level",
            file.display()
        );
    }
    Ok(())
}

/// The rate a frame ran at: the drop-frame flag, else the nearest of 24,
/// 25 and 30 to its apparent speed.
fn rate_of(f: &DecodedFrame, sample_rate: u32) -> FrameRate {
    if f.frame.drop_frame {
        return FrameRate::Fps2997Df;
    }
    let fps = f.apparent_fps(sample_rate);
    [FrameRate::Fps24, FrameRate::Fps25, FrameRate::Fps30]
        .into_iter()
        .min_by(|a, b| (a.fps() - fps).abs().total_cmp(&(b.fps() - fps).abs()))
        .unwrap_or(FrameRate::Fps25)
}

fn print_frame(f: &DecodedFrame, sample_rate: u32, as_json: bool) {
    let rate = rate_of(f, sample_rate);
    let fps = if rate.drop_frame() {
        json!(29.97)
    } else {
        json!(rate.nominal())
    };
    use std::io::Write;
    // A closed pipe (`| head`) ends the output quietly.
    let mut out = std::io::stdout().lock();
    let _ = if as_json {
        writeln!(
            out,
            "{}",
            json!({
                "tc": f.frame.tc.to_string(), "fps": fps, "df": f.frame.drop_frame,
                "start": f.start, "end": f.end, "reverse": f.reverse,
                "user_bits": format!("{:08x}", f.frame.user_bits),
            })
        )
    } else {
        writeln!(
            out,
            "{} {}fps{} {}-{}{}",
            f.frame.tc,
            fps,
            if f.frame.drop_frame { " df" } else { "" },
            f.start,
            f.end,
            if f.reverse { " reverse" } else { "" }
        )
    };
}

fn generate(
    fps: &str,
    df: bool,
    start: Timecode,
    seconds: f64,
    rate: u32,
    level: f64,
    out: &PathBuf,
) -> anyhow::Result<()> {
    let frame_rate: FrameRate = fps.parse().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        frame_rate.drop_frame() == df,
        "drop-frame is 29.97 with --df, and only that: --fps {fps}{}",
        if df { " --df" } else { "" }
    );
    start.check(frame_rate)?;
    anyhow::ensure!(
        (0.0..=86_400.0).contains(&seconds),
        "--seconds {seconds} is outside 0 to 86400"
    );
    anyhow::ensure!(
        (8_000..=192_000).contains(&rate),
        "--rate {rate} is outside 8000 to 192000 Hz"
    );
    anyhow::ensure!(
        (-60.0..=0.0).contains(&level),
        "--level {level} is outside -60 to 0 dBFS"
    );
    let mut encoder = Encoder::new(rate, frame_rate, start, level);
    let total = (seconds * f64::from(rate)).round() as usize;
    let mut samples = Vec::with_capacity(total + rate as usize);
    while samples.len() < total {
        encoder.encode_frame(&mut samples);
    }
    samples.truncate(total);
    let file = AtomicWriteFile::open(out)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut buffered = std::io::BufWriter::new(file);
    let mut wav = hound::WavWriter::new(&mut buffered, spec)?;
    for s in &samples {
        wav.write_sample(*s)?;
    }
    wav.finalize()?;
    let file = buffered
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    file.commit()?;
    println!(
        "wrote {seconds} s of {fps} fps LTC from {start} at {rate} Hz to {}",
        out.display()
    );
    Ok(())
}
