//! A headless Chromium (Debian's `chromium` and `chromium-driver`, installed
//! by scripts/setup.sh) driven through chromedriver's WebDriver protocol:
//! plain JSON over HTTP on loopback, spoken here with std's TcpStream.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver, serving any number of browsers; killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it answers.
    pub fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver runs: apt-get install chromium chromium-driver (scripts/setup.sh)",
            );
        let driver = Driver { child, port };
        let end = Instant::now() + Duration::from_secs(20);
        while driver.http("GET", "/status", None).is_err() {
            assert!(
                Instant::now() < end,
                "chromedriver did not answer within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// One WebDriver call; its `value`.
    fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| e.to_string())?;
        // chromedriver keeps the connection open: read the head, then
        // exactly Content-Length bytes.
        let mut reader = std::io::BufReader::new(s);
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err("the connection closed in the head".into());
            }
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().map_err(|_| "a bad Content-Length")?;
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        let body = String::from_utf8_lossy(&body);
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if v["value"]["error"].is_string() {
            return Err(format!("{path}: {}", v["value"]));
        }
        Ok(v["value"].clone())
    }

    /// A new headless browser of `width` × `height`.
    pub fn browser(&self, width: u32, height: u32) -> Browser<'_> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                format!("--window-size={width},{height}"),
            ]},
        }}});
        let v = self
            .http("POST", "/session", Some(&caps))
            .expect("chromium starts");
        let b = Browser {
            driver: self,
            session: v["sessionId"].as_str().unwrap().to_owned(),
        };
        b.resize(width, height);
        b
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser (a WebDriver session); closed when dropped.
pub struct Browser<'d> {
    driver: &'d Driver,
    session: String,
}

impl Browser<'_> {
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let body = (method == "POST").then_some(&body);
        self.driver
            .http(method, &path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Its viewport's size, as a phone or tablet would have it.
    pub fn resize(&self, width: u32, height: u32) {
        // The window's size is the viewport's in headless mode.
        self.call(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        );
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    /// A new window of the same browser (its cookies too), switched to;
    /// its handle.
    pub fn new_window(&self) -> Value {
        let v = self.call("POST", "/window/new", json!({"type": "window"}));
        self.switch(&v["handle"]);
        v["handle"].clone()
    }

    /// The window with `handle` takes the commands from now on.
    pub fn switch(&self, handle: &Value) {
        self.call("POST", "/window", json!({ "handle": handle }));
    }

    /// The current window's handle.
    pub fn window(&self) -> Value {
        self.call("GET", "/window", json!({}))
    }

    fn element(&self, css: &str) -> Value {
        let v = self.call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT].clone()
    }

    /// Clicks the element `css` selects, as a tap would.
    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.call(
            "POST",
            &format!("/element/{}/click", id.as_str().unwrap()),
            json!({}),
        );
    }

    /// Types `text` into the element `css` selects.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        let id = id.as_str().unwrap();
        self.call("POST", &format!("/element/{id}/clear"), json!({}));
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    /// Presses the pointer on the element `css` selects, holds it `hold`,
    /// and lets go.
    pub fn press(&self, css: &str, hold: Duration) {
        let id = self.element(css);
        self.call(
            "POST",
            "/actions",
            json!({"actions": [{"type": "pointer", "id": "finger", "parameters": {"pointerType": "mouse"},
                "actions": [
                    {"type": "pointerMove", "origin": {ELEMENT: id}, "x": 0, "y": 0},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pause", "duration": hold.as_millis() as u64},
                    {"type": "pointerUp", "button": 0}]}]}),
        );
        self.call("DELETE", "/actions", json!({}));
    }

    /// Presses and releases the key `key` (a WebDriver key value).
    pub fn key(&self, key: &str) {
        self.call(
            "POST",
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]}),
        );
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page;
    /// what it returns.
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
    }

    /// Runs an async `script` whose last argument is the callback to call
    /// with its result.
    pub fn js_async(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/async",
            json!({"script": script, "args": args}),
        )
    }

    /// Waits (up to `within`) until `script` returns something truthy; it.
    pub fn wait(&self, what: &str, script: &str, within: Duration) -> Value {
        let end = Instant::now() + within;
        loop {
            let v = self.js(script, json!([]));
            if !(v.is_null() || v == false || v == 0 || v == "") {
                return v;
            }
            assert!(Instant::now() < end, "{what}: not within {within:?}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.session);
        let _ = self.driver.http("DELETE", &path, None);
    }
}
