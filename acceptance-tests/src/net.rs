//! Loopback ports for unreachable-hypervisor scenarios.

use socket2::{Domain, Protocol, Socket, Type};

/// A loopback TCP port that refuses connections, reserved while this value lives: a socket bound
/// to it that never listens. (Binding a listener, reading its port and closing it would leave the
/// port free for any other process to take before the test connects.)
pub struct RefusingPort {
    _socket: Socket,
    /// The port.
    pub port: u16,
}

impl RefusingPort {
    /// Binds `127.0.0.1:0` without listening.
    pub fn new() -> std::io::Result<RefusingPort> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        let port = socket
            .local_addr()?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("the bound address is not an IP socket address"))?;
        Ok(RefusingPort {
            _socket: socket,
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_refused_and_the_port_stays_taken() {
        let p = RefusingPort::new().expect("bind");
        let e = std::net::TcpStream::connect(("127.0.0.1", p.port)).expect_err("nothing listens");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
        let taken = std::net::TcpListener::bind(("127.0.0.1", p.port)).expect_err("reserved");
        assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "{taken}");
    }
}
