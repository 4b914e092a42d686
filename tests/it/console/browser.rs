//! A real headless Chromium driven over WebDriver: `/usr/bin/chromedriver` started on a free
//! loopback port, a fresh profile per browser, and waits that poll a condition with a bound.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::support::backend::cannot_run;
use crate::support::target::eventually;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Bound on every wait for the page.
pub const LIMIT: Duration = Duration::from_secs(20);

/// One browser session; the driver process ends with it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with a `width`×`height` viewport (a phone's is emulated: a desktop window
    /// cannot be that narrow); fails the test (`cannot_run`) when the driver or the browser is
    /// not installed.
    pub async fn start(width: u32, height: u32) -> Browser {
        Browser::start_in(width, height, None).await
    }

    /// [`Browser::start`] with the browser's time zone set to `zone` (an IANA name, e.g.
    /// `Asia/Kolkata`), so local time differs from UTC whatever the machine's zone is.
    pub async fn start_in(width: u32, height: u32, zone: Option<&str>) -> Browser {
        for needed in [CHROMEDRIVER, CHROMIUM] {
            if !Path::new(needed).exists() {
                cannot_run(&format!(
                    "{needed} is missing (apt-get install -y chromium chromium-driver)"
                ));
            }
        }
        let port = free_port();
        // A process group of its own, so a test that fails midway still ends the browsers the
        // driver started (see `Drop`).
        let mut command = Command::new(CHROMEDRIVER);
        if let Some(zone) = zone {
            // The driver's environment is the browser's: Chromium takes its zone from TZ.
            command.env("TZ", zone);
        }
        let driver = command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-crash-reporter".into(),
            "--disable-breakpad".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        let mut options = json!({ "binary": CHROMIUM, "args": args });
        if width < 600 {
            options["mobileEmulation"] =
                json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1 } });
        }
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let client = eventually("chromedriver to take a session", LIMIT, || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                let connected = ClientBuilder::new(HttpConnector::new())
                    .capabilities(caps)
                    .connect(&url)
                    .await;
                match connected {
                    Ok(client) => Some(client),
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        None
                    }
                }
            }
        })
        .await;
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Ends the session (the driver ends with `self`).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .expect("script runs")
    }

    /// The first element matching `css` once there is one.
    pub async fn find(&self, css: &str) -> Element {
        eventually(&format!("an element {css}"), LIMIT, || async {
            self.client.find(Locator::Css(css)).await.ok()
        })
        .await
    }

    /// Waits until `script` (a function body) returns `true`; `what` names the condition.
    pub async fn until(&self, what: &str, script: &str) {
        eventually(what, LIMIT, || async {
            let done = self.client.execute(script, vec![]).await.ok()?;
            (done == Value::Bool(true)).then_some(())
        })
        .await
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        let text = self.js("return document.body.innerText;", vec![]).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Saves a PNG of the whole page (up to 1600 px tall) to `path`, growing the window for it.
    pub async fn screenshot(&self, path: &Path) {
        let (width, height) = self.client.get_window_size().await.expect("window size");
        let number = |v: Value| v.as_u64().unwrap_or(0);
        let page = number(
            self.js("return document.documentElement.scrollHeight;", vec![])
                .await,
        );
        let inner = number(self.js("return window.innerHeight;", vec![]).await);
        let wanted = page.clamp(inner, 1600) + height.saturating_sub(inner);
        let size = |w: u64, h: u64| {
            (
                u32::try_from(w).unwrap_or(1280),
                u32::try_from(h).unwrap_or(800),
            )
        };
        let (w, h) = size(width, wanted);
        self.client.set_window_size(w, h).await.expect("resize");
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write screenshot");
        let (w, h) = size(width, height);
        self.client
            .set_window_size(w, h)
            .await
            .expect("resize back");
    }
}

impl Drop for Browser {
    /// Kills the driver's process group: the driver and every browser process it started,
    /// also when a test panics before `close`.
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is
            // involved.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
