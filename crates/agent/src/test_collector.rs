//! A stand-in collector for unit tests: a loopback listener (TLS with a given certificate, or
//! plain HTTP) that records each request and answers every one with the same status and body.
//! Bounded in size and time, and stopped when dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

const MAX_REQUEST_BYTES: usize = 1 << 20;
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One request as received: the head (request line and headers) and the raw body.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub head: String,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    pub fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct TestCollector {
    /// `https://127.0.0.1:PORT` or `http://127.0.0.1:PORT`: an address, so no resolver is asked.
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl Drop for TestCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A certificate and its key, for [`TestCollector::start`].
#[derive(Debug)]
pub struct ServerIdentity {
    pub certificate: CertificateDer<'static>,
    pub key: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    /// Self-signed for `localhost` and 127.0.0.1, as a collector makes on first start.
    pub fn self_signed() -> Self {
        let generated =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .expect("certificate");
        ServerIdentity {
            certificate: generated.cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()),
        }
    }

    fn server_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![self.certificate.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .expect("server config");
        Arc::new(config)
    }
}

/// A certificate authority that issues collector certificates.
#[derive(Debug)]
pub struct TestCa(rcgen::CertifiedIssuer<'static, rcgen::KeyPair>);

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("key");
        TestCa(rcgen::CertifiedIssuer::self_signed(params, key).expect("CA"))
    }

    pub fn pem(&self) -> String {
        self.0.pem()
    }

    /// A certificate for `names` (host names or addresses) signed by this CA.
    pub fn issue(&self, names: &[&str]) -> ServerIdentity {
        let key = rcgen::KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        let certificate = rcgen::CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &self.0)
            .expect("signed");
        ServerIdentity {
            certificate: certificate.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

impl TestCollector {
    /// Listens on a free loopback port; `identity` `None` means plain HTTP.
    pub async fn start(identity: Option<&ServerIdentity>, status: u16, answer: &str) -> Self {
        TestCollector::start_with_headers(identity, status, &[], answer).await
    }

    /// [`TestCollector::start`], with extra `(name, value)` headers in every answer.
    pub async fn start_with_headers(
        identity: Option<&ServerIdentity>,
        status: u16,
        headers: &[(&str, &str)],
        answer: &str,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let acceptor = identity.map(|identity| TlsAcceptor::from(identity.server_config()));
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{port}");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let extra: String = headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .collect();
        let response = format!(
            "HTTP/1.1 {status} Test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             {extra}Connection: close\r\n\r\n{answer}",
            answer.len()
        );
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = Arc::clone(&recorded);
                let response = response.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let exchange = async {
                        match acceptor {
                            Some(acceptor) => {
                                let stream = acceptor.accept(stream).await.ok()?;
                                exchange(stream, &response).await
                            }
                            None => exchange(stream, &response).await,
                        }
                    };
                    if let Ok(Some(request)) = tokio::time::timeout(IO_TIMEOUT, exchange).await {
                        recorded.lock().expect("lock").push(request);
                    }
                });
            }
        });
        TestCollector {
            url,
            requests,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    response: &str,
) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || buffer.len() > MAX_REQUEST_BYTES {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut request = Recorded {
        head,
        body: buffer[head_end + 4..].to_vec(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|length| length.parse().ok())
        .unwrap_or(0);
    while request.body.len() < length.min(MAX_REQUEST_BYTES) {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        request.body.extend_from_slice(&chunk[..read]);
    }
    stream.write_all(response.as_bytes()).await.ok()?;
    // The client may hang up first once it has the answer; the request counts all the same.
    let _ = stream.shutdown().await;
    Some(request)
}
