//! A small HTTP/1.1 server for scrapes: a fixed number of worker threads (excess
//! connections get 503 at once), size limits on the request head, read and write timeouts
//! (a client that trickles bytes is dropped), and no request body. Only what an exporter
//! needs: GET and HEAD, one request per connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// The most bytes of request line and headers read.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its whole request head (a client trickling bytes is
/// dropped when it runs out), and we to send each answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A stream whose reads all end by one deadline: each read's timeout is what is left.
struct Deadline {
    stream: TcpStream,
    until: std::time::Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// A parsed request: what the handler sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// What the handler answers.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub allow: Option<&'static str>,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response { status, content_type: "text/plain; charset=utf-8", body: body.into().into_bytes(), allow: None }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Why a request could not be read, as the status to answer with (None: just close).
#[derive(Debug, PartialEq, Eq)]
pub enum BadRequest {
    Status(u16, &'static str),
    Gone,
}

/// Reads one request head from `r`: the request line and headers up to the blank line,
/// at most `MAX_HEAD` bytes.
pub fn read_request(r: &mut impl BufRead) -> Result<Request, BadRequest> {
    let mut head = Vec::new();
    let mut limited = r.take(MAX_HEAD as u64 + 1);
    loop {
        let before = head.len();
        match limited.read_until(b'\n', &mut head) {
            Ok(0) => {
                return Err(if head.is_empty() {
                    BadRequest::Gone
                } else if head.len() > MAX_HEAD {
                    BadRequest::Status(431, "request head over 8 KiB")
                } else {
                    BadRequest::Status(400, "incomplete request")
                });
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(BadRequest::Status(408, "the request took too long"));
            }
            Err(_) => return Err(BadRequest::Gone),
        }
        if head.len() > MAX_HEAD {
            return Err(BadRequest::Status(431, "request head over 8 KiB"));
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let text = std::str::from_utf8(&head).map_err(|_| BadRequest::Status(400, "the request is not text"))?;
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadRequest::Status(400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(BadRequest::Status(505, "only HTTP/1.x"));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || !target.starts_with('/') {
        return Err(BadRequest::Status(400, "malformed request line"));
    }
    let mut headers = Vec::new();
    for l in lines.filter(|l| !l.is_empty()) {
        let (k, v) = l.split_once(':').ok_or(BadRequest::Status(400, "malformed header"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    // The query string is not used; a path is matched whole.
    let path = target.split('?').next().unwrap_or("/").to_string();
    Ok(Request { method: method.to_string(), path, headers })
}

/// Writes a whole response and closes (Connection: close).
pub fn write_response(w: &mut impl Write, resp: &Response, head_only: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    );
    if let Some(allow) = resp.allow {
        head.push_str(&format!("Allow: {allow}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    if !head_only {
        w.write_all(&resp.body)?;
    }
    w.flush()
}

/// The server: `workers` threads answer; connections wait in a queue of `backlog` (scrapes
/// of a cached collection take microseconds, so a queue drains fast); one arriving when the
/// queue is full is answered 503 at once.
pub struct Server {
    listener: TcpListener,
    workers: usize,
    backlog: usize,
}

impl Server {
    pub fn new(listener: TcpListener, workers: usize, backlog: usize) -> Server {
        Server { listener, workers: workers.max(1), backlog }
    }

    /// Serves until `stop` is set (checked between connections; the listener is
    /// non-blocking so the flag is seen within 100 ms), then lets in-flight requests finish.
    pub fn run(self, handler: Arc<dyn Fn(&Request) -> Response + Send + Sync>, stop: &AtomicBool) -> io::Result<()> {
        let (tx, rx) = mpsc::sync_channel::<TcpStream>(self.backlog);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let busy = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        for i in 0..self.workers {
            let rx = Arc::clone(&rx);
            let handler = Arc::clone(&handler);
            let busy = Arc::clone(&busy);
            threads.push(std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
                loop {
                    let next = rx.lock().map(|r| r.recv());
                    let Ok(Ok(stream)) = next else { return };
                    busy.fetch_add(1, Ordering::Relaxed);
                    serve_one(stream, &*handler);
                    busy.fetch_sub(1, Ordering::Relaxed);
                }
            })?);
        }
        self.listener.set_nonblocking(true)?;
        while !stop.load(Ordering::Relaxed) {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    if let Err(mpsc::TrySendError::Full(mut stream)) = tx.try_send(stream) {
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                        let busy = Response::text(503, "too many scrapes at once; try again\n");
                        let _ = write_response(&mut stream, &busy, false);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Out of fds and the like: wait a moment rather than spin.
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        drop(tx);
        for t in threads {
            let _ = t.join();
        }
        Ok(())
    }
}

fn serve_one(stream: TcpStream, handler: &dyn Fn(&Request) -> Response) {
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(Deadline { stream, until: std::time::Instant::now() + IO_TIMEOUT });
    let resp = match read_request(&mut reader) {
        Ok(req) => {
            let head_only = req.method == "HEAD";
            let resp = handler(&req);
            let _ = write_response(&mut writer, &resp, head_only);
            return;
        }
        Err(BadRequest::Gone) => return,
        Err(BadRequest::Status(status, why)) => Response::text(status, format!("{why}\n")),
    };
    let _ = write_response(&mut writer, &resp, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Result<Request, BadRequest> {
        read_request(&mut BufReader::new(text))
    }

    #[test]
    fn requests_are_read_and_bad_ones_named() {
        let r = parse(b"GET /metrics?x=1 HTTP/1.1\r\nAccept: application/openmetrics-text\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/metrics"));
        assert_eq!(r.header("accept"), Some("application/openmetrics-text"));
        assert_eq!(parse(b""), Err(BadRequest::Gone));
        assert_eq!(parse(b"GET /\r\n\r\n"), Err(BadRequest::Status(400, "malformed request line")));
        assert_eq!(parse(b"GET / HTTP/2\r\n\r\n"), Err(BadRequest::Status(505, "only HTTP/1.x")));
        assert_eq!(parse(b"get / HTTP/1.1\r\n\r\n"), Err(BadRequest::Status(400, "malformed request line")));
        assert_eq!(parse(b"GET ../etc HTTP/1.1\r\n\r\n"), Err(BadRequest::Status(400, "malformed request line")));
        assert_eq!(parse(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"), Err(BadRequest::Status(400, "malformed header")));
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: a"), Err(BadRequest::Status(400, "incomplete request")));
        let mut huge = b"GET / HTTP/1.1\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        assert_eq!(parse(&huge), Err(BadRequest::Status(431, "request head over 8 KiB")));
        assert_eq!(parse(b"\xff\xfe / HTTP/1.1\r\n\r\n"), Err(BadRequest::Status(400, "the request is not text")));
    }

    #[test]
    fn responses_say_their_length_and_close() {
        let mut out = Vec::new();
        write_response(&mut out, &Response::text(404, "no\n"), false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n") && text.contains("Content-Length: 3\r\n"));
        assert!(text.ends_with("\r\n\r\nno\n"));
        let mut head = Vec::new();
        write_response(&mut head, &Response::text(200, "body"), true).unwrap();
        assert!(String::from_utf8(head).unwrap().ends_with("\r\n\r\n"));
    }
}
