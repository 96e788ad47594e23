//! The page's server: accepting connections (allow list, a bound on how
//! many, the TLS handshake), HTTP/1.1 through hyper, and axum's routes —
//! the assets, login and logout, the layout, the live feed and commands.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use cuebox_engine::control::Command;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, oneshot, Semaphore};

use super::edit;
use super::sessions::{self, Session};
use super::{feed, lock, Shared, HANDSHAKE, MAX_CONNECTIONS};
use crate::api::keys::Role;
use crate::api::proto::RefusalKind;
use crate::limit::Take;
use crate::link::Refusal;
use crate::origin::{Input, Origin};
use crate::showctl::config::allows;

/// The browser's address, put on every request of its connection.
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

/// A refused request: its status and why, as `{"error": …}`.
struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

type Answer = Result<Json<Value>, Refused>;

/// Accepts connections until `stop`, serving each on its own task.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cueboxd: the operator's page cannot listen: {e}");
            return;
        }
    };
    tokio::spawn(feed::tick(shared.link.clone(), shared.feed.status.clone()));
    let app = router(shared.clone());
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        shared.refusals.flush();
        if !allows(&shared.config.allow, peer.ip()) {
            shared.refused(
                peer.ip(),
                "(connection)",
                "its address is not in the allow list (osc.allow of showctl.json)",
            );
            continue;
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            shared.refused(
                peer.ip(),
                "(connection)",
                "the page serves 64 connections at once",
            );
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (tls, app, shared) = (tls.clone(), app.clone(), shared.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE, tls.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    let why = format!("TLS handshake failed: {e}");
                    return shared.refused(peer.ip(), "(connection)", &why);
                }
                Err(_) => {
                    let why = "no TLS handshake within 10 s";
                    return shared.refused(peer.ip(), "(connection)", why);
                }
            };
            let service = TowerToHyperService::new(app.layer(Extension(Peer(peer))));
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| asset("text/html; charset=utf-8", super::assets::INDEX)),
        )
        .route(
            "/app.js",
            get(|| asset("text/javascript; charset=utf-8", super::assets::JS)),
        )
        .route(
            "/app.css",
            get(|| asset("text/css; charset=utf-8", super::assets::CSS)),
        )
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/layout", get(layout))
        .route("/api/live", get(live))
        .route("/api/act", post(act))
        .route("/api/clip/{clip}", get(clip))
        .route("/api/edit", post(edit))
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Every request: within its address's rate, and answered with headers
/// that keep the page from being framed, sniffed or cached.
async fn guard(
    State(shared): State<Arc<Shared>>,
    Extension(Peer(peer)): Extension<Peer>,
    request: Request,
    next: Next,
) -> Response {
    let taken = lock(&shared.rates).take(&peer.ip(), Instant::now());
    let mut response = if taken == Take::Pass {
        next.run(request).await
    } else {
        let why = "too many requests from this address: wait a moment";
        shared.refused(peer.ip(), request.uri().path(), why);
        Refused(StatusCode::TOO_MANY_REQUESTS, why.into()).into_response()
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, kind)], body)
}

/// The session a request's cookie names (and its token), if it is live.
fn find_session(shared: &Shared, headers: &HeaderMap) -> Option<(String, Session)> {
    let token = headers
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(sessions::token_in)?;
    let session = lock(&shared.sessions).get(token, Instant::now())?;
    Some((token.to_owned(), session))
}

/// The session a request's cookie names, or its refusal.
fn session_of(
    shared: &Shared,
    headers: &HeaderMap,
    ip: IpAddr,
    what: &str,
) -> Result<(String, Session), Refused> {
    find_session(shared, headers).ok_or_else(|| {
        let why = "not logged in (or the session ended): log in with a passcode";
        shared.refused(ip, what, why);
        Refused(StatusCode::UNAUTHORIZED, why.into())
    })
}

/// The session, for a request that changes something: its CSRF token must
/// come back in `X-CSRF-Token`.
fn acting_session(
    shared: &Shared,
    headers: &HeaderMap,
    ip: IpAddr,
    what: &str,
) -> Result<(String, Session), Refused> {
    let (token, session) = session_of(shared, headers, ip, what)?;
    let sent = headers
        .get("x-csrf-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !sessions::same(sent, session.csrf.as_bytes()) {
        let why = "the request lacks this session's CSRF token: reload the page";
        shared.refused(ip, what, why);
        return Err(Refused(StatusCode::FORBIDDEN, why.into()));
    }
    Ok((token, session))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    passcode: String,
}

/// `POST /api/login {"passcode": …}`: a session with the passcode's role.
async fn login(
    State(shared): State<Arc<Shared>>,
    Extension(Peer(peer)): Extension<Peer>,
    body: Bytes,
) -> Result<Response, Refused> {
    let ip = peer.ip();
    let Ok(Login { passcode }) = serde_json::from_slice(&body) else {
        let why = "a login is {\"passcode\": \"…\"}";
        return Err(bad_request(&shared, ip, "login", why.into()));
    };
    if shared.config.passcodes.is_empty() {
        let why = "this box has no passcodes: add osc.passcodes to showctl.json (docs/web.md)";
        shared.refused(ip, "login", why);
        return Err(Refused(StatusCode::FORBIDDEN, why.into()));
    }
    let now = Instant::now();
    if let Err(why) = lock(&shared.guesses).may_try(ip, now) {
        shared.refused(ip, "login", &why);
        return Err(Refused(StatusCode::TOO_MANY_REQUESTS, why));
    }
    let Some(role) = shared.role_of(&passcode) else {
        lock(&shared.guesses).wrong(ip, now);
        shared.refused(ip, "login", "wrong passcode");
        return Err(Refused(StatusCode::UNAUTHORIZED, "wrong passcode".into()));
    };
    lock(&shared.guesses).right(ip);
    let (token, session) = lock(&shared.sessions).open(role, now);
    Ok((
        [(header::SET_COOKIE, sessions::set_cookie(&token))],
        Json(json!({"role": role, "csrf": session.csrf})),
    )
        .into_response())
}

/// `POST /api/logout`: the session ends, its cookie is cleared.
async fn logout(
    State(shared): State<Arc<Shared>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let (token, _) = acting_session(&shared, &headers, peer.ip(), "logout")?;
    lock(&shared.sessions).close(&token);
    Ok((
        [(header::SET_COOKIE, sessions::set_cookie(""))],
        Json(json!({})),
    )
        .into_response())
}

/// `GET /api/me`: the session's role and CSRF token (a reloaded page
/// stays logged in). A question, not a request: a page without a session
/// is told so, and nothing is refused.
async fn me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    let (_, session) = find_session(&shared, &headers)
        .ok_or_else(|| Refused(StatusCode::UNAUTHORIZED, "not logged in".into()))?;
    Ok(Json(json!({"role": session.role, "csrf": session.csrf})))
}

/// `GET /api/layout`: the playing show's pages, tabs and buttons.
async fn layout(
    State(shared): State<Arc<Shared>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
) -> Answer {
    session_of(&shared, &headers, peer.ip(), "layout")?;
    let show = shared.link.show().map_err(refused)?;
    Ok(Json(json!({
        "pages": show.layout.pages,
        "double_go_ms": shared.link.double_go_guard().as_millis() as u64,
    })))
}

/// `GET /api/live`: the feed, as Server-Sent Events — `status` frames and
/// `box` events (and `lost` when this browser fell behind).
async fn live(
    State(shared): State<Arc<Shared>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    session_of(&shared, &headers, peer.ip(), "live")?;
    let status = shared.feed.status.subscribe();
    let events = shared.feed.events.subscribe();
    let stream =
        futures_util::stream::unfold((status, events), |(mut status, mut events)| async move {
            let event = tokio::select! {
                changed = status.changed() => {
                    changed.ok()?;
                    let frame = status.borrow_and_update().clone();
                    Event::default().event("status").data(&*frame)
                }
                got = events.recv() => match got {
                    Ok(e) => Event::default().event("box").data(&*e),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        Event::default().event("lost").data(n.to_string())
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            Some((Ok::<_, std::convert::Infallible>(event), (status, events)))
        });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// A refusal of the show's as an answer.
fn refused(r: Refusal) -> Refused {
    let status = match r.kind {
        RefusalKind::Unauthorized => StatusCode::UNAUTHORIZED,
        RefusalKind::Forbidden => StatusCode::FORBIDDEN,
        RefusalKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RefusalKind::BadRequest | RefusalKind::Invalid => StatusCode::BAD_REQUEST,
        RefusalKind::Locked => StatusCode::LOCKED,
        RefusalKind::NotFound => StatusCode::NOT_FOUND,
        RefusalKind::TooSoon | RefusalKind::Busy => StatusCode::CONFLICT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    Refused(status, r.message)
}

/// What the page asks the show to do: a command as command lines write it
/// (`{"cmd": "go", "clip": "c1"}`), or the page's own `go_next` (the
/// playhead's cue), `lock` and `unlock`.
enum Act {
    GoNext,
    Lock(bool),
    Command(Command),
}

impl Act {
    fn parse(body: &[u8]) -> Result<(Act, String), String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let name = value["cmd"].as_str().unwrap_or_default().to_owned();
        let act = match name.as_str() {
            "go_next" => Act::GoNext,
            "lock" => Act::Lock(true),
            "unlock" => Act::Lock(false),
            _ => Act::Command(Command::from_json(value).map_err(|(field, why)| {
                if field.is_empty() {
                    why
                } else {
                    format!("{field}: {why}")
                }
            })?),
        };
        Ok((act, name))
    }

    /// The role it needs, and whether it edits the show (refused while
    /// locked): a live level is an edit; unlocking changes what may be
    /// edited.
    fn needs(&self) -> (Role, bool) {
        match self {
            Act::Lock(false) => (Role::Edit, false),
            Act::Command(Command::GroupLevel { .. } | Command::FadeTo { .. }) => (Role::Edit, true),
            _ => (Role::Control, false),
        }
    }
}

/// Whether `session` may do `what`, which needs `needs` and (`edits`) is
/// refused while the show is locked; a refusal is booked.
fn permitted(
    shared: &Shared,
    ip: IpAddr,
    session: &Session,
    what: &str,
    needs: Role,
    edits: bool,
) -> Result<(), Refused> {
    if session.role < needs {
        let why = format!(
            "the passcode given allows {}, {what} needs {needs}",
            session.role
        );
        shared.refused(ip, what, &why);
        return Err(Refused(StatusCode::FORBIDDEN, why));
    }
    if edits && shared.link.locked() {
        let why = "the show is locked for the performance; an edit login can unlock it";
        shared.refused(ip, what, why);
        return Err(Refused(StatusCode::LOCKED, why.into()));
    }
    Ok(())
}

/// `GET /api/clip/{clip}`: the clip's level and fade times as the box
/// plays them, and the show's edit generation (an edit names it).
async fn clip(
    State(shared): State<Arc<Shared>>,
    Extension(Peer(peer)): Extension<Peer>,
    Path(clip): Path<String>,
    headers: HeaderMap,
) -> Answer {
    session_of(&shared, &headers, peer.ip(), "clip")?;
    let values = edit::values(&shared.link, &clip).map_err(refused)?;
    Ok(Json(json!(values)))
}

/// `POST /api/edit`: an edit login changes a clip's level or fade times
/// on the playing show, which takes it where it plays and is saved.
async fn edit(
    State(shared): State<Arc<Shared>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let ip = peer.ip();
    let (_, session) = acting_session(&shared, &headers, ip, "edit")?;
    let change: edit::ClipEdit = serde_json::from_slice(&body)
        .map_err(|e| bad_request(&shared, ip, "edit", format!("{}: {e}", edit::FORM)))?;
    permitted(&shared, ip, &session, "edit", Role::Edit, true)?;
    let origin = Origin::new(Input::Web, peer.to_string());
    // The link waits for the control thread, the save writes.
    off_runtime(&shared, ip, "edit".into(), move |shared| {
        change
            .apply(&shared.link, &shared.root, origin)
            .map(|r| json!(r))
    })
    .await
}

/// `POST /api/act`: a command for now, through the link.
async fn act(
    State(shared): State<Arc<Shared>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let ip = peer.ip();
    let (_, session) = acting_session(&shared, &headers, ip, "act")?;
    let (act, name) = Act::parse(&body).map_err(|why| bad_request(&shared, ip, "act", why))?;
    let (needs, edits) = act.needs();
    permitted(&shared, ip, &session, &name, needs, edits)?;
    let origin = Origin::new(Input::Web, peer.to_string());
    // The link waits for the control thread's stamp.
    off_runtime(&shared, ip, name, move |shared| {
        let link = &shared.link;
        match act {
            Act::GoNext => link.go_next(origin, None).map(|(cue, a)| {
                json!({"clip": cue.clip.to_string(), "cue": cue.number.map(|n| n.to_string()),
                       "at_sample": a.at_sample})
            }),
            Act::Lock(locked) => {
                link.set_locked(locked);
                Ok(json!({"locked": locked}))
            }
            Act::Command(command) => {
                let cue = match &command {
                    Command::Go { clip, .. } => {
                        link.show().ok().and_then(|s| s.cues.number_of(clip))
                    }
                    _ => None,
                };
                link.submit(origin.for_cue(cue), None, command)
                    .map(|a| json!({"at_sample": a.at_sample, "lead_samples": a.lead_samples}))
            }
        }
    })
    .await
}

/// A request the page cannot read: booked as a refusal, answered 400.
fn bad_request(shared: &Shared, ip: IpAddr, what: &str, why: String) -> Refused {
    shared.refused(ip, what, &why);
    Refused(StatusCode::BAD_REQUEST, why)
}

/// Runs `work`, which waits for the control thread or writes, off the
/// async runtime; its refusal is booked against `ip` as `what`.
async fn off_runtime(
    shared: &Arc<Shared>,
    ip: IpAddr,
    what: String,
    work: impl FnOnce(&Shared) -> Result<Value, Refusal> + Send + 'static,
) -> Answer {
    let worker = shared.clone();
    let done = tokio::task::spawn_blocking(move || work(&worker))
        .await
        .map_err(|e| Refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    done.map(Json).map_err(|r| {
        shared.refused(ip, &what, &r.message);
        refused(r)
    })
}
