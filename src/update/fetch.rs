//! Getting bytes from a source: HTTP(S) through reqwest (blocking, rustls with the ring
//! provider) and `file://` / local paths. Downloads stream straight into a [`Sink`] (a range of
//! a disk or a file, a tar reader, a decompressor in front of either), hashed as they come, resumed with an HTTP Range request after an
//! interrupted transfer and retried with exponential backoff. This is the only file that uses
//! reqwest.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Once;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::sink::{self, Sink};

/// Largest manifest or signature accepted.
const SMALL_MAX: u64 = 16 << 20;
/// Bytes read from the network per write.
const CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{}: {}", redact(url), redact(why))]
    Http { url: String, why: String },
    #[error("{}: {}", redact(url), redact(why))]
    Redirect { url: String, why: String },
    #[error("{}: TLS: {}", redact(url), redact(why))]
    Tls { url: String, why: String },
    #[error("{}: HTTP status {status}", redact(url))]
    Status { url: String, status: u16 },
    #[error("{}: {size} bytes do not fit the {limit} bytes available", redact(url))]
    TooLarge { url: String, size: u64, limit: u64 },
    #[error("{}: the server sent {got} bytes, more than the {announced} it announced", redact(url))]
    LongerThanAnnounced { url: String, got: u64, announced: u64 },
    #[error("{}: not finished after {} s, the most a download may take", redact(url), .seconds)]
    Deadline { url: String, seconds: u64 },
    #[error("{}: gave up after {attempts} attempts: {}", redact(url), redact(why))]
    GaveUp { url: String, attempts: u32, why: String },
    #[error("{}: {source}", redact(url))]
    Target { url: String, source: io::Error },
    #[error("reading {path}: {source}")]
    Local { path: String, source: io::Error },
    #[error("interrupted")]
    Cancelled,
}

/// `text` with the user and password of every URL in it taken out (`https://user:pw@host/` →
/// `https://host/`), for errors, events and logs: a mirror's credentials are a secret.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == ')' || c == '"').unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(a) => rest = &tail[a + 1..],
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// The redirect rule: at most 10, and never from https to http (a redirect must not take the
/// transport's protection away).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt.previous().iter().any(|u| u.scheme() == "https") && attempt.url().scheme() != "https";
        if downgrade {
            let to = redact(attempt.url().as_str());
            attempt.error(format!("refusing a redirect from https to {to}"))
        } else if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else {
            attempt.follow()
        }
    })
}

/// How downloads are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in a row that make no progress before giving up.
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 8, first_backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(10) }
    }
}

/// What a finished download produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes of the file as served.
    pub bytes: u64,
    /// Bytes written to the destination (decompressed).
    pub written: u64,
    /// Lower-case hex SHA-256 of every byte written.
    pub sha256: String,
    /// How many times the transfer was resumed.
    pub resumes: u32,
}

/// Progress of one download: (bytes done, bytes expected when known).
pub type ProgressFn<'a> = dyn FnMut(u64, Option<u64>) + 'a;
/// Told about each retry (the reason), for a warning event.
pub type RetryFn<'a> = dyn FnMut(&str) + 'a;

pub struct Fetcher {
    client: reqwest::blocking::Client,
    pub retry: RetryPolicy,
    /// The most one download may take, retries and all: a server that trickles a byte at a
    /// time never holds an update (or its temporary files) open for longer.
    pub deadline: Duration,
}

/// [`Fetcher::deadline`] unless set otherwise: 6 hours (a 10 GiB image at 500 KiB/s).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(6 * 3600);

static PROVIDER: Once = Once::new();

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Fetcher {
    pub fn new() -> Result<Fetcher, FetchError> {
        // reqwest with rustls-no-provider panics without a process-wide provider, even for http://
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("imprint/", env!("CARGO_PKG_VERSION")))
            .redirect(redirect_policy())
            .build()
            .map_err(|e| FetchError::Http { url: String::new(), why: e.to_string() })?;
        Ok(Fetcher { client, retry: RetryPolicy::default(), deadline: DEFAULT_DEADLINE })
    }

    /// A small file (manifest, signature) read whole; None when the server says 404.
    pub fn get_small(&self, url: &str) -> Result<Option<Vec<u8>>, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            return match std::fs::read(path) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(FetchError::Local { path: path.into(), source: e }),
            };
        }
        let mut backoff = self.retry.first_backoff;
        let mut last = String::new();
        for _ in 0..self.retry.attempts {
            match self.try_get_small(url) {
                Ok(r) => return Ok(r),
                Err(
                    e @ (FetchError::Status { .. } | FetchError::TooLarge { .. } | FetchError::Tls { .. } | FetchError::Redirect { .. }),
                ) => {
                    return Err(e);
                }
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
        Err(FetchError::GaveUp { url: url.into(), attempts: self.retry.attempts, why: last })
    }

    fn try_get_small(&self, url: &str) -> Result<Option<Vec<u8>>, FetchError> {
        let herr = |e: reqwest::Error| match (is_tls(&e), e.is_redirect()) {
            (true, _) => FetchError::Tls { url: url.into(), why: error_chain(&e) },
            (false, true) => FetchError::Redirect { url: url.into(), why: error_chain(&e) },
            _ => FetchError::Http { url: url.into(), why: error_chain(&e) },
        };
        let resp = self.client.get(url).send().map_err(herr)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(FetchError::Status { url: url.into(), status: resp.status().as_u16() });
        }
        let mut out = Vec::new();
        resp.take(SMALL_MAX + 1).read_to_end(&mut out).map_err(|e| FetchError::Http { url: url.into(), why: e.to_string() })?;
        if out.len() as u64 > SMALL_MAX {
            return Err(FetchError::TooLarge { url: url.into(), size: out.len() as u64, limit: SMALL_MAX });
        }
        Ok(Some(out))
    }

    /// Streams `url` into `sink`, hashing every byte as served in the same pass. An
    /// interrupted transfer is resumed where it stopped (HTTP Range); a server that ignores
    /// Range sends the file again from the start and the bytes already had are skipped, so the
    /// sink — a decompressor, a tar reader — sees one unbroken stream either way.
    pub fn download(
        &self,
        url: &str,
        sink: Box<dyn Sink>,
        cancel: &dyn Fn() -> bool,
        progress: &mut ProgressFn<'_>,
        on_retry: &mut RetryFn<'_>,
    ) -> Result<Downloaded, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            return copy_local(std::path::Path::new(path), sink, cancel, progress);
        }
        let deadline = std::time::Instant::now() + self.deadline;
        let mut st = Stream { hasher: Sha256::new(), done: 0, total: None, resumes: 0, sink, deadline };
        let mut failures = 0u32;
        let mut backoff = self.retry.first_backoff;
        loop {
            if cancel() {
                return Err(FetchError::Cancelled);
            }
            if std::time::Instant::now() > st.deadline {
                return Err(FetchError::Deadline { url: url.into(), seconds: self.deadline.as_secs() });
            }
            let before = st.done;
            match self.attempt(url, &mut st, cancel, progress) {
                Ok(()) => {
                    let written = st.sink.finish().map_err(|e| sink_err(url, e))?;
                    let sha256 = hex(&st.hasher.finalize());
                    return Ok(Downloaded { bytes: st.done, written, sha256, resumes: st.resumes });
                }
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(why)) => {
                    if st.done > before {
                        failures = 0;
                        backoff = self.retry.first_backoff;
                    }
                    failures += 1;
                    if failures >= self.retry.attempts {
                        return Err(FetchError::GaveUp { url: url.into(), attempts: failures, why });
                    }
                    on_retry(&redact(&format!("{url}: {why}; resuming at byte {} in {} ms", st.done, backoff.as_millis())));
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(self.retry.max_backoff);
                    st.resumes += 1;
                }
            }
        }
    }

    fn attempt(&self, url: &str, st: &mut Stream, cancel: &dyn Fn() -> bool, progress: &mut ProgressFn<'_>) -> Result<(), Attempt> {
        let mut req = self.client.get(url);
        if st.done > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={}-", st.done));
        }
        let mut resp = req.send().map_err(|e| {
            if is_tls(&e) {
                // a certificate that is not trusted now will not be trusted in a second
                Attempt::Fatal(FetchError::Tls { url: url.into(), why: error_chain(&e) })
            } else if e.is_redirect() {
                // nor is a redirect refused by rule
                Attempt::Fatal(FetchError::Redirect { url: url.into(), why: error_chain(&e) })
            } else {
                Attempt::Retry(error_chain(&e))
            }
        })?;
        let status = resp.status();
        let len = resp.content_length();
        // the offset in the file of the next byte this response sends
        let mut pos = 0u64;
        if status == reqwest::StatusCode::PARTIAL_CONTENT && st.done > 0 {
            let start = resp
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if start != Some(st.done) {
                return Err(Attempt::Retry(format!("the server resumed at {start:?}, not at byte {}", st.done)));
            }
            pos = st.done;
            st.total = len.map(|l| l + st.done).or(st.total);
        } else if status.is_success() {
            // the whole file (again, if the server ignored Range: what we had is skipped)
            st.total = len;
        } else if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Attempt::Retry(format!("HTTP status {}", status.as_u16())));
        } else {
            return Err(Attempt::Fatal(FetchError::Status { url: url.into(), status: status.as_u16() }));
        }
        let mut buf = vec![0u8; CHUNK];
        loop {
            if cancel() {
                return Err(Attempt::Fatal(FetchError::Cancelled));
            }
            if std::time::Instant::now() > st.deadline {
                return Err(Attempt::Fatal(FetchError::Deadline { url: url.into(), seconds: self.deadline.as_secs() }));
            }
            let (n, failed) = fill(&mut resp, &mut buf, st.deadline);
            if std::time::Instant::now() > st.deadline {
                return Err(Attempt::Fatal(FetchError::Deadline { url: url.into(), seconds: self.deadline.as_secs() }));
            }
            let eof_err = failed.map(|e| format!("connection lost: {e}"));
            if n > 0 {
                let end = pos + n as u64;
                if let Some(total) = st.total
                    && end > total
                {
                    return Err(Attempt::Fatal(FetchError::LongerThanAnnounced { url: url.into(), got: end, announced: total }));
                }
                let new = &buf[(st.done.saturating_sub(pos) as usize).min(n)..n];
                if !new.is_empty() {
                    st.sink.write(new).map_err(|e| Attempt::Fatal(sink_err(url, e)))?;
                    st.hasher.update(new);
                    st.done = end;
                    progress(st.done, st.total);
                }
                pos = end;
            }
            if let Some(why) = eof_err {
                return Err(Attempt::Retry(why));
            }
            if n < buf.len() {
                // end of this response
                return match st.total {
                    Some(total) if st.done < total => Err(Attempt::Retry(format!("connection closed at byte {} of {total}", st.done))),
                    _ => Ok(()),
                };
            }
        }
    }
}

/// An error from the sink, with the TooLarge inside it made a FetchError::TooLarge.
fn sink_err(url: &str, e: io::Error) -> FetchError {
    match sink::too_large(&e) {
        Some(t) => FetchError::TooLarge { url: url.into(), size: t.size, limit: t.limit },
        None => FetchError::Target { url: url.into(), source: e },
    }
}

struct Stream {
    /// When the whole download must have finished.
    deadline: std::time::Instant,
    hasher: Sha256,
    /// Bytes of the file had so far (and fed to the sink).
    done: u64,
    total: Option<u64>,
    resumes: u32,
    sink: Box<dyn Sink>,
}

enum Attempt {
    Retry(String),
    Fatal(FetchError),
}

/// Reads until `buf` is full or the stream ends; the bytes read, and the error that stopped it
/// early (bytes read before a failure are kept).
/// Reads until `buf` is full, the stream ends, an error, or `deadline` passes.
fn fill(r: &mut impl Read, buf: &mut [u8], deadline: std::time::Instant) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() && std::time::Instant::now() <= deadline {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

fn copy_local(
    path: &std::path::Path,
    mut sink: Box<dyn Sink>,
    cancel: &dyn Fn() -> bool,
    progress: &mut ProgressFn<'_>,
) -> Result<Downloaded, FetchError> {
    let lerr = |e: io::Error| FetchError::Local { path: path.display().to_string(), source: e };
    let mut f = File::open(path).map_err(lerr)?;
    let total = f.metadata().map_err(lerr)?.len();
    let url = path.display().to_string();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        if cancel() {
            return Err(FetchError::Cancelled);
        }
        let (n, failed) = fill(&mut f, &mut buf, std::time::Instant::now() + DEFAULT_DEADLINE);
        if let Some(e) = failed {
            return Err(lerr(e));
        }
        if n == 0 {
            break;
        }
        sink.write(&buf[..n]).map_err(|e| sink_err(&url, e))?;
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(done, Some(total));
    }
    let written = sink.finish().map_err(|e| sink_err(&url, e))?;
    Ok(Downloaded { bytes: done, written, sha256: hex(&hasher.finalize()), resumes: 0 })
}

/// Whether a request failed on the server's certificate (untrusted, expired, wrong name):
/// rustls's error somewhere in the chain, also inside an io::Error (whose source() skips it).
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if c.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = c.downcast_ref::<io::Error>()
            && io.get_ref().is_some_and(|i| i.is::<rustls::Error>())
        {
            return true;
        }
        // the layers between reqwest and rustls do not always expose it as a source; its
        // text for a certificate problem is stable
        if c.to_string().starts_with("invalid peer certificate") {
            return true;
        }
        cur = c.source();
    }
    false
}

/// An error with its causes ("error sending request: connection refused"; "failed to unpack
/// `x`: permission denied").
pub(super) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    crate::errtext::chain(e)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(redact("https://fleet:s3cret@mirror.example/os/SHA256SUMS"), "https://mirror.example/os/SHA256SUMS");
        assert_eq!(
            redact("error sending request for url (http://u:p@127.0.0.1:80/a) via https://x@y/z"),
            "error sending request for url (http://127.0.0.1:80/a) via https://y/z"
        );
        assert_eq!(redact("http://host/a@b and file:///x"), "http://host/a@b and file:///x");
    }
}
