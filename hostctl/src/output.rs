//! Printing for people and for scripts.

/// Prints `value` as pretty JSON on stdout. A reader that went away (`|
/// head`) ends the output quietly, not with a panic.
pub fn print_json(value: &serde_json::Value) {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).expect("a JSON value always serialises");
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// A progress bar on stderr for reading `bytes` bytes; hidden when stderr is
/// not a terminal or the output is JSON, so scripts see clean streams.
pub fn progress(bytes: u64, what: &str, json: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if json || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:20!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}
