//! Slow, idle and half-open clients cannot hold the collector: with short timeouts from its
//! config (`limits.header_read_timeout`, `limits.body_read_timeout`), the real binary on
//! 127.0.0.1 closes a bounded slowloris (hundreds of connections sending endless headers a byte
//! at a time) after the header timeout while an agent keeps enrolling, sending and long-polling
//! beside it; closes connections that send nothing, idle keep-alive connections and ones whose
//! client never read its (small) answer, and is not held by clients that vanish mid-request or
//! mid-long-poll; answers 408 `request_timeout` to bodies that stall or dribble; and
//! closes TCP connections that never finish a TLS handshake after the handshake timeout.
//!
//! Every connection goes to loopback only; every loop is bounded in count and time.

use std::error::Error;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sitrep_tests::ingest::{
    CollectorBinary, EnrolledAgent, LoopbackCollector, enroll, post_snapshot, small_snapshot,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// Short enough to keep the test quick, long enough that loopback clients never hit it by
/// accident on a busy machine.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// `TLS_HANDSHAKE_TIMEOUT` in the collector's main.rs: not configurable, so waited for.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How much later than its timeout a connection may be closed: timers and a loaded machine.
const SLACK: Duration = Duration::from_secs(3);

const SLOW_CONNECTIONS: usize = 300;
/// Between the bytes of a slow client.
const DRIBBLE_PAUSE: Duration = Duration::from_millis(250);
/// Rounds of the well-behaved agent beside the slow clients, one every `AGENT_PAUSE`.
const AGENT_ROUNDS: usize = 10;
const AGENT_PAUSE: Duration = Duration::from_millis(300);
/// The long-poll held beside the slow clients: longer than the header timeout.
const LONG_POLL_WAIT: Duration = Duration::from_secs(4);

/// A collector with short timeouts and one enrolled agent.
struct Fixture {
    _dir: tempfile::TempDir,
    collector: LoopbackCollector,
    addr: SocketAddr,
    client: reqwest::Client,
    agent: EnrolledAgent,
}

impl Fixture {
    async fn start(https: bool) -> TestResult<Fixture> {
        let dir = tempfile::tempdir()?;
        let binary = CollectorBinary {
            path: assert_cmd::cargo::cargo_bin("sitrep-collector"),
            data_dir: dir.path().join("data"),
            database_url: None,
        };
        let config = dir.path().join("collector.toml");
        std::fs::write(
            &config,
            format!(
                "[limits]\nheader_read_timeout = \"{}s\"\nbody_read_timeout = \"{}s\"\n",
                HEADER_READ_TIMEOUT.as_secs(),
                BODY_READ_TIMEOUT.as_secs()
            ),
        )?;
        let enrollment = binary.admin(&["enroll-token", "create"])?;
        let log = dir.path().join("collector.log");
        let collector = if https {
            binary.serve_https(&["--config", path_str(&config)?], log)?
        } else {
            binary.serve_configured(&config, log)?
        };
        let addr: SocketAddr = collector
            .url
            .rsplit('/')
            .next()
            .ok_or("no address in the URL")?
            .parse()?;
        // The collector's own self-signed certificate on loopback: what is tested here is
        // what happens before and around TLS, not whom the client trusts.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .tls_danger_accept_invalid_certs(true)
            .build()?;
        let agent = enroll(&client, &collector.url, &enrollment, "slow-clients").await?;
        Ok(Fixture {
            _dir: dir,
            collector,
            addr,
            client,
            agent,
        })
    }

    /// One round of a well-behaved agent: `/healthz` and an ingest; how long it took.
    async fn agent_round(&self) -> TestResult<Duration> {
        let started = Instant::now();
        let health = self
            .client
            .get(format!("{}/healthz", self.collector.url))
            .send()
            .await?;
        if health.status() != StatusCode::OK {
            return Err(format!("/healthz answered {}", health.status()).into());
        }
        let body = serde_json::to_vec(&small_snapshot(self.agent.id))?;
        let (status, reply) =
            post_snapshot(&self.client, &self.collector.url, &self.agent.key, body).await?;
        if status != StatusCode::CREATED {
            return Err(format!("the ingest answered {status} {reply}").into());
        }
        Ok(started.elapsed())
    }
}

fn path_str(path: &Path) -> TestResult<&str> {
    Ok(path.to_str().ok_or("a temporary path that is not UTF-8")?)
}

/// How a connection the test kept open ended.
#[derive(Debug)]
struct Closed {
    /// From the connect to the server's close (EOF or reset).
    after: Duration,
    /// What the server sent before it closed.
    received: Vec<u8>,
}

/// Connects, sends `prefix`, then one byte of `filler` every `DRIBBLE_PAUSE` (none when
/// `filler` is `None`), and waits for the server to close the connection; an error if it is
/// still open after `give_up`.
async fn dribble_until_closed(
    addr: SocketAddr,
    prefix: &[u8],
    filler: Option<u8>,
    give_up: Duration,
) -> Result<Closed, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let mut received = Vec::new();
    let closed = |received| Closed {
        after: started.elapsed(),
        received,
    };
    if stream.write_all(prefix).await.is_err() {
        return Ok(closed(received));
    }
    let mut buffer = [0u8; 4096];
    while started.elapsed() < give_up {
        if let Some(byte) = filler
            && stream.write_all(&[byte]).await.is_err()
        {
            return Ok(closed(received));
        }
        match tokio::time::timeout(DRIBBLE_PAUSE, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Ok(closed(received)),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Err(_) => {}
        }
    }
    Err(format!(
        "still open after {give_up:?}, having received {:?}",
        String::from_utf8_lossy(&received)
    ))
}

/// Checks that every connection was closed by the server between `timeout` (less a little:
/// the timer starts at the accept, shortly after the connect began) and `timeout + SLACK`.
fn check_closed_by_timeout(
    what: &str,
    outcomes: &[Result<Closed, String>],
    timeout: Duration,
) -> TestResult<(Duration, Duration)> {
    let mut earliest = Duration::MAX;
    let mut latest = Duration::ZERO;
    for outcome in outcomes {
        let closed = outcome
            .as_ref()
            .map_err(|error| format!("{what}: {error}"))?;
        earliest = earliest.min(closed.after);
        latest = latest.max(closed.after);
    }
    if earliest + Duration::from_millis(300) < timeout || latest > timeout + SLACK {
        return Err(format!(
            "{what}: closed between {earliest:?} and {latest:?}, expected about {timeout:?}"
        )
        .into());
    }
    Ok((earliest, latest))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_off_while_agents_are_served() -> TestResult {
    let fixture = Fixture::start(false).await?;
    let give_up = HEADER_READ_TIMEOUT + SLACK + Duration::from_secs(1);
    // Headers that never end: each byte is another byte of one endless header value.
    let endless_headers = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    let slow: Vec<_> = (0..SLOW_CONNECTIONS)
        .map(|_| {
            tokio::spawn(dribble_until_closed(
                fixture.addr,
                endless_headers,
                Some(b'a'),
                give_up,
            ))
        })
        .collect();

    // A long-poll longer than the header timeout: a request in progress is not cut off.
    let long_poll = {
        let client = fixture.client.clone();
        let url = format!(
            "{}/api/v1/agent/requests?wait={}",
            fixture.collector.url,
            LONG_POLL_WAIT.as_secs()
        );
        let key = fixture.agent.key.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let answer = client.get(url).bearer_auth(key).send().await;
            (answer.map(|response| response.status()), started.elapsed())
        })
    };
    let mut slowest_round = Duration::ZERO;
    for _ in 0..AGENT_ROUNDS {
        slowest_round = slowest_round.max(fixture.agent_round().await?);
        tokio::time::sleep(AGENT_PAUSE).await;
    }

    let mut outcomes = Vec::with_capacity(SLOW_CONNECTIONS);
    for connection in slow {
        outcomes.push(connection.await?);
    }
    let (earliest, latest) = check_closed_by_timeout("slowloris", &outcomes, HEADER_READ_TIMEOUT)?;
    let answered = outcomes
        .iter()
        .flatten()
        .filter(|closed| !closed.received.is_empty())
        .count();
    assert_eq!(answered, 0, "a slowloris connection got an answer");

    let (status, held) = long_poll.await?;
    assert_eq!(status?, StatusCode::OK, "the long-poll's answer");
    assert!(
        held + Duration::from_millis(200) >= LONG_POLL_WAIT,
        "the long-poll was held {held:?}, not {LONG_POLL_WAIT:?}"
    );
    // After the slow clients: the collector still serves.
    fixture.agent_round().await?;
    eprintln!(
        "{SLOW_CONNECTIONS} slowloris connections closed {earliest:?}..{latest:?} after their \
         connect (header timeout {HEADER_READ_TIMEOUT:?}); {AGENT_ROUNDS} agent rounds \
         (healthz + ingest) beside them, the slowest {slowest_round:?}; a {LONG_POLL_WAIT:?} \
         long-poll was held {held:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_idle_and_unread_connections_are_closed() -> TestResult {
    let fixture = Fixture::start(false).await?;
    let give_up = HEADER_READ_TIMEOUT + SLACK + Duration::from_secs(1);
    let healthz = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    // The agent whose request is answered and then goes quiet: its keep-alive connection.
    let idle = tokio::spawn(dribble_until_closed(fixture.addr, healthz, None, give_up));
    // A client that connects and sends nothing: hyper's version sniffing has no timer of its
    // own, the first-request timeout covers it.
    let silent = tokio::spawn(dribble_until_closed(fixture.addr, b"", None, give_up));
    // A client that sends a request and never reads: its answer waits in the socket buffers,
    // and the connection is closed as idle all the same.
    let unread = tokio::spawn(async move {
        let mut stream = TcpStream::connect(fixture.addr).await?;
        stream.write_all(healthz).await?;
        tokio::time::sleep(HEADER_READ_TIMEOUT + SLACK).await;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await??;
        Ok::<_, std::io::Error>(answer)
    });
    // Clients that vanish mid-request and mid-long-poll: nothing waits for them.
    for request in [
        b"POST /api/v1/snapshots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le".to_vec(),
        format!(
            "GET /api/v1/agent/requests?wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Authorization: Bearer {}\r\n\r\n",
            fixture.agent.key
        )
        .into_bytes(),
    ] {
        let mut stream = TcpStream::connect(fixture.addr).await?;
        stream.write_all(&request).await?;
        drop(stream);
    }

    let idle = idle.await?;
    let silent = silent.await?;
    let (idle_earliest, _) = check_closed_by_timeout(
        "idle keep-alive",
        std::slice::from_ref(&idle),
        HEADER_READ_TIMEOUT,
    )?;
    let idle_answer = match &idle {
        Ok(closed) => String::from_utf8_lossy(&closed.received).into_owned(),
        Err(error) => error.clone(),
    };
    assert!(
        idle_answer.starts_with("HTTP/1.1 200"),
        "the idle connection's request was answered first: {idle_answer}"
    );
    let (silent_after, _) = check_closed_by_timeout(
        "silent connection",
        std::slice::from_ref(&silent),
        HEADER_READ_TIMEOUT,
    )?;
    let unread = String::from_utf8_lossy(&unread.await??).into_owned();
    assert!(
        unread.starts_with("HTTP/1.1 200"),
        "the unread answer then EOF: {unread}"
    );
    fixture.agent_round().await?;
    eprintln!(
        "idle keep-alive connection closed after {idle_earliest:?}, silent connection after \
         {silent_after:?}, unread answer kept and its connection closed; vanished clients \
         wedge nothing"
    );
    Ok(())
}

/// The answer to a POST whose body stops after `sent` of `declared` bytes, or dribbles one
/// byte every `DRIBBLE_PAUSE` when `dribble`; the answer's text and when it came.
async fn stalled_body(
    addr: SocketAddr,
    headers: String,
    declared: usize,
    dribble: bool,
) -> TestResult<(String, Duration)> {
    let request = format!("{headers}Content-Length: {declared}\r\n\r\n{{\"a\":");
    let filler = dribble.then_some(b' ');
    let give_up = BODY_READ_TIMEOUT + SLACK + Duration::from_secs(1);
    let closed = dribble_until_closed(addr, request.as_bytes(), filler, give_up).await?;
    Ok((
        String::from_utf8_lossy(&closed.received).into_owned(),
        closed.after,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_dribbled_bodies_are_answered_408() -> TestResult {
    let fixture = Fixture::start(false).await?;
    let ingest = format!(
        "POST /api/v1/snapshots HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\n",
        fixture.agent.key
    );
    let login = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n"
        .to_string();
    let (stalled, dribbled, form) = tokio::join!(
        stalled_body(fixture.addr, ingest.clone(), 5_000, false),
        stalled_body(fixture.addr, ingest, 5_000, true),
        stalled_body(fixture.addr, login, 500, false),
    );
    for (what, answer) in [("stalled", stalled?), ("dribbled", dribbled?)] {
        let (text, after) = answer;
        assert!(
            text.starts_with("HTTP/1.1 408") && text.contains("\"code\":\"request_timeout\""),
            "{what} ingest body: {text}"
        );
        assert!(
            after + Duration::from_millis(300) >= BODY_READ_TIMEOUT
                && after <= BODY_READ_TIMEOUT + SLACK,
            "{what} body answered after {after:?}"
        );
        eprintln!("{what} ingest body: 408 request_timeout after {after:?}, then closed");
    }
    let (form, after) = form?;
    assert!(
        form.starts_with("HTTP/1.1 408"),
        "stalled login form: {form}"
    );
    eprintln!("stalled login form: 408 after {after:?}");
    fixture.agent_round().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_tls_handshakes_are_closed() -> TestResult {
    let fixture = Fixture::start(true).await?;
    let give_up = TLS_HANDSHAKE_TIMEOUT + SLACK + Duration::from_secs(1);
    // Silent connections, and ones that stop inside a ClientHello record (its header
    // promises 512 bytes; 4 follow).
    let partial_hello: &[u8] = &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
    let stalled: Vec<_> = (0..40)
        .map(|n| {
            let prefix: &'static [u8] = if n % 2 == 0 { b"" } else { partial_hello };
            tokio::spawn(dribble_until_closed(fixture.addr, prefix, None, give_up))
        })
        .collect();
    // Meanwhile, HTTPS clients are served.
    let mut slowest_round = Duration::ZERO;
    for _ in 0..AGENT_ROUNDS {
        slowest_round = slowest_round.max(fixture.agent_round().await?);
        tokio::time::sleep(AGENT_PAUSE).await;
    }
    let mut outcomes = Vec::new();
    for connection in stalled {
        outcomes.push(connection.await?);
    }
    let (earliest, latest) =
        check_closed_by_timeout("unfinished handshake", &outcomes, TLS_HANDSHAKE_TIMEOUT)?;
    fixture.agent_round().await?;
    eprintln!(
        "40 unfinished TLS handshakes (silent, or a partial ClientHello) closed \
         {earliest:?}..{latest:?} after their connect; HTTPS agent rounds beside them, the \
         slowest {slowest_round:?}"
    );
    Ok(())
}
