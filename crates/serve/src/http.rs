//! A small HTTP/1.1 server for scrapes: request heads read with poll on one thread (slow
//! clients hold no worker), a fixed number of worker threads (excess requests get 503 at
//! once), a size limit on the request head, a deadline for it and a write timeout (a client
//! that trickles bytes is dropped), and no request body. Only what an exporter
//! needs: GET and HEAD, one request per connection.

use std::io::{self, BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// The most bytes of request line and headers read.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its whole request head (a client trickling bytes is
/// dropped when it runs out), and we to send each answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

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

/// The most connections whose request heads are being read at once. Past it the one that
/// has waited longest is dropped (a scraper sends its head in one packet; a slow client is the
/// one that lingers), so slow clients can never shut scrapers out.
pub const MAX_PENDING: usize = 512;

/// A connection whose request head is still arriving.
struct Pending {
    stream: TcpStream,
    head: Vec<u8>,
    until: Instant,
}

/// What a read did to a pending connection.
enum Progress {
    More,
    Done(Result<Request, BadRequest>),
}

impl Pending {
    /// Reads what has arrived (the stream is non-blocking) and says whether the head is whole.
    fn read_some(&mut self) -> Progress {
        let mut buf = [0u8; 2048];
        loop {
            let room = (MAX_HEAD + 1 - self.head.len()).min(buf.len());
            match self.stream.read(&mut buf[..room]) {
                Ok(0) => return Progress::Done(read_request(&mut &self.head[..])),
                Ok(n) => {
                    let scanned = self.head.len().saturating_sub(3);
                    self.head.extend_from_slice(&buf[..n]);
                    if head_ends(&self.head[scanned..]) || self.head.len() > MAX_HEAD {
                        return Progress::Done(read_request(&mut &self.head[..]));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::More,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Progress::Done(Err(BadRequest::Gone)),
            }
        }
    }
}

/// Whether `bytes` hold the blank line that ends a request head.
fn head_ends(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\n\n") || bytes.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Answers a bad request from the accept thread without waiting on the client: the answer
/// is a few bytes, and a client that does not read them loses them.
fn refuse(mut stream: TcpStream, status: u16, why: &str) {
    let _ = stream.set_nonblocking(true);
    let _ = write_response(&mut stream, &Response::text(status, format!("{why}\n")), false);
}

/// The server. One thread accepts connections and reads their request heads with poll, so
/// any number of slow clients costs no worker; only whole requests go to the `workers`
/// threads, through a queue of `backlog` (scrapes of a cached collection take microseconds,
/// so a queue drains fast). A request arriving when the queue is full is answered 503 at once.
pub struct Server {
    listener: TcpListener,
    workers: usize,
    backlog: usize,
}

impl Server {
    pub fn new(listener: TcpListener, workers: usize, backlog: usize) -> Server {
        Server { listener, workers: workers.max(1), backlog }
    }

    /// Serves until `stop` is set (seen within 100 ms), then lets in-flight requests finish.
    pub fn run(self, handler: Arc<dyn Fn(&Request) -> Response + Send + Sync>, stop: &AtomicBool) -> io::Result<()> {
        let (tx, rx) = mpsc::sync_channel::<(TcpStream, Request)>(self.backlog);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let mut threads = Vec::new();
        for i in 0..self.workers {
            let rx = Arc::clone(&rx);
            let handler = Arc::clone(&handler);
            threads.push(std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
                loop {
                    let next = rx.lock().map(|r| r.recv());
                    let Ok(Ok((stream, request))) = next else { return };
                    answer(stream, &request, &*handler);
                }
            })?);
        }
        self.listener.set_nonblocking(true)?;
        let mut pending: Vec<Pending> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let (listener_ready, ready) = wait(&self.listener, &pending)?;
            if listener_ready {
                self.accept_all(&mut pending);
            }
            // Walk backwards so that removing a connection keeps the indexes still to visit.
            let now = Instant::now();
            for i in (0..pending.len()).rev() {
                let progress =
                    if ready.get(i).copied().unwrap_or(false) { pending[i].read_some() } else { Progress::More };
                let outcome = match progress {
                    Progress::Done(outcome) => outcome,
                    Progress::More if pending[i].until <= now => {
                        Err(BadRequest::Status(408, "the request took too long"))
                    }
                    Progress::More => continue,
                };
                let stream = pending.swap_remove(i).stream;
                match outcome {
                    Ok(request) => {
                        let _ = stream.set_nonblocking(false);
                        if let Err(mpsc::TrySendError::Full((stream, _))) = tx.try_send((stream, request)) {
                            refuse(stream, 503, "too many scrapes at once; try again");
                        }
                    }
                    Err(BadRequest::Gone) => {}
                    Err(BadRequest::Status(status, why)) => refuse(stream, status, why),
                }
            }
        }
        drop(tx);
        for t in threads {
            let _ = t.join();
        }
        Ok(())
    }

    /// Takes every waiting connection; past `MAX_PENDING` the longest-waiting one is dropped.
    fn accept_all(&self, pending: &mut Vec<Pending>) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    if pending.len() >= MAX_PENDING
                        && let Some(oldest) = (0..pending.len()).min_by_key(|&i| pending[i].until)
                    {
                        refuse(pending.swap_remove(oldest).stream, 408, "the request took too long");
                    }
                    pending.push(Pending { stream, head: Vec::new(), until: Instant::now() + IO_TIMEOUT });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // Out of fds and the like: leave the rest queued in the kernel for the next turn.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(50));
                    return;
                }
            }
        }
    }
}

/// Waits up to 100 ms (less when a deadline is nearer) for the listener or a pending
/// connection to be readable. Returns whether the listener is, and which connections are.
fn wait(listener: &TcpListener, pending: &[Pending]) -> io::Result<(bool, Vec<bool>)> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let now = Instant::now();
    let soonest = pending.iter().map(|p| p.until.saturating_duration_since(now)).min();
    let timeout = soonest.map_or(Duration::from_millis(100), |d| d.min(Duration::from_millis(100)));
    let mut fds = Vec::with_capacity(pending.len() + 1);
    fds.push(PollFd::new(listener, PollFlags::IN));
    fds.extend(pending.iter().map(|p| PollFd::new(&p.stream, PollFlags::IN)));
    let timeout = Timespec { tv_sec: timeout.as_secs() as i64, tv_nsec: i64::from(timeout.subsec_nanos()) };
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => {}
        Err(e) => return Err(e.into()),
    }
    // Hang-ups and errors count as readable: the read then sees them.
    let ready = |fd: &PollFd| !fd.revents().is_empty();
    Ok((ready(&fds[0]), fds[1..].iter().map(ready).collect()))
}

/// Answers one whole request on a worker.
fn answer(stream: TcpStream, request: &Request, handler: &dyn Fn(&Request) -> Response) {
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let mut writer = stream;
    let resp = handler(request);
    let _ = write_response(&mut writer, &resp, request.method == "HEAD");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

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
