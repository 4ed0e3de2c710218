//! `OneConnectionProxy`: a TCP relay on 127.0.0.1 that forwards one connection at a time to
//! a server and closes any other at once, the way a server with a limit of one connection
//! per user (or a firewall counting connections) turns a second client away. The bytes are
//! relayed untouched, so TLS is still end to end with the real server behind it.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;

pub struct OneConnectionProxy {
    port: u16,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    busy: AtomicBool,
    relayed: AtomicU32,
    refused: AtomicU32,
    stop: AtomicBool,
}

impl OneConnectionProxy {
    /// Listens on a free port of 127.0.0.1 and relays to `127.0.0.1:target_port`.
    pub fn start(target_port: u16) -> OneConnectionProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let s = state.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if s.busy.swap(true, Ordering::SeqCst) {
                    s.refused.fetch_add(1, Ordering::SeqCst);
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                s.relayed.fetch_add(1, Ordering::SeqCst);
                let s = s.clone();
                thread::spawn(move || {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) {
                        relay(client, server);
                    }
                    s.busy.store(false, Ordering::SeqCst);
                });
            }
        });
        OneConnectionProxy { port, state }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections relayed to the server so far.
    pub fn relayed(&self) -> u32 {
        self.state.relayed.load(Ordering::SeqCst)
    }

    /// Connections closed at once because another one was open.
    pub fn refused(&self) -> u32 {
        self.state.refused.load(Ordering::SeqCst)
    }
}

impl Drop for OneConnectionProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies both ways until both sides have finished sending.
fn relay(client: TcpStream, server: TcpStream) {
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    };
    let (c2, s2) = match (client.try_clone(), server.try_clone()) {
        (Ok(c), Ok(s)) => (c, s),
        _ => return,
    };
    let up = thread::spawn(move || pipe(client, server));
    pipe(s2, c2);
    let _ = up.join();
}
