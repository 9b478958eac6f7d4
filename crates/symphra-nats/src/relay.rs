//! The relay: a loopback TCP hop between the bridge's NATS client and the server that skips
//! (and counts) the messages the client cannot parse, so that one malformed message costs
//! that message and not the connection (see [`frame`](crate::frame) and
//! `docs/dev/async-nats-malformed-messages.md`).
//!
//! What the client sends goes to the server unchanged; what the server sends is read frame
//! by frame and forwarded in the same order, less the malformed messages. A connection that
//! turns to TLS cannot be read: the relay then forwards it unchanged (and says so once).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::connection::Shared;
use crate::frame::{self, Fault, Frame};
use crate::stats::bump;

/// The servers of a `nats://` URL list, and the URL the client uses to reach them through
/// the relay; `None` if the relay cannot serve it (another scheme, such as `tls://` or
/// `ws://`): the client then connects directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upstreams {
    /// `host:port` of each server, in the order given.
    pub(crate) servers: Vec<String>,
    /// `user:password@` or `token@` of the first URL that has one, to keep in the client's URL.
    pub(crate) user_info: Option<String>,
}

impl Upstreams {
    /// The servers of a comma-separated list of URLs such as `nats://a:4222,b`.
    pub(crate) fn parse(urls: &str) -> Option<Self> {
        let mut servers = Vec::new();
        let mut user_info = None;
        for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let rest = match url.split_once("://") {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("nats") => rest,
                Some(_) => return None,
                None => url,
            };
            let rest = rest.split('/').next().unwrap_or(rest);
            let host_port = match rest.rsplit_once('@') {
                Some((info, host_port)) => {
                    user_info.get_or_insert_with(|| info.to_owned());
                    host_port
                }
                None => rest,
            };
            let has_port = match host_port.rsplit_once(':') {
                Some((host, port)) => {
                    !port.is_empty() && (!host.contains(':') || host.ends_with(']'))
                }
                None => false,
            };
            servers.push(if has_port {
                host_port.to_owned()
            } else {
                format!("{host_port}:4222")
            });
        }
        (!servers.is_empty()).then_some(Self { servers, user_info })
    }
}

/// A running relay: where the client connects, and the task that accepts (aborting it
/// closes every relayed connection).
pub(crate) struct Relay {
    pub(crate) url: String,
    pub(crate) task: JoinHandle<()>,
}

/// Listens on a free loopback port and relays each connection to the next of `upstreams`.
pub(crate) async fn start(upstreams: Upstreams, shared: &Arc<Shared>) -> std::io::Result<Relay> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let url = match &upstreams.user_info {
        Some(info) => format!("nats://{info}@127.0.0.1:{port}"),
        None => format!("nats://127.0.0.1:{port}"),
    };
    let task = tokio::spawn(accept(listener, upstreams.servers, Arc::downgrade(shared)));
    Ok(Relay { url, task })
}

async fn accept(listener: TcpListener, servers: Vec<String>, shared: Weak<Shared>) {
    let next = AtomicUsize::new(0);
    let warned_tls = Arc::new(AtomicBool::new(false));
    let mut connections = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors, say: wait rather than spin; the client retries.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        // Finished connections are reaped here so that the set does not grow.
        while connections.try_join_next().is_some() {}
        let start = next.fetch_add(1, Ordering::Relaxed);
        let servers = servers.clone();
        let shared = shared.clone();
        let warned_tls = warned_tls.clone();
        connections.spawn(async move {
            // Each new connection tries the servers in turn, starting after the last one used.
            for i in 0..servers.len() {
                let server = &servers[(start + i) % servers.len()];
                if let Ok(upstream) = TcpStream::connect(server.as_str()).await {
                    relay(client, upstream, &shared, &warned_tls).await;
                    return;
                }
            }
            // None answered: dropping `client` tells the NATS client the attempt failed.
        });
    }
}

/// Relays one connection until either side closes it.
async fn relay(
    client: TcpStream,
    server: TcpStream,
    shared: &Weak<Shared>,
    warned_tls: &AtomicBool,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let addr = server.peer_addr().ok();
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        _ = forward(client_read, server_write) => {}
        () = filter(server_read, client_write, shared, warned_tls, addr) => {}
    }
}

/// How much the relay reads at a time, each way.
const READ_SIZE: usize = 64 * 1024;

async fn forward(from: OwnedReadHalf, mut to: OwnedWriteHalf) -> std::io::Result<u64> {
    // Larger reads than `tokio::io::copy`'s 8 KiB: fewer system calls per message.
    let mut from = tokio::io::BufReader::with_capacity(READ_SIZE, from);
    tokio::io::copy_buf(&mut from, &mut to).await
}

/// Forwards the server's stream to the client frame by frame, less malformed messages.
async fn filter(
    mut server: OwnedReadHalf,
    mut client: OwnedWriteHalf,
    shared: &Weak<Shared>,
    warned_tls: &AtomicBool,
    addr: Option<SocketAddr>,
) {
    let mut buf = BytesMut::with_capacity(READ_SIZE);
    loop {
        // Without room, `read_buf` would read 64 bytes at a time.
        if buf.capacity() - buf.len() < READ_SIZE / 4 {
            buf.reserve(READ_SIZE);
        }
        match server.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // The bytes at the start of `buf` that are ready to go to the client.
        let mut ready = 0;
        loop {
            match frame::next(&buf[ready..]) {
                Frame::Pass(len) => ready += len,
                Frame::Incomplete => break,
                Frame::Skip(len, fault) => {
                    if ready > 0 && client.write_all(&buf.split_to(ready)).await.is_err() {
                        return;
                    }
                    ready = 0;
                    buf.advance(len);
                    skipped(shared, fault);
                }
                Frame::TooLarge => {
                    // Whatever was complete goes first; the client then reconnects.
                    let _ = client.write_all(&buf.split_to(ready)).await;
                    tracing::warn!(
                        server = ?addr,
                        "the NATS server sent a frame larger than any server sends (a control \
                         line over {} bytes or a payload over {} bytes): closing the connection",
                        frame::MAX_CONTROL_LINE,
                        frame::MAX_PAYLOAD,
                    );
                    return;
                }
                Frame::StartsTls(len) => {
                    ready += len;
                    if client.write_all(&buf.split_to(ready)).await.is_err() {
                        return;
                    }
                    if !warned_tls.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            server = ?addr,
                            "the NATS server requires TLS: the bridge cannot skip malformed \
                             messages on this connection, so one can cost a reconnection"
                        );
                    }
                    let _ = client.write_all(&buf).await;
                    let _ = tokio::io::copy(&mut server, &mut client).await;
                    return;
                }
            }
        }
        if ready > 0 && client.write_all(&buf.split_to(ready)).await.is_err() {
            return;
        }
    }
}

fn skipped(shared: &Weak<Shared>, fault: Fault) {
    let Some(shared) = shared.upgrade() else {
        return;
    };
    let (counter, what) = match fault {
        Fault::Subject => (
            &shared.counters.invalid_subject,
            "a subject that is not UTF-8",
        ),
        Fault::Headers => (
            &shared.counters.invalid_headers,
            "headers the client cannot parse",
        ),
    };
    bump(counter);
    tracing::warn!(origin = %shared.origin, "skipped a NATS message with {what}");
}

#[cfg(test)]
mod tests;
