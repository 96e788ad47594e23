//! A single-writer sequence lock over `N` machine words: the writer never
//! waits, readers never lock, allocate or make a system call — they retry
//! only while a write overlaps their read. The timebase, the card's
//! position and the PTP clock are published through it.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug)]
struct Shared<const N: usize> {
    seq: AtomicU64,
    words: [AtomicU64; N],
}

/// The one writer.
#[derive(Debug)]
pub struct SeqWriter<const N: usize> {
    shared: Arc<Shared<N>>,
}

/// A reader; clone it for every subscriber.
#[derive(Debug, Clone)]
pub struct SeqReader<const N: usize> {
    shared: Arc<Shared<N>>,
}

/// A lock holding `initial`: its writer and a reader.
pub fn seqlock<const N: usize>(initial: [u64; N]) -> (SeqWriter<N>, SeqReader<N>) {
    let shared = Arc::new(Shared {
        seq: AtomicU64::new(0),
        words: initial.map(AtomicU64::new),
    });
    (
        SeqWriter {
            shared: Arc::clone(&shared),
        },
        SeqReader { shared },
    )
}

impl<const N: usize> SeqWriter<N> {
    /// Replaces the words.
    pub fn write(&mut self, words: [u64; N]) {
        let s = &self.shared;
        // Odd: a write in progress.
        let seq = s.seq.load(Ordering::Relaxed);
        s.seq.store(seq + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (word, value) in s.words.iter().zip(words) {
            word.store(value, Ordering::Relaxed);
        }
        s.seq.store(seq + 2, Ordering::Release);
    }
}

impl<const N: usize> SeqReader<N> {
    /// The latest words, never a mix of two writes.
    pub fn read(&self) -> [u64; N] {
        let s = &self.shared;
        loop {
            let before = s.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let words = std::array::from_fn(|i| s.words[i].load(Ordering::Relaxed));
            fence(Ordering::Acquire);
            if s.seq.load(Ordering::Relaxed) == before {
                return words;
            }
        }
    }
}
