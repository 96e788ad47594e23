//! Packages through the box's API: a session of the box packed and kept in
//! its Exports/<date>/ for the host to download ([`Request::Fetch`] of its
//! hash, as a pull's media), and a package uploaded to the box and imported
//! into one of its sessions — a full package as a push is (staged, then
//! activated), any other merged into the session, into the playing show
//! through its live revision when it plays there.
//!
//! [`Request::Fetch`]: super::proto::Request::Fetch

use std::io::Write;
use std::path::Path;

use cuebox_engine::control::revise::Cuts;
use cuebox_engine::show::{ContentHash, TabIndex};
use cuebox_session::package::{self, Mode, PackageError, Policy, Selection, Unpacked};
use cuebox_session::store::objects::{ObjectStore, Space};

use super::proto::{Imported, RefusalKind, Response, CHUNK};
use super::server::{refuse, Peer};
use super::service::{origin_of, BoxService, Conn, ShowControl};
use crate::events::BoxEvent;
use crate::live_edit::{self, NotRevised};
use crate::store::{activate, chain};

/// Where uploaded packages wait for their import, under the data root.
const IMPORTS: &str = "Imports";

/// A package a host uploads for an import: written in order, hashed as it
/// arrives, removed when the connection ends or another is offered.
pub struct Upload {
    hash: ContentHash,
    size: u64,
    file: tempfile::NamedTempFile,
    received: u64,
    hasher: blake3::Hasher,
    complete: bool,
}

impl Upload {
    /// The package's declared hash.
    pub fn hash(&self) -> ContentHash {
        self.hash
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

/// A package error as a refusal.
fn package_refusal(e: &PackageError) -> Response {
    let kind = match e {
        PackageError::Io { .. } => RefusalKind::Failed,
        PackageError::Selection(_) | PackageError::Conflict(_) => RefusalKind::BadRequest,
        PackageError::Media { .. } => RefusalKind::Media,
        PackageError::Newer { .. } | PackageError::Refused(_) | PackageError::Show(_) => {
            RefusalKind::Invalid
        }
        PackageError::NoSpace { .. } => RefusalKind::NoSpace,
    };
    refuse(kind, e.to_string())
}

impl<C: ShowControl> BoxService<C> {
    /// Packs `session` (the active one when `None`), keeps the package in
    /// Exports/<date>/ and lets this connection fetch it by its hash.
    pub(super) fn package_export(
        &self,
        conn: &mut Conn,
        session: Option<String>,
        mode: &str,
        what: Option<&str>,
        with_media: bool,
    ) -> Response {
        let selection = match Selection::parse(mode, what) {
            Ok(s) => s,
            Err(e) => return package_refusal(&e),
        };
        let name = match self.session_named(session) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let loaded = self
            .root()
            .open_session(&name)
            .and_then(|dir| Ok((dir.load()?.show, dir)));
        let (show, dir) = match loaded {
            Ok(l) => l,
            Err(e) => return refuse(RefusalKind::NotFound, chain(&e)),
        };
        let tag = [mode].into_iter().chain(what).collect::<Vec<_>>().join("-");
        let out = package::export_path(&self.root().exports_dir(), &name, &tag);
        let media = dir.media_folder(&show);
        // The box's map travels with the package: a box with another
        // interface says on import what that changes.
        let map = match self.root().device_map() {
            Ok(m) => m,
            Err(e) => return refuse(RefusalKind::Failed, chain(&e)),
        };
        let exported = match package::export(
            &show,
            &media,
            &selection,
            with_media,
            map.as_ref(),
            &out,
            &mut |_| (),
        ) {
            Ok(e) => e,
            Err(e) => return package_refusal(&e),
        };
        let hash = match cuebox_session::media::hash_file(&out, &mut |_| ()) {
            Ok(h) => h,
            Err(e) => {
                return refuse(
                    RefusalKind::Failed,
                    format!("cannot read {}: {e}", out.display()),
                )
            }
        };
        let file = out
            .strip_prefix(self.root().path())
            .unwrap_or(&out)
            .display()
            .to_string();
        let m = &exported.manifest;
        self.events().send(BoxEvent::ReportExported {
            file: file.clone(),
            summary: format!(
                "package of {name}: {} clip(s), {} media file(s), {} bytes",
                m.needs.clips,
                m.media.iter().filter(|x| x.included).count(),
                exported.bytes
            ),
        });
        conn.pulled.insert(hash, out);
        Response::Exported {
            file,
            bytes: exported.bytes,
            hash,
            manifest: serde_json::to_vec_pretty(m).expect("a manifest always serialises"),
        }
    }

    /// Opens an upload of a package of `size` bytes, if the box has room
    /// for it (and as much again to stage its media).
    pub(super) fn package_offer(&self, conn: &mut Conn, hash: ContentHash, size: u64) -> Response {
        conn.package = None;
        let dir = self.root().path().join(IMPORTS);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return refuse(
                RefusalKind::Failed,
                format!("cannot create {}: {e}", dir.display()),
            );
        }
        sweep(&dir);
        match Space::of(self.root().path()) {
            Ok(space) if space.free < size.saturating_mul(2).saturating_add(space.margin()) => {
                return refuse(
                    RefusalKind::NoSpace,
                    format!(
                        "the box has {} free; a package of {} needs twice that (the upload and its media) and a margin; remove a session first",
                        space.free, size
                    ),
                )
            }
            Ok(_) => {}
            Err(e) => return refuse(RefusalKind::Failed, chain(&e)),
        }
        match tempfile::Builder::new()
            .prefix(".upload-")
            .suffix(".tar")
            .tempfile_in(&dir)
        {
            Ok(file) => {
                conn.package = Some(Upload {
                    hash,
                    size,
                    file,
                    received: 0,
                    hasher: blake3::Hasher::new(),
                    complete: false,
                });
                Response::Ack { received: 0 }
            }
            Err(e) => refuse(
                RefusalKind::Failed,
                format!("cannot create an upload in {}: {e}", dir.display()),
            ),
        }
    }

    /// A chunk of the package offered, in order.
    pub(super) fn package_chunk(&self, conn: &mut Conn, offset: u64, data: &[u8]) -> Response {
        let up = conn.package.as_mut().expect("routed here for an upload");
        if up.complete || offset != up.received || data.len() > CHUNK {
            return refuse(
                RefusalKind::BadRequest,
                format!(
                    "a package's chunks come in order, at most {CHUNK} bytes each: expected offset {}",
                    up.received
                ),
            );
        }
        if up.received + data.len() as u64 > up.size {
            conn.package = None;
            return refuse(
                RefusalKind::BadRequest,
                "the package is longer than offered; offer it again",
            );
        }
        if let Err(e) = up.file.as_file_mut().write_all(data) {
            conn.package = None;
            return refuse(RefusalKind::Failed, format!("cannot store the upload: {e}"));
        }
        up.hasher.update(data);
        up.received += data.len() as u64;
        Response::Ack {
            received: up.received,
        }
    }

    /// The package offered arrived whole: check it is what was offered.
    pub(super) fn package_end(&self, conn: &mut Conn) -> Response {
        let up = conn.package.as_mut().expect("routed here for an upload");
        let found = ContentHash::from_bytes(*up.hasher.finalize().as_bytes());
        if up.received != up.size || found != up.hash {
            let (received, size) = (up.received, up.size);
            conn.package = None;
            return refuse(
                RefusalKind::Media,
                format!("the package arrived as {received} of {size} bytes hashing to {found}, not as offered; send it again"),
            );
        }
        up.complete = true;
        Response::Stored
    }

    /// Imports the package uploaded on this connection into `session`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn package_import(
        &self,
        peer: &Peer,
        conn: &mut Conn,
        session: Option<String>,
        hash: ContentHash,
        policy: Policy,
        to: Option<&str>,
        dry_run: bool,
    ) -> Response {
        let Some(up) = conn
            .package
            .as_ref()
            .filter(|u| u.hash == hash && u.complete)
        else {
            return refuse(
                RefusalKind::BadRequest,
                format!("package {hash} was not uploaded on this connection: offer it, send it, then import it"),
            );
        };
        let to = match to.map(package::parse_place).transpose() {
            Ok(to) => to.map(|(p, t)| (p, t.unwrap_or(TabIndex::from_number(1).expect("tab 1")))),
            Err(e) => return package_refusal(&e),
        };
        // Staged beside the object store (the data root's file system): the
        // media are linked from there into the store and the session.
        let objects_dir = self.root().path().join(ObjectStore::DIR);
        let stage = (!dry_run).then_some(objects_dir.as_path());
        let unpacked = match package::open(up.path(), stage) {
            Ok(u) => u,
            Err(e) => return package_refusal(&e),
        };
        let mode = unpacked.manifest.mode;
        let imported = |session: String, report, device_map, activated, revised| {
            Response::Imported(Box::new(Imported {
                session,
                mode: format!("{mode:?}").to_lowercase(),
                dry_run,
                report,
                device_map,
                activated,
                revised,
            }))
        };
        if mode == Mode::Full {
            let Some(name) = session else {
                return refuse(
                    RefusalKind::BadRequest,
                    "a full package becomes a session on the box: name it (--session NAME)",
                );
            };
            let media = match self.root().session_path(&name) {
                Ok(p) => p.join(activate::BOX_MEDIA),
                Err(e) => return refuse(RefusalKind::Invalid, chain(&e)),
            };
            let made = package::plan_media(&unpacked, &media).and_then(|plan| {
                let show = package::full_show(&unpacked, &plan)?;
                Ok((package::full_report(&unpacked, &plan, &show), show))
            });
            let (report, mut show) = match made {
                Ok(m) => m,
                Err(e) => return package_refusal(&e),
            };
            let translated = match self.root().device_map() {
                Ok(Some(map)) => package::translate_outputs(
                    &mut show,
                    unpacked.manifest.device_map.as_ref(),
                    &map,
                ),
                Ok(None) => Vec::new(),
                Err(e) => return refuse(RefusalKind::Failed, chain(&e)),
            };
            if dry_run {
                return imported(name, report, translated, None, None);
            }
            if let Err(r) = self.adopt(&unpacked) {
                return r;
            }
            // From here as a push of the packed show: staged, activated
            // (or revised where it plays), refused while clips play.
            let staged = match activate::stage(&name, &show.to_json()) {
                Ok(s) => s,
                Err(e) => return refuse(RefusalKind::Invalid, e.to_string()),
            };
            let manifest = staged.manifest;
            conn.staged = Some(staged);
            return match self.activate(conn, &name, manifest, origin_of(peer), None) {
                Response::Activated(a) => imported(name, report, translated, Some(a), None),
                refusal => refusal,
            };
        }
        let name = match self.session_named(session) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let dir = match self.root().open_session(&name) {
            Ok(d) => d,
            Err(e) => return refuse(RefusalKind::NotFound, chain(&e)),
        };
        // Into the playing show when this session plays: its generation
        // makes the revision refuse if another edit came first.
        let live = self
            .show()
            .live_show()
            .ok()
            .filter(|(playing, _, _)| *playing == name);
        let base = match &live {
            Some((_, show, _)) => (**show).clone(),
            None => match dir.load() {
                Ok(l) => l.show,
                Err(e) => return refuse(RefusalKind::Invalid, chain(&e)),
            },
        };
        let media = dir.media_folder(&base);
        let mut merged = base.clone();
        let report = match package::plan_media(&unpacked, &media).and_then(|plan| {
            let report = package::merge(&mut merged, &unpacked, &plan, policy, to)?;
            Ok((report, plan))
        }) {
            Ok(r) => r,
            Err(e) => return package_refusal(&e),
        };
        let (report, plan) = report;
        let problems = base.problems_added_by(&merged);
        if !problems.is_empty() {
            return refuse(
                RefusalKind::Invalid,
                format!(
                    "the import would make the session invalid; nothing was changed: {}",
                    problems.join("; ")
                ),
            );
        }
        if let Some(Err(r)) = live
            .as_ref()
            .map(|_| self.show().may_revise(&merged, Cuts::Refuse))
        {
            return refuse(r.kind, format!("{}; nothing was imported", r.message));
        }
        if dry_run {
            return imported(name, report, Vec::new(), None, None);
        }
        if let Err(e) = unpacked.place(&plan, &media) {
            unpacked.unplace(&plan, &media);
            return package_refusal(&e);
        }
        if let Err(r) = self.adopt(&unpacked) {
            unpacked.unplace(&plan, &media);
            return r;
        }
        let what = format!(
            "package import ({}, policy {policy:?})",
            format!("{mode:?}").to_lowercase()
        );
        match live {
            Some((_, _, generation)) => {
                let origin = origin_of(peer);
                let (show, root) = (self.show(), self.root());
                let made = (Some(generation), None);
                match live_edit::take_revision(show, root, origin, &name, made, merged, &what) {
                    Ok(revised) => imported(name, report, Vec::new(), None, Some(revised)),
                    Err(NotRevised::Untouched(r)) => {
                        unpacked.unplace(&plan, &media);
                        refuse(r.kind, r.message)
                    }
                    Err(NotRevised::Taken(r)) => refuse(r.kind, r.message),
                }
            }
            None => match dir.save_edit(&merged, &what) {
                Ok(()) => imported(name, report, Vec::new(), None, None),
                Err(e) => {
                    unpacked.unplace(&plan, &media);
                    refuse(RefusalKind::Failed, chain(&e))
                }
            },
        }
    }

    /// Links every staged media file of `unpacked` into the object store
    /// (so a later push, pull or collection sees it as any pushed file).
    fn adopt(&self, unpacked: &Unpacked) -> Result<(), Response> {
        for (hash, file) in unpacked.staged_media() {
            self.objects()
                .adopt(hash, file)
                .map_err(|e| refuse(RefusalKind::Failed, chain(&e)))?;
        }
        Ok(())
    }
}

/// Removes uploads a connection that died (or a crash) left, a day on.
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= super::service::PART_LIFETIME);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
