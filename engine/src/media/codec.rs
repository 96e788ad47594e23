//! What cuebox knows about each codec: its short name, whether it is
//! lossless, and how far a container's length may honestly be off.

use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters};

/// The short name (ffmpeg-style) of a codec, for `AudioFormat::codec` and
/// messages. Unknown codecs get their numeric id so the message still names
/// something.
pub(crate) fn short_name(id: AudioCodecId) -> String {
    let name = match id {
        CODEC_ID_PCM_S32LE | CODEC_ID_PCM_S32LE_PLANAR => "pcm_s32le",
        CODEC_ID_PCM_S32BE | CODEC_ID_PCM_S32BE_PLANAR => "pcm_s32be",
        CODEC_ID_PCM_S24LE | CODEC_ID_PCM_S24LE_PLANAR => "pcm_s24le",
        CODEC_ID_PCM_S24BE | CODEC_ID_PCM_S24BE_PLANAR => "pcm_s24be",
        CODEC_ID_PCM_S16LE | CODEC_ID_PCM_S16LE_PLANAR => "pcm_s16le",
        CODEC_ID_PCM_S16BE | CODEC_ID_PCM_S16BE_PLANAR => "pcm_s16be",
        CODEC_ID_PCM_S8 | CODEC_ID_PCM_S8_PLANAR => "pcm_s8",
        CODEC_ID_PCM_U32LE | CODEC_ID_PCM_U32LE_PLANAR => "pcm_u32le",
        CODEC_ID_PCM_U32BE | CODEC_ID_PCM_U32BE_PLANAR => "pcm_u32be",
        CODEC_ID_PCM_U24LE | CODEC_ID_PCM_U24LE_PLANAR => "pcm_u24le",
        CODEC_ID_PCM_U24BE | CODEC_ID_PCM_U24BE_PLANAR => "pcm_u24be",
        CODEC_ID_PCM_U16LE | CODEC_ID_PCM_U16LE_PLANAR => "pcm_u16le",
        CODEC_ID_PCM_U16BE | CODEC_ID_PCM_U16BE_PLANAR => "pcm_u16be",
        CODEC_ID_PCM_U8 | CODEC_ID_PCM_U8_PLANAR => "pcm_u8",
        CODEC_ID_PCM_F32LE | CODEC_ID_PCM_F32LE_PLANAR => "pcm_f32le",
        CODEC_ID_PCM_F32BE | CODEC_ID_PCM_F32BE_PLANAR => "pcm_f32be",
        CODEC_ID_PCM_F64LE | CODEC_ID_PCM_F64LE_PLANAR => "pcm_f64le",
        CODEC_ID_PCM_F64BE | CODEC_ID_PCM_F64BE_PLANAR => "pcm_f64be",
        CODEC_ID_PCM_ALAW => "pcm_alaw",
        CODEC_ID_PCM_MULAW => "pcm_mulaw",
        CODEC_ID_ADPCM_G722 => "adpcm_g722",
        CODEC_ID_ADPCM_G726 | CODEC_ID_ADPCM_G726LE => "adpcm_g726",
        CODEC_ID_ADPCM_MS => "adpcm_ms",
        CODEC_ID_ADPCM_IMA_WAV => "adpcm_ima_wav",
        CODEC_ID_ADPCM_IMA_QT => "adpcm_ima_qt",
        CODEC_ID_VORBIS => "vorbis",
        CODEC_ID_OPUS => "opus",
        CODEC_ID_SPEEX => "speex",
        CODEC_ID_MUSEPACK => "musepack",
        CODEC_ID_MP1 => "mp1",
        CODEC_ID_MP2 => "mp2",
        CODEC_ID_MP3 => "mp3",
        CODEC_ID_AAC => "aac",
        CODEC_ID_AC3 => "ac3",
        CODEC_ID_EAC3 => "eac3",
        CODEC_ID_AC4 => "ac4",
        CODEC_ID_DCA => "dts",
        CODEC_ID_WMA => "wma",
        CODEC_ID_FLAC => "flac",
        CODEC_ID_WAVPACK => "wavpack",
        CODEC_ID_MONKEYS_AUDIO => "ape",
        CODEC_ID_ALAC => "alac",
        CODEC_ID_TTA => "tta",
        CODEC_ID_TRUEHD => "truehd",
        other => return format!("unknown codec {other}"),
    };
    name.to_owned()
}

/// Whether the codec stores exact PCM, so its bit depth is meaningful and a
/// container's frame count must match the decode exactly.
pub(crate) fn is_lossless(id: AudioCodecId) -> bool {
    is_plain_pcm(id)
        || matches!(
            id,
            CODEC_ID_FLAC | CODEC_ID_ALAC | CODEC_ID_WAVPACK | CODEC_ID_TTA
        )
}

/// Uncompressed linear PCM (not A-law/µ-law, not ADPCM).
fn is_plain_pcm(id: AudioCodecId) -> bool {
    // The well-known linear PCM ids are one contiguous block.
    (CODEC_ID_PCM_S32LE..=CODEC_ID_PCM_F64BE_PLANAR).contains(&id)
}

/// Codecs that code fixed-size blocks, the last one padded, so a decode
/// runs past the real end (which a WAV `fact` chunk records).
pub(crate) fn is_block_padded(id: AudioCodecId) -> bool {
    matches!(
        id,
        CODEC_ID_ADPCM_MS | CODEC_ID_ADPCM_IMA_WAV | CODEC_ID_ADPCM_IMA_QT
    )
}

/// Bits per stored sample for lossless codecs; `None` for lossy ones.
pub(crate) fn bit_depth(params: &AudioCodecParameters) -> Option<u16> {
    if !is_lossless(params.codec) {
        return None;
    }
    let bits = params
        .bits_per_sample
        .or(params.bits_per_coded_sample)
        .or_else(|| alac_cookie_bit_depth(params))
        .or_else(|| pcm_width(params.codec))?;
    u16::try_from(bits).ok().filter(|b| (1..=64).contains(b))
}

/// The sample width a plain PCM codec implies, for containers that leave
/// `bits_per_sample` out (sox's float WAVs).
fn pcm_width(id: AudioCodecId) -> Option<u32> {
    let within = |first: AudioCodecId, last: AudioCodecId| (first..=last).contains(&id);
    if within(CODEC_ID_PCM_S32LE, CODEC_ID_PCM_S32BE_PLANAR)
        || within(CODEC_ID_PCM_U32LE, CODEC_ID_PCM_U32BE_PLANAR)
        || within(CODEC_ID_PCM_F32LE, CODEC_ID_PCM_F32BE_PLANAR)
    {
        Some(32)
    } else if within(CODEC_ID_PCM_S24LE, CODEC_ID_PCM_S24BE_PLANAR)
        || within(CODEC_ID_PCM_U24LE, CODEC_ID_PCM_U24BE_PLANAR)
    {
        Some(24)
    } else if within(CODEC_ID_PCM_S16LE, CODEC_ID_PCM_S16BE_PLANAR)
        || within(CODEC_ID_PCM_U16LE, CODEC_ID_PCM_U16BE_PLANAR)
    {
        Some(16)
    } else if within(CODEC_ID_PCM_S8, CODEC_ID_PCM_S8_PLANAR)
        || within(CODEC_ID_PCM_U8, CODEC_ID_PCM_U8_PLANAR)
    {
        Some(8)
    } else if within(CODEC_ID_PCM_F64LE, CODEC_ID_PCM_F64BE_PLANAR) {
        Some(64)
    } else {
        None
    }
}

/// How many frames the decode may differ from the container's stated length
/// without the file being damaged: none for lossless codecs, one packet of
/// encoder padding for lossy ones (whose headers count whole packets).
pub(crate) fn length_tolerance(params: &AudioCodecParameters) -> u64 {
    if is_lossless(params.codec) {
        return 0;
    }
    let typical_packet = match params.codec {
        CODEC_ID_MP1 => 384,
        CODEC_ID_MP2 | CODEC_ID_MP3 => 1152,
        CODEC_ID_AAC => 1024,
        CODEC_ID_VORBIS => 2048,
        _ => 4096,
    };
    let stated = params
        .max_frames_per_packet
        .or(params.frames_per_block)
        .unwrap_or(0);
    // A hostile header could claim a huge packet to hide truncation.
    stated.clamp(typical_packet, 16_384)
}

/// The bit depth in an ALAC "magic cookie" (ALACSpecificConfig: frame
/// length u32, compatible version u8, bit depth u8, …), which Symphonia's
/// MP4 reader passes on as extra data without filling `bits_per_sample`.
/// The cookie may still be wrapped in its 12-byte `alac` atom header.
fn alac_cookie_bit_depth(params: &AudioCodecParameters) -> Option<u32> {
    if params.codec != CODEC_ID_ALAC {
        return None;
    }
    let cookie = params.extra_data.as_deref()?;
    let config = match cookie.get(4..8) {
        Some(b"alac") => cookie.get(12..)?,
        _ => cookie,
    };
    let bits = *config.get(5)?;
    matches!(bits, 16 | 20 | 24 | 32).then_some(u32::from(bits))
}

/// Frames to decode and discard before a seek target so the decoder's state
/// (overlapping transforms, MP3's bit reservoir) matches a decode from the
/// start; 0 for codecs whose packets decode on their own.
pub(crate) fn seek_preroll(id: AudioCodecId) -> u64 {
    if is_lossless(id)
        || is_block_padded(id)
        || matches!(id, CODEC_ID_PCM_ALAW | CODEC_ID_PCM_MULAW)
    {
        return 0;
    }
    match id {
        // Each MP3 granule overlaps the one before (Symphonia's seek also
        // backs up over the frames holding this frame's reservoir bits).
        CODEC_ID_MP1 | CODEC_ID_MP2 | CODEC_ID_MP3 => 2 * 1152,
        // One packet primes the MDCT overlap; the first after a reset is wrong.
        CODEC_ID_AAC => 2 * 1024,
        // The first packet after a reset yields nothing; a packet spans at
        // most half of the longest (8192) block either side.
        _ => 8192,
    }
}
