//! TEMPORARY: replaced by crate::system.
use std::thread::JoinHandle;
#[derive(Debug, Clone, Default)]
pub struct RtConfig {
    pub priority: u8,
    pub core: Option<usize>,
}
#[derive(Debug, serde::Serialize)]
pub struct RtSetup {}
pub fn spawn_rt<T: Send + 'static>(
    name: &str,
    _c: &RtConfig,
    body: impl FnOnce(RtSetup) -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || body(RtSetup {}))
}
