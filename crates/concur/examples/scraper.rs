//! The lecture's scraper: fetch several pages concurrently on a thread pool
//! and report each page's `<title>` (or its error) as soon as it arrives.
//!
//! Everything is real: the example starts its own HTTP server on loopback,
//! fetches with a real HTTP client (ureq), parses HTML with `scraper`, and
//! meets real failures: a 404, a refused connection, and a page slower than
//! the client's timeout.
//!
//! Run with `cargo run --release --example scraper`.

use concur::Executor;
use concur::combinators::as_completed;
use concur::thread::ThreadPool;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const CLIENT_TIMEOUT: Duration = Duration::from_millis(400);

/// Serves a few pages on 127.0.0.1 until the returned handle is dropped.
struct LocalSite {
    server: Arc<tiny_http::Server>,
    base: String,
    thread: Option<thread::JoinHandle<()>>,
}

impl LocalSite {
    fn start() -> Self {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let s = server.clone();
        let thread = thread::spawn(move || {
            for request in s.incoming_requests() {
                // One thread per request, so the slow page delays nobody else.
                thread::spawn(move || serve(request));
            }
        });
        Self {
            server,
            base: format!("http://127.0.0.1:{port}"),
            thread: Some(thread),
        }
    }
}

impl Drop for LocalSite {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn page(title: &str, delay_ms: u64) -> (String, u64) {
    (
        format!(
            "<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        ),
        delay_ms,
    )
}

fn serve(request: tiny_http::Request) {
    let found = match request.url() {
        "/python" => Some(page("Welcome to Python.org", 120)),
        "/rust" => Some(page("Rust Programming Language", 60)),
        "/concur" => Some(page("concur: futures done right", 10)),
        "/slow" => Some(page("You will not see this title", 2_000)),
        _ => None,
    };
    let html =
        tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"text/html; charset=utf-8"[..])
            .expect("a valid static header");
    let response = match found {
        Some((body, delay_ms)) => {
            thread::sleep(Duration::from_millis(delay_ms));
            tiny_http::Response::from_string(body).with_header(html)
        }
        None => {
            tiny_http::Response::from_string("<html><head><title>Not Found</title></head></html>")
                .with_status_code(404)
                .with_header(html)
        }
    };
    // The client may have given up (the slow page): nothing to do then.
    let _ = request.respond(response);
}

/// A loopback URL whose port nobody listens on: connecting is refused.
fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/nobody-home")
}

/// Fetches `url` and returns the page's title.
fn fetch_title(agent: &ureq::Agent, url: &str) -> Result<String, String> {
    let mut response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => format!("HTTP {code}"),
        ureq::Error::Timeout(_) => format!("timed out after {CLIENT_TIMEOUT:?}"),
        ureq::Error::Io(io) => format!("connection failed: {io}"),
        other => other.to_string(),
    })?;
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let document = scraper::Html::parse_document(&body);
    let selector = scraper::Selector::parse("title").map_err(|e| e.to_string())?;
    document
        .select(&selector)
        .next()
        .map(|t| t.text().collect::<String>().trim().to_string())
        .ok_or_else(|| "page has no <title>".to_string())
}

/// Why a fetch failed, as the task's error (the future stores it).
#[derive(Debug)]
struct FetchError(String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let site = LocalSite::start();
    let urls: Vec<String> = ["/python", "/rust", "/concur", "/missing", "/slow"]
        .iter()
        .map(|p| format!("{}{p}", site.base))
        .chain([refused_url()])
        .collect();

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(CLIENT_TIMEOUT))
        // One connection per fetch: tiny_http serves a kept-alive
        // connection's requests one after another, so a pooled connection
        // could queue a fast page behind a slow one.
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .build()
        .into();
    let pool = ThreadPool::builder()
        .max_workers(8)
        .thread_name_prefix("scraper")
        .build()?;

    println!(
        "fetching {} URLs on {} threads",
        urls.len(),
        pool.max_workers()
    );
    let start = Instant::now();
    let futures: Vec<_> = urls
        .iter()
        .map(|url| {
            let (agent, url) = (agent.clone(), url.clone());
            pool.submit_fallible(move || fetch_title(&agent, &url).map_err(FetchError))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;

    // Report each page as soon as it is done (CPython's as_completed loop).
    let (mut ok, mut failed) = (0, 0);
    for done in as_completed(&futures).timeout(Duration::from_secs(10)) {
        let fut = done?;
        let index = futures
            .iter()
            .position(|f| f.id() == fut.id())
            .expect("one of ours");
        let elapsed = start.elapsed().as_millis();
        match fut.result() {
            Ok(title) => {
                ok += 1;
                println!("{elapsed:>5} ms  OK    {}  title: {title:?}", urls[index]);
            }
            Err(e) => {
                failed += 1;
                let why = e
                    .downcast_ref::<FetchError>()
                    .map_or_else(|| e.to_string(), |f| f.0.clone());
                println!("{elapsed:>5} ms  ERROR {}  {why}", urls[index]);
            }
        }
    }
    println!(
        "{ok} pages fetched, {failed} failed, in {:?}",
        start.elapsed()
    );
    pool.shutdown();
    Ok(())
}
