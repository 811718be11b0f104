//! [`HttpServer`]: a tiny HTTP/1.1 server on 127.0.0.1 for `source.url` scenarios, started by the
//! test and stopped by its handle (dropped: the accept loop ends and its thread is joined). One
//! thread per connection, `Connection: close`, fixed routes; anything else answers 404.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How a route answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with `body`; `length`: send Content-Length (else the body ends with the connection);
    /// `cut`: close the connection after this many body bytes (a download dropped mid-body).
    Body {
        /// The bytes.
        body: Arc<Vec<u8>>,
        /// Send Content-Length.
        length: bool,
        /// Stop after this many bytes.
        cut: Option<usize>,
    },
    /// 200 with Content-Length, half of `body`, then nothing for `hold`, then the connection
    /// closes: a server that stalls mid-body.
    Stall {
        /// The bytes (half of them are sent).
        body: Arc<Vec<u8>>,
        /// How long to stall.
        hold: Duration,
    },
    /// 302 to this path (or URL).
    Redirect(String),
    /// This status, empty body.
    Status(u16),
}

/// The server; stopped when dropped.
pub struct HttpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Starts serving `routes` (path, reply) on a free loopback port.
    pub fn start(routes: Vec<(String, Reply)>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("the listener's address");
        let stop = Arc::new(AtomicBool::new(false));
        let routes = Arc::new(routes);
        let stop2 = stop.clone();
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let routes = routes.clone();
                std::thread::spawn(move || serve(conn, &routes));
            }
        });
        HttpServer {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, routes: &[(String, Reply)]) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
            break;
        }
    }
    let mut w = conn;
    let reply = routes.iter().find(|(p, _)| *p == path).map(|(_, r)| r.clone());
    let _ = match reply {
        None => w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        Some(Reply::Status(code)) => write!(
            w,
            "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Some(Reply::Redirect(to)) => write!(
            w,
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Some(Reply::Body { body, length, cut }) => {
            let mut head = String::from("HTTP/1.1 200 OK\r\nConnection: close\r\n");
            if length {
                head.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            head.push_str("\r\n");
            let send = &body[..cut.unwrap_or(body.len()).min(body.len())];
            w.write_all(head.as_bytes()).and_then(|()| w.write_all(send))
        }
        Some(Reply::Stall { body, hold }) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let r = w
                .write_all(head.as_bytes())
                .and_then(|()| w.write_all(&body[..body.len() / 2]))
                .and_then(|()| w.flush());
            std::thread::sleep(hold);
            r
        }
    };
    let _ = w.flush();
}
