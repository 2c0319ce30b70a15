//! The servers' log, captured in-process: one global subscriber for the test binary writes
//! every WARN and ERROR event, as text, to a buffer the tests read. Every server a test starts
//! logs there (the servers run as tasks of the test binary, and the app installs no
//! subscriber of its own outside the CLI). All tests share the buffer, so a test looks for
//! what is unique to it, such as its request id.

use std::{
    io,
    sync::{Mutex, Once},
};
use tracing_subscriber::filter::LevelFilter;

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

struct Buffer;

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        LOG.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber, once; `spawn_on` calls it before starting a server.
pub fn capture() {
    INSTALL.call_once(|| {
        tracing_subscriber::fmt()
            .with_max_level(LevelFilter::WARN)
            .with_ansi(false)
            .with_writer(|| Buffer)
            .try_init()
            .expect("no other global subscriber in the test binary");
    });
}

/// The captured lines that contain `needle`.
pub fn lines_with(needle: &str) -> Vec<String> {
    let log = LOG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    String::from_utf8_lossy(&log)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}
