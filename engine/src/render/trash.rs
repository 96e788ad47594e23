//! Handing finished readers back to be dropped off the render thread.

use rtrb::Producer;

use super::event::{Event, EventSink};
use super::reader::BoxedReader;

/// The render thread's end of the finished-readers queue. Dropping a reader
/// may free its audio, so the render thread never does: it sends readers
/// back. When the queue is full they wait in a fixed spare list (allocated
/// up front) and go out with the next block; only if that is full too is a
/// reader leaked — still no free on the render thread — and reported.
pub(crate) struct Trash {
    queue: Producer<BoxedReader>,
    spare: Vec<BoxedReader>,
    leaked: u64,
}

impl Trash {
    pub(crate) fn new(queue: Producer<BoxedReader>, spare: usize) -> Self {
        Trash {
            queue,
            spare: Vec::with_capacity(spare),
            leaked: 0,
        }
    }

    /// Sends `reader` back.
    pub(crate) fn put(&mut self, reader: BoxedReader) {
        let reader = match self.spare.is_empty() {
            true => match self.queue.push(reader) {
                Ok(()) => return,
                Err(rtrb::PushError::Full(r)) => r,
            },
            false => reader,
        };
        if self.spare.len() < self.spare.capacity() {
            // Below capacity, so this push never reallocates.
            self.spare.push(reader);
        } else {
            std::mem::forget(reader);
            self.leaked += 1;
        }
    }

    /// Moves waiting readers into the queue while it has room, and reports
    /// leaks.
    pub(crate) fn flush(&mut self, events: &mut EventSink) {
        while let Some(reader) = self.spare.pop() {
            if let Err(rtrb::PushError::Full(r)) = self.queue.push(reader) {
                self.spare.push(r); // the slot just popped is free again
                break;
            }
        }
        if self.leaked > 0 {
            events.push(Event::ReadersLeaked {
                count: std::mem::take(&mut self.leaked),
            });
        }
    }
}
