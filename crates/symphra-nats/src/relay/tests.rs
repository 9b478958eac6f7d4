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
