//! Media: probing and decoding audio files.
