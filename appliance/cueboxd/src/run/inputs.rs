//! The run's local inputs: standard input and the control socket, each a
//! command line at a time through the live link like every other input.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::RunError;
use crate::api::proto::Refusal;
use crate::events::{BoxEvent, Publisher};
use crate::link::LiveLink;
use crate::origin::{Input, Origin};

/// Reads commands from stdin, one JSON object per line, until it closes;
/// each goes through the link like every other input's.
pub(super) fn spawn_stdin(link: Arc<LiveLink>, events: Publisher) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                if let Err(Refusal {
                    message: reason, ..
                }) = link.command_line(Origin::local(Input::Stdin), &line)
                {
                    events.send(BoxEvent::CommandRefused { line, reason });
                }
            }
        })?;
    Ok(())
}

/// Connections the control socket serves at once.
const MAX_SOCKET_CLIENTS: usize = 16;

/// Listens on a Unix socket (mode 0600: root's, or cueboxd's user's, only);
/// each connection sends command lines and gets one JSON answer line per
/// command, through the link like every other input.
pub(super) fn serve_socket(
    path: &Path,
    link: Arc<LiveLink>,
) -> Result<std::thread::JoinHandle<()>, RunError> {
    use std::os::unix::fs::PermissionsExt;
    // A socket left by a killed run would make bind fail.
    if std::fs::symlink_metadata(path).is_ok_and(|m| {
        use std::os::unix::fs::FileTypeExt;
        m.file_type().is_socket()
    }) {
        std::fs::remove_file(path)?;
    }
    // Bound under a temporary name, closed to others, then renamed into
    // place: the socket is never reachable with the umask's mode.
    let staging = path.with_extension(format!("{}.tmp", std::process::id()));
    let listener = UnixListener::bind(&staging)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&staging, path)?;
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Ok(std::thread::Builder::new()
        .name("socket".into())
        .spawn(move || {
            for mut conn in listener.incoming().flatten() {
                if open.load(std::sync::atomic::Ordering::Relaxed) >= MAX_SOCKET_CLIENTS {
                    let refusal = json!({"ok": false, "reason": format!(
                        "{MAX_SOCKET_CLIENTS} control socket connections are open; close one")});
                    let _ = writeln!(conn, "{refusal}");
                    continue;
                }
                open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (link, served) = (link.clone(), open.clone());
                let spawned = std::thread::Builder::new()
                    .name("socket-client".into())
                    .spawn(move || {
                        serve_client(conn, &link);
                        served.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    });
                if spawned.is_err() {
                    open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })?)
}

fn serve_client(conn: UnixStream, link: &Arc<LiveLink>) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        // A line is a command: bounded, so a client cannot make us buffer forever.
        let mut line = Vec::new();
        match (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.len() as u64 > MAX_LINE {
            let refusal = json!({"ok": false, "reason": "a command line is at most 64 KiB"});
            if writeln!(out, "{refusal}").is_err() {
                break;
            }
            // Discard the rest of the line, unless it ended right at the bound.
            if !line.ends_with(b"\n") && !matches!(reader.skip_until(b'\n'), Ok(n) if n > 0) {
                break;
            }
            continue;
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let answer = match link.command_line(Origin::local(Input::Socket), line) {
            Ok(a) => json!({"ok": true,
                "accepted": {"at_sample": a.at_sample, "lead_samples": a.lead_samples}}),
            Err(Refusal {
                message: reason, ..
            }) => json!({"ok": false, "reason": reason}),
        };
        if writeln!(out, "{answer}").is_err() {
            break;
        }
    }
}

/// The longest command line a socket client may send.
const MAX_LINE: u64 = 64 * 1024;
