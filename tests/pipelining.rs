//! Pipelined commands whose answers the server interleaves (Dovecot runs
//! pipelined FETCH commands side by side): every response reaches the
//! command it answers, in command order, literals included.

use imapprobe::session::{Command, PipelineSink, Session};
use imapprobe::trace::Trace;
use imapprobe::transport::Connection;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

/// Routes by the UID in the response, like the sweep does.
#[derive(Default)]
struct ByUid {
    uids: Vec<u32>,
    streamed: Vec<Vec<u8>>,
}

impl PipelineSink for ByUid {
    fn owner(&mut self, response: &[u8]) -> Option<usize> {
        let text = String::from_utf8_lossy(response);
        let uid: u32 = text
            .split("UID ")
            .nth(1)?
            .split([' ', ')'])
            .next()?
            .parse()
            .ok()?;
        self.uids.iter().position(|&u| u == uid)
    }
    fn chunk(&mut self, command: usize, bytes: &[u8]) {
        self.streamed[command].extend_from_slice(bytes);
    }
}

#[tokio::test]
async fn interleaved_answers_reach_their_commands() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let big = "x".repeat(100_000);
    let server_big = big.clone();
    std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut w = s;
        let mut tags = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            tags.push(line.split(' ').next().unwrap().to_string());
        }
        // The second command's answer first, then the first's, then the
        // completions in reverse order.
        let answer = format!(
            "* 2 FETCH (UID 20 BODY[] {{{}}}\r\n{})\r\n* 1 FETCH (UID 10 BODY[] {{5}}\r\nsmall)\r\n{} OK second done\r\n{} OK first done\r\n",
            server_big.len(),
            server_big,
            tags[1],
            tags[0]
        );
        w.write_all(answer.as_bytes()).unwrap();
        let mut rest = String::new();
        let _ = reader.read_line(&mut rest);
    });
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut session = Session::new(Connection::new(
        tcp,
        addr,
        Duration::from_secs(10),
        Trace::off(),
    ));
    let cmds = [
        Command::new("UID FETCH 10 (UID BODY.PEEK[])"),
        Command::new("UID FETCH 20 (UID BODY.PEEK[])"),
    ];
    let mut sink = ByUid {
        uids: vec![10, 20],
        streamed: vec![Vec::new(), Vec::new()],
    };
    let replies = session
        .run_pipelined(&cmds, 16, 64 * 1024, &mut sink)
        .await
        .unwrap_or_else(|(_, e)| panic!("{e}"));
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].reply.text, "first done");
    assert_eq!(replies[1].reply.text, "second done");
    // UID 10's small body stayed in its response; UID 20's went to its sink.
    let first = String::from_utf8_lossy(&replies[0].reply.untagged[0].0).into_owned();
    assert!(
        first.contains("UID 10") && first.contains("small"),
        "{first}"
    );
    let second = String::from_utf8_lossy(&replies[1].reply.untagged[0].0).into_owned();
    assert!(
        second.contains("UID 20") && second.contains("{0}"),
        "{second}"
    );
    assert_eq!(sink.streamed[1], big.as_bytes());
    assert!(sink.streamed[0].is_empty());
    assert!(session.deviations.is_empty(), "{:?}", session.deviations);
}

#[tokio::test]
async fn a_pipeline_refuses_a_write_before_sending_anything() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (server, _) = listener.accept().unwrap();
    let mut session = Session::new(Connection::new(
        tcp,
        addr,
        Duration::from_secs(2),
        Trace::off(),
    ));
    let cmds = [
        Command::new("NOOP"),
        Command::new("STORE 1 +FLAGS (\\Deleted)"),
    ];
    let r = session
        .run_pipelined(&cmds, 4, 1024, &mut ByUid::default())
        .await;
    assert!(
        matches!(r, Err((done, imapprobe::session::SessionFault::Refused(_))) if done.is_empty())
    );
    server.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    let n = std::io::Read::read(&mut &server, &mut buf);
    assert!(n.is_err() || n.unwrap() == 0, "nothing was sent");
}
