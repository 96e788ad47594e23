//! Two network namespaces joined by a veth pair (scripts/lib/ptp-netns.sh),
//! shared by the tests that put the box and its peer on separate network
//! stacks: `TAG-gm` holds `TAG-g` at 10.77.N.1, `TAG-sl` holds `TAG-s` at
//! 10.77.N.2.

use std::path::PathBuf;
use std::process::{Child, Command};

/// A script under the workspace's scripts/lib (this file serves the tests
/// of more than one crate: the workspace is found above the crate).
pub fn script(name: &str) -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .map(|dir| dir.join("scripts/lib").join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("scripts/lib/{name} is not above {}", crate_dir.display()))
}

/// The namespaces, removed when dropped.
pub struct Netns(pub String);

impl Netns {
    /// Creates the pair (removing any left by a killed run).
    pub fn up(tag: &str) -> Netns {
        let ns = Netns(tag.to_string());
        ns.run("down");
        let status = ns.run("up");
        assert!(
            status,
            "cannot create network namespaces (this test needs root)"
        );
        ns
    }

    fn run(&self, action: &str) -> bool {
        Command::new(script("ptp-netns.sh"))
            .args([action, &self.0])
            .status()
            .unwrap()
            .success()
    }

    /// A command run inside one side (`gm` or `sl`).
    pub fn exec(&self, side: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &format!("{}-{side}", self.0)]);
        c
    }

    /// The IPv4 address of one side's veth.
    #[allow(dead_code)] // not every test that shares this module needs it
    pub fn address(&self, side: &str) -> String {
        let dev = format!("{}-{}", self.0, &side[..1]);
        let out = Command::new("ip")
            .args([
                "-n",
                &format!("{}-{side}", self.0),
                "-4",
                "-o",
                "addr",
                "show",
                "dev",
                &dev,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)
            .and_then(|a| a.split('/').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{dev} has no address: {text}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.run("down");
    }
}

/// A child killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
