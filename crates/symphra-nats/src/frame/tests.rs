use super::*;

#[test]
fn whole_messages_pass_and_partial_ones_wait() {
    // A payload whose size is not that of the line's end: each counted once.
    let hello = b"MSG t1.a 1 5\r\nhello\r\n";
    assert_eq!(next(hello), Frame::Pass(hello.len()));
    assert_eq!(next(&hello[..hello.len() - 1]), Frame::Incomplete);
    let msg = b"MSG t1.a 1 2\r\nhi\r\nPING\r\n";
    assert_eq!(next(msg), Frame::Pass(18));
    assert_eq!(next(&msg[18..]), Frame::Pass(6));
    assert_eq!(next(&msg[..17]), Frame::Incomplete);
    assert_eq!(next(b"MSG t1.a 1"), Frame::Incomplete);
    let reply = b"MSG t1.a 1 _INBOX.x 2\r\nhi\r\n";
    assert_eq!(next(reply), Frame::Pass(reply.len()));
    let hmsg = b"HMSG t 1 22 24\r\nNATS/1.0\r\nA-B: c d\r\n\r\nhi\r\n";
    assert_eq!(next(hmsg), Frame::Pass(hmsg.len()));
}

#[test]
fn a_subject_that_is_not_utf8_is_skipped_whole() {
    let bad = b"MSG t1.\xff 1 2\r\nhi\r\nMSG t1.a 1 2\r\nok\r\n";
    assert_eq!(next(bad), Frame::Skip(18, Fault::Subject));
    assert_eq!(next(&bad[18..]), Frame::Pass(18));
    let reply = b"MSG t 1 \xfe 0\r\n\r\n";
    assert_eq!(next(reply), Frame::Skip(reply.len(), Fault::Subject));
    // Not ASCII but UTF-8: the client reads it, so it passes.
    let accented = "MSG t1.caf\u{e9} 1 2\r\nhi\r\n";
    assert_eq!(next(accented.as_bytes()), Frame::Pass(accented.len()));
    // Fields split on any ASCII whitespace, runs of it too.
    let tabbed = b"MSG t\t1 \t 2\r\nhi\r\n";
    assert_eq!(next(tabbed), Frame::Pass(tabbed.len()));
}

#[test]
fn header_blocks_the_client_rejects_are_skipped() {
    let cases: [&[u8]; 5] = [
        b"HMSG t 1 22 24\r\nNATS/1.0\r\nA B: c d\r\n\r\nhi\r\n",
        b"HMSG t 1 20 22\r\nNATS/1.0\r\nAB c d\r\n\r\nhi\r\n",
        b"HMSG t 1 20 22\r\nNATS/2.0\r\nAB: cd\r\n\r\nhi\r\n",
        b"HMSG t 1 20 22\r\nNATS/1.0\r\nA\xff: cd\r\n\r\nhi\r\n",
        b"HMSG t 1 22 2\r\nNATS/1.0\r\nA-B: c d\r\n\r\n\r\n",
    ];
    for case in cases {
        assert!(
            matches!(next(case), Frame::Skip(_, Fault::Headers)),
            "{:?}",
            String::from_utf8_lossy(case)
        );
    }
    let status = b"HMSG t 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n";
    assert_eq!(next(status), Frame::Pass(status.len()));
}

#[test]
fn an_info_asking_for_tls_stops_the_reading() {
    assert_eq!(
        next(b"INFO {\"tls_required\":true}\r\n"),
        Frame::StartsTls(28)
    );
    assert_eq!(next(b"INFO {\"tls_required\":false}\r\n"), Frame::Pass(29));
    assert_eq!(next(b"INFO {}\r\n"), Frame::Pass(9));
}

#[test]
fn lines_without_sizes_pass_for_the_client_to_judge() {
    assert_eq!(next(b"MSG a b\r\n"), Frame::Pass(9));
    assert_eq!(
        next(b"MSG a 1 99999999999999999999999\r\n"),
        Frame::Pass(33)
    );
}

#[test]
fn a_line_ends_only_at_cr_lf() {
    // A bare `\n` is part of the line (the client reads it so too): the frame is not over.
    assert_eq!(next(b"PING\n"), Frame::Incomplete);
    assert_eq!(next(b"X\nY\r\n"), Frame::Pass(5));
    assert_eq!(next(b"\r\n"), Frame::Pass(2));
    assert_eq!(next(b"\n\r\n"), Frame::Pass(3));
    let msg = b"MSG a\n 1 2\r\nhi\r\n";
    assert_eq!(next(msg), Frame::Pass(msg.len()));
}

#[test]
fn a_line_with_too_many_fields_passes_for_the_client_to_judge() {
    let six = b"HMSG t 1 r 4 4 9\r\nNATS\r\n";
    assert_eq!(next(six), Frame::Pass(18));
    // A `MSG` that ends with a size passes with its payload; the client rejects it either way.
    let five = b"MSG t 1 r 2 2\r\nhi\r\n";
    assert_eq!(next(five), Frame::Pass(19));
    let two = b"MSG t 2\r\nhi\r\n";
    assert_eq!(next(two), Frame::Pass(13));
}

#[test]
fn the_quick_look_agrees_with_the_full_reading() {
    // Lines with a valid number of fields: the same frame either way (or no quick answer).
    let valid: [&[u8]; 9] = [
        b"MSG t1.a 1 2\r\nhi\r\n",
        b"MSG t1.a 1 _INBOX.x 2\r\nhi\r\n",
        b"MSG t1.a 1 +2\r\nhi\r\n",
        b"MSG t\t1 \t 2\r\nhi\r\n",
        b"MSG t1.a 1 02 \r\nhi\r\n",
        b"MSG t1.a 1 2\r\nh",
        b"MSG t1.a 1 x2\r\nhi\r\n",
        b"MSG t1.a 1 18446744073709551615\r\nhi\r\n",
        "MSG t1.caf\u{e9} 1 2\r\nhi\r\n".as_bytes(),
    ];
    for case in valid {
        let line_len = line_len(case).expect("a whole line");
        let (line, line_end) = (&case[..line_len], line_len + CRLF.len());
        let full = split_message(case, line, line_end, &line[4..], false);
        if let Some(quick) = plain_message(case, line, line_end) {
            assert_eq!(quick, full, "{:?}", String::from_utf8_lossy(case));
        }
        assert_eq!(next(case), full, "{:?}", String::from_utf8_lossy(case));
    }
    // A subject that is not UTF-8 gets no quick answer: the full reading skips it.
    let bad = b"MSG t1.\xff 1 2\r\nhi\r\n";
    assert_eq!(plain_message(bad, &bad[..12], 14), None);
    assert_eq!(next(bad), Frame::Skip(18, Fault::Subject));
}

#[test]
fn sizes_read_as_the_client_reads_them() {
    for text in [
        "0",
        "16",
        "+16",
        "007",
        "",
        "+",
        "++1",
        "-0",
        "1 ",
        "x",
        "1a",
        "\u{661}",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999",
    ] {
        assert_eq!(
            number(text.as_bytes()),
            text.parse::<usize>().ok(),
            "{text:?}"
        );
    }
}

#[test]
fn the_bridges_own_header_passes_in_any_case_the_client_accepts() {
    for name in ["Symphra-Event", "symphra-event"] {
        let block = format!("NATS/1.0\r\n{name}: o 1 2 s\r\n\r\n");
        let frame = format!(
            "HMSG t 1 {} {}\r\n{block}{{}}\r\n",
            block.len(),
            block.len() + 2
        );
        assert_eq!(next(frame.as_bytes()), Frame::Pass(frame.len()), "{name}");
    }
}

#[test]
fn frames_larger_than_any_server_sends_close_the_connection() {
    // A payload at the limit is waited for; one byte more is refused before it is buffered.
    let at_limit = format!("MSG a 1 {MAX_PAYLOAD}\r\n");
    assert_eq!(next(at_limit.as_bytes()), Frame::Incomplete);
    let headers_at_limit = format!("HMSG a 1 12 {MAX_PAYLOAD}\r\n");
    assert_eq!(next(headers_at_limit.as_bytes()), Frame::Incomplete);
    // The limits are nats-server's own: a server configured for 8 MiB payloads and
    // 64 KiB `INFO` lines (a large cluster's URLs) is waited for.
    assert_eq!(next(b"MSG a 1 8388608\r\n"), Frame::Incomplete);
    assert_eq!(next(&[b'a'; 64 * 1024]), Frame::Incomplete);
    let over = format!("MSG a 1 {}\r\n", MAX_PAYLOAD + 1);
    assert_eq!(next(over.as_bytes()), Frame::TooLarge);
    let over_headers = format!("HMSG a 1 12 {}\r\n", MAX_PAYLOAD + 1);
    assert_eq!(next(over_headers.as_bytes()), Frame::TooLarge);
    let over_with_reply = format!("MSG a 1 r\u{e9} {}\r\n", MAX_PAYLOAD + 1);
    assert_eq!(next(over_with_reply.as_bytes()), Frame::TooLarge);

    // A control line without its end is waited for up to the limit, then refused.
    let mut line = b"MSG ".to_vec();
    line.resize(MAX_CONTROL_LINE, b'a');
    assert_eq!(next(&line), Frame::Incomplete);
    line.push(b'a');
    assert_eq!(next(&line), Frame::TooLarge);
}
