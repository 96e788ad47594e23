//! CPU power management's latency request: while cueboxd holds
//! `/dev/cpu_dma_latency` open with 0 written to it, no CPU enters a sleep
//! state deeper than polling, so no wake-up of rt-out waits for a core to
//! climb out of C6 (hundreds of µs). Closing the file (or dying) drops the
//! request: the kernel keeps it only as long as the descriptor lives.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// The kernel's PM QoS device for CPU wake-up latency.
pub const DEVICE: &str = "/dev/cpu_dma_latency";

/// A held request for zero wake-up latency; dropping it releases it.
#[derive(Debug)]
pub struct ZeroLatency {
    _held: File,
}

impl ZeroLatency {
    /// Asks `device` for zero wake-up latency, held until dropped.
    pub fn hold(device: &Path) -> Result<Self, String> {
        let mut file = File::options()
            .write(true)
            .open(device)
            .map_err(|e| format!("cannot open {}: {e}", device.display()))?;
        file.write_all(&0i32.to_ne_bytes())
            .map_err(|e| format!("cannot write 0 to {}: {e}", device.display()))?;
        Ok(ZeroLatency { _held: file })
    }
}
