//! Getting bytes from a source: HTTP(S) through reqwest (blocking, rustls with the ring
//! provider) and `file://` / local paths. Downloads stream straight into the target (a range of
//! a disk or a file), hashed as they are written, resumed with an HTTP Range request after an
//! interrupted transfer and retried with exponential backoff. This is the only file that uses
//! reqwest.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Once;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Largest manifest or signature accepted.
const SMALL_MAX: u64 = 16 << 20;
/// Bytes read from the network per write.
const CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {why}")]
    Http { url: String, why: String },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {size} bytes do not fit the {limit} bytes available")]
    TooLarge { url: String, size: u64, limit: u64 },
    #[error("{url}: the server sent {got} bytes, more than the {announced} it announced")]
    LongerThanAnnounced { url: String, got: u64, announced: u64 },
    #[error("{url}: gave up after {attempts} attempts: {why}")]
    GaveUp { url: String, attempts: u32, why: String },
    #[error("writing {what}: {source}")]
    Write { what: String, source: io::Error },
    #[error("reading {path}: {source}")]
    Local { path: String, source: io::Error },
    #[error("interrupted")]
    Cancelled,
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
    pub bytes: u64,
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
}

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
            .build()
            .map_err(|e| FetchError::Http { url: String::new(), why: e.to_string() })?;
        Ok(Fetcher { client, retry: RetryPolicy::default() })
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
                Err(e @ (FetchError::Status { .. } | FetchError::TooLarge { .. })) => return Err(e),
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
        Err(FetchError::GaveUp { url: url.into(), attempts: self.retry.attempts, why: last })
    }

    fn try_get_small(&self, url: &str) -> Result<Option<Vec<u8>>, FetchError> {
        let herr = |e: reqwest::Error| FetchError::Http { url: url.into(), why: error_chain(&e) };
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

    /// Streams `url` into `out` at `base`, never past `base + limit`, hashing every byte in the
    /// same pass. An interrupted transfer is resumed where it stopped (HTTP Range; a server that
    /// ignores Range makes it start over, the hash with it).
    #[allow(clippy::too_many_arguments)]
    pub fn download(
        &self,
        url: &str,
        out: &File,
        base: u64,
        limit: u64,
        cancel: &dyn Fn() -> bool,
        progress: &mut ProgressFn<'_>,
        on_retry: &mut RetryFn<'_>,
    ) -> Result<Downloaded, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            return copy_local(std::path::Path::new(path), out, base, limit, cancel, progress);
        }
        let mut st = Stream { hasher: Sha256::new(), done: 0, total: None, resumes: 0 };
        let mut failures = 0u32;
        let mut backoff = self.retry.first_backoff;
        loop {
            if cancel() {
                return Err(FetchError::Cancelled);
            }
            let before = st.done;
            match self.attempt(url, out, base, limit, &mut st, cancel, progress) {
                Ok(()) => {
                    let sha256 = hex(&std::mem::take(&mut st.hasher).finalize());
                    return Ok(Downloaded { bytes: st.done, sha256, resumes: st.resumes });
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
                    on_retry(&format!("{url}: {why}; resuming at byte {} in {} ms", st.done, backoff.as_millis()));
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(self.retry.max_backoff);
                    st.resumes += 1;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &self,
        url: &str,
        out: &File,
        base: u64,
        limit: u64,
        st: &mut Stream,
        cancel: &dyn Fn() -> bool,
        progress: &mut ProgressFn<'_>,
    ) -> Result<(), Attempt> {
        let mut req = self.client.get(url);
        if st.done > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={}-", st.done));
        }
        let mut resp = req.send().map_err(|e| Attempt::Retry(error_chain(&e)))?;
        let status = resp.status();
        let len = resp.content_length();
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
            st.total = len.map(|l| l + st.done).or(st.total);
        } else if status.is_success() {
            if st.done > 0 {
                // no Range support: start over, hash included
                st.hasher = Sha256::new();
                st.done = 0;
            }
            st.total = len;
        } else if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Attempt::Retry(format!("HTTP status {}", status.as_u16())));
        } else {
            return Err(Attempt::Fatal(FetchError::Status { url: url.into(), status: status.as_u16() }));
        }
        if let Some(total) = st.total
            && total > limit
        {
            return Err(Attempt::Fatal(FetchError::TooLarge { url: url.into(), size: total, limit }));
        }
        let mut buf = vec![0u8; CHUNK];
        loop {
            if cancel() {
                return Err(Attempt::Fatal(FetchError::Cancelled));
            }
            let (n, failed) = fill(&mut resp, &mut buf);
            let eof_err = failed.map(|e| format!("connection lost: {e}"));
            if n > 0 {
                let end = st.done + n as u64;
                if end > limit {
                    return Err(Attempt::Fatal(FetchError::TooLarge { url: url.into(), size: end, limit }));
                }
                if let Some(total) = st.total
                    && end > total
                {
                    return Err(Attempt::Fatal(FetchError::LongerThanAnnounced { url: url.into(), got: end, announced: total }));
                }
                out.write_all_at(&buf[..n], base + st.done)
                    .map_err(|e| Attempt::Fatal(FetchError::Write { what: format!("at byte {}", base + st.done), source: e }))?;
                st.hasher.update(&buf[..n]);
                st.done = end;
                progress(st.done, st.total);
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

struct Stream {
    hasher: Sha256,
    done: u64,
    total: Option<u64>,
    resumes: u32,
}

enum Attempt {
    Retry(String),
    Fatal(FetchError),
}

/// Reads until `buf` is full or the stream ends; the bytes read, and the error that stopped it
/// early (bytes read before a failure are kept).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
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
    out: &File,
    base: u64,
    limit: u64,
    cancel: &dyn Fn() -> bool,
    progress: &mut ProgressFn<'_>,
) -> Result<Downloaded, FetchError> {
    let lerr = |e: io::Error| FetchError::Local { path: path.display().to_string(), source: e };
    let mut f = File::open(path).map_err(lerr)?;
    let total = f.metadata().map_err(lerr)?.len();
    let url = path.display().to_string();
    if total > limit {
        return Err(FetchError::TooLarge { url, size: total, limit });
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        if cancel() {
            return Err(FetchError::Cancelled);
        }
        let (n, failed) = fill(&mut f, &mut buf);
        if let Some(e) = failed {
            return Err(lerr(e));
        }
        if n == 0 {
            break;
        }
        if done + n as u64 > limit {
            return Err(FetchError::TooLarge { url, size: done + n as u64, limit });
        }
        out.write_all_at(&buf[..n], base + done).map_err(|e| FetchError::Write { what: format!("at byte {}", base + done), source: e })?;
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(done, Some(total));
    }
    Ok(Downloaded { bytes: done, sha256: hex(&hasher.finalize()), resumes: 0 })
}

/// reqwest's error with its causes ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
