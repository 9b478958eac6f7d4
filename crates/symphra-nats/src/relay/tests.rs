use super::*;

#[test]
fn urls_become_servers_with_their_ports() {
    let up = Upstreams::parse("nats://a:4223, b ,nats://u:p@[::1]:5,nats://[::1]").unwrap();
    assert_eq!(up.servers, ["a:4223", "b:4222", "[::1]:5", "[::1]:4222"]);
    assert_eq!(up.user_info.as_deref(), Some("u:p"));
    assert_eq!(
        Upstreams::parse("NATS://tok@h/").unwrap().servers,
        ["h:4222"]
    );
}

#[test]
fn other_schemes_and_empty_lists_are_not_relayed() {
    assert_eq!(Upstreams::parse("tls://a:4222"), None);
    assert_eq!(Upstreams::parse("nats://a,ws://b"), None);
    assert_eq!(Upstreams::parse(" , "), None);
}

/// What a client receives through the relay from a server that writes `writes`, one write
/// each (stopping at the first that fails), then waits; the relay must close the connection
/// within a minute.
async fn received_through_the_relay(writes: Vec<Vec<u8>>) -> Vec<u8> {
    let server = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let server_addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = server.accept().await.unwrap();
        for write in writes {
            if socket.write_all(&write).await.is_err() {
                return;
            }
        }
        std::future::pending::<()>().await;
    });

    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (relay_side, _) = listener.accept().await.unwrap();
    let upstream = TcpStream::connect(server_addr).await.unwrap();
    tokio::spawn(async move {
        relay(relay_side, upstream, &Weak::new(), &AtomicBool::new(false)).await;
    });

    let mut received = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        client.read_to_end(&mut received),
    )
    .await
    .expect("the relay closes the connection")
    .unwrap();
    received
}

#[tokio::test]
async fn a_control_line_without_end_closes_the_connection_instead_of_filling_memory() {
    use crate::frame::MAX_CONTROL_LINE;

    // One good frame, then a line that never ends: up to four times the limit, so that a
    // relay that kept buffering leaves the client waiting (and the test fails).
    let mut writes = vec![b"PING\r\nMSG ".to_vec()];
    let chunk = vec![b'a'; 64 * 1024];
    writes.extend(std::iter::repeat_n(
        chunk,
        4 * MAX_CONTROL_LINE / (64 * 1024),
    ));
    assert_eq!(received_through_the_relay(writes).await, b"PING\r\n");
}

#[tokio::test]
async fn frames_complete_before_an_oversized_one_reach_the_client_before_it_closes() {
    use crate::frame::MAX_PAYLOAD;

    // One write, so that the relay reads the good frame and the oversized one together.
    let frames = format!("PING\r\nMSG a 1 {}\r\n", MAX_PAYLOAD + 1);
    assert_eq!(
        received_through_the_relay(vec![frames.into_bytes()]).await,
        b"PING\r\n"
    );
}
