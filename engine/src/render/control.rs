//! The control side's handle on a renderer: it sends commands, reads events
//! and drops the readers the render thread is done with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rtrb::{Consumer, Producer};

use super::command::{Command, Scheduled};
use super::event::Event;
use super::meter::{BusLevels, MeterReader};
use super::reader::BoxedReader;
use super::time::SamplePos;

/// Why a command was not sent; the command comes back.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The command queue is full: the render thread is not keeping up, or
    /// too many commands were sent ahead.
    #[error("the command queue is full")]
    Full(Box<Scheduled>),
    /// The command applies before one already sent. The queue is a timeline:
    /// hold future commands in a scheduler and send them in time order.
    #[error("the command applies at {at}, before a command already sent ({last})")]
    OutOfOrder {
        /// The command.
        command: Box<Scheduled>,
        /// Its frame.
        at: SamplePos,
        /// The frame of the last command sent.
        last: SamplePos,
    },
}

/// The control side of a [`Renderer`](super::Renderer): made together with
/// it, lives on any thread but the render thread.
pub struct RenderControl {
    pub(crate) commands: Producer<Scheduled>,
    pub(crate) events: Consumer<Event>,
    pub(crate) finished: Consumer<BoxedReader>,
    pub(crate) clock: Arc<AtomicU64>,
    pub(crate) last: SamplePos,
    pub(crate) meters: MeterReader,
}

impl RenderControl {
    /// Queues `command` to apply at frame `at`. Commands must be sent in
    /// time order; one whose frame has already been rendered applies at the
    /// start of the next block, with a [`Event::Late`].
    pub fn send(&mut self, at: SamplePos, command: Command) -> Result<(), SendError> {
        if at < self.last {
            return Err(SendError::OutOfOrder {
                command: Box::new(Scheduled { at, command }),
                at,
                last: self.last,
            });
        }
        match self.commands.push(Scheduled { at, command }) {
            Ok(()) => {
                self.last = at;
                Ok(())
            }
            Err(rtrb::PushError::Full(s)) => Err(SendError::Full(Box::new(s))),
        }
    }

    /// Room left in the command queue.
    pub fn command_room(&self) -> usize {
        self.commands.slots()
    }

    /// The next event, if any.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop().ok()
    }

    /// Every event waiting, in order.
    pub fn events(&mut self) -> impl Iterator<Item = Event> + '_ {
        std::iter::from_fn(|| self.events.pop().ok())
    }

    /// Drops the readers the render thread is done with (freeing their audio
    /// here, not there); returns how many. Call it regularly.
    pub fn drop_finished(&mut self) -> usize {
        let mut n = 0;
        while let Ok(reader) = self.finished.pop() {
            drop(reader);
            n += 1;
        }
        n
    }

    /// Every bus's levels: the highest peak since the last call (this takes
    /// them) and the RMS now.
    pub fn meters(&mut self) -> BusLevels {
        self.meters.read()
    }

    /// The first frame the renderer has not rendered yet, as of its last
    /// block.
    pub fn now(&self) -> SamplePos {
        SamplePos(self.clock.load(Ordering::Acquire))
    }
}
