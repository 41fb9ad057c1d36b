//! `sitrep-collector`: serves the collector, and the admin commands that work on its store
//! directly (tokens, enrollment tokens, agents, migrations, the certificate fingerprint).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sitrep_collector::config::CollectorConfig;
use sitrep_collector::send_timeout::{SEND_TIMEOUT, SendTimeoutAcceptor};
use sitrep_collector::store::{self, Actor, Role, Store};
use sitrep_collector::{AppState, app, delivery, tls};
use sitrep_config::{ConfigError, HumanDuration};
use sitrep_tickets::Connectors;

/// The sitrep collector: receives snapshots from agents and serves them to specialists.
#[derive(Debug, Parser)]
#[command(name = "sitrep-collector", version)]
struct Cli {
    /// Config file [default: /etc/sitrep/collector.toml when it exists]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the SQLite database and the self-signed certificate live
    /// [default: /var/lib/sitrep-collector]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database instead of SQLite in the data dir: `postgres://USER@HOST/DATABASE` (several
    /// collectors on one PostgreSQL database serve as replicas) or `sqlite:PATH`
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve agents and specialists over HTTPS
    Serve {
        /// Address and port [default: 127.0.0.1:8443]
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<SocketAddr>,
        /// PEM certificate chain [default: a self-signed certificate made in the data dir]
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP instead of HTTPS (warned about unless on loopback)
        #[arg(long)]
        insecure_http: bool,
    },
    /// Create or update the database schema; with --from and --to, copy an install's data
    /// from its SQLite database to PostgreSQL
    Migrate {
        /// The database to copy from, e.g. sqlite:/var/lib/sitrep-collector/sitrep.db
        #[arg(long, value_name = "URL", requires = "to")]
        from: Option<String>,
        /// The PostgreSQL database to copy to, e.g. postgres://sitrep@db.example/sitrep
        #[arg(long, value_name = "URL", requires = "from")]
        to: Option<String>,
    },
    /// Print the SHA-256 fingerprint of the serving certificate, for `sitrep enroll --fingerprint`
    Fingerprint,
    /// API tokens for specialists and admins
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Enrollment tokens that let agents enroll
    EnrollToken {
        #[command(subcommand)]
        action: EnrollTokenAction,
    },
    /// Enrolled agents
    Agent {
        #[command(subcommand)]
        action: AgentAction,
    },
}

#[derive(Debug, Subcommand)]
enum AgentAction {
    /// List agents, newest first, revoked ones included
    List,
    /// Revoke an agent's key by agent id; the agent gets 401 from then on
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Make a token; prints the secret alone on stdout (it is shown only once)
    Create {
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets)
    List,
    /// Revoke a token by id
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum EnrollTokenAction {
    /// Make an enrollment token; prints the secret alone on stdout
    Create {
        /// How many agents may enroll with it [default: unlimited]
        #[arg(long)]
        uses: Option<u32>,
        /// How long it stays valid, e.g. "24h" or "7d" [default: forever]
        #[arg(long, value_parser = HumanDuration::parse)]
        expires: Option<HumanDuration>,
    },
    /// List enrollment tokens (never their secrets)
    List,
    /// Revoke an enrollment token by id
    Revoke { id: String },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Admin,
    Specialist,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging();
    // Both ring and aws-lc-rs can end up in the graph; rustls then needs to be told which to use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sitrep-collector: cannot start the async runtime: {error}");
            return ExitCode::from(4);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sitrep-collector: {error:#}");
            let usage = error.chain().any(|cause| cause.is::<ConfigError>());
            ExitCode::from(if usage { 3 } else { 4 })
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (config, _) = CollectorConfig::load(cli.config.as_deref())?;
    let data_dir = cli
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(|| CollectorConfig::default_data_dir().to_path_buf());
    let database_url = cli.database_url.or(config.database_url.clone());
    match cli.command {
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            insecure_http,
        } => {
            let connectors = Connectors::build(&config.tickets).map_err(|problems| {
                let lines: Vec<String> = problems
                    .iter()
                    .map(|(key, problem)| format!("  - {key}: {problem}"))
                    .collect();
                anyhow::anyhow!("cannot set up the helpdesks:\n{}", lines.join("\n"))
            })?;
            let store = open_store(&data_dir, database_url).await?;
            store.spawn_retention(config.retention.retention(), config.retention.interval.0);
            let listen = listen.unwrap_or(config.listen);
            let files = tls_cert
                .zip(tls_key)
                .or_else(|| config.tls_cert.clone().zip(config.tls_key.clone()));
            let insecure_http = insecure_http || config.insecure_http;
            let state = AppState::new(store.clone(), config.limits())
                .serving_tls(!insecure_http)
                .with_connectors(Arc::new(connectors));
            delivery::spawn(store, state.connectors.clone(), state.deliveries.clone());
            let header_read_timeout = config.limits.header_read_timeout.0;
            serve(
                state,
                listen,
                &data_dir,
                files,
                insecure_http,
                header_read_timeout,
            )
            .await
        }
        Command::Migrate {
            from: Some(from),
            to: Some(to),
        } => copy_database(&from, &to).await,
        Command::Migrate { .. } => {
            let store = open_store(&data_dir, database_url).await?;
            store
                .migrate()
                .await
                .context("cannot migrate the database")?;
            println_out("database schema is up to date")
        }
        Command::Fingerprint => {
            let files = config.tls_cert.clone().zip(config.tls_key.clone());
            let certificate = tls::serving_certificate(
                &data_dir,
                files.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
            )?;
            println_out(&certificate.fingerprint)
        }
        Command::Token { action } => {
            let store = open_store(&data_dir, database_url).await?;
            match action {
                TokenAction::Create { role, name } => {
                    let role = match role {
                        RoleArg::Admin => Role::Admin,
                        RoleArg::Specialist => Role::Specialist,
                    };
                    let (_, secret) = store.create_api_token(role, &name, &Actor::Cli).await?;
                    println_out(&secret)
                }
                TokenAction::List => {
                    for token in store.list_api_tokens().await? {
                        println_out(&format!("{token}"))?;
                    }
                    Ok(())
                }
                TokenAction::Revoke { id } => {
                    store.revoke_api_token(&id, &Actor::Cli).await?;
                    println_out(&format!("revoked token {id}"))
                }
            }
        }
        Command::EnrollToken { action } => {
            let store = open_store(&data_dir, database_url).await?;
            match action {
                EnrollTokenAction::Create { uses, expires } => {
                    let expires_at = match expires {
                        Some(duration) => Some(
                            chrono::Utc::now()
                                + chrono::Duration::from_std(duration.0)
                                    .context("--expires is too long")?,
                        ),
                        None => None,
                    };
                    let (_, secret) = store
                        .create_enrollment_token(uses, expires_at, &Actor::Cli)
                        .await?;
                    println_out(&secret)
                }
                EnrollTokenAction::List => {
                    for token in store.list_enrollment_tokens().await? {
                        println_out(&format!("{token}"))?;
                    }
                    Ok(())
                }
                EnrollTokenAction::Revoke { id } => {
                    store.revoke_enrollment_token(&id, &Actor::Cli).await?;
                    println_out(&format!("revoked enrollment token {id}"))
                }
            }
        }
        Command::Agent { action } => {
            let store = open_store(&data_dir, database_url).await?;
            match action {
                AgentAction::List => {
                    for agent in store.list_agents().await? {
                        println_out(&format!("{agent}"))?;
                    }
                    Ok(())
                }
                AgentAction::Revoke { id } => {
                    store.revoke_agent(&id, &Actor::Cli).await?;
                    println_out(&format!("revoked agent {id}"))
                }
            }
        }
    }
}

async fn open_store(data_dir: &Path, database_url: Option<String>) -> anyhow::Result<Store> {
    match database_url {
        Some(url) => Store::connect(&url)
            .await
            .with_context(|| format!("cannot open the database {}", store::redacted(&url))),
        None => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
            let path = data_dir.join("sitrep.db");
            Store::open_sqlite(&path)
                .await
                .with_context(|| format!("cannot open the database {}", path.display()))
        }
    }
}

/// `migrate --from sqlite:PATH --to postgres://...`: one line per table as it is done.
async fn copy_database(from: &str, to: &str) -> anyhow::Result<()> {
    let copied = Store::copy_sqlite_to_postgres(from, to, |table| {
        let _ = println_out(&format!(
            "{:<20} {:>9} rows in the source, {:>9} copied now, {:>9} in the target",
            table.table, table.source_rows, table.inserted, table.target_rows
        ));
    })
    .await
    .with_context(|| {
        format!(
            "cannot copy {} to {}",
            store::redacted(from),
            store::redacted(to)
        )
    })?;
    let rows: i64 = copied.iter().map(|table| table.inserted).sum();
    println_out(&format!(
        "copied {rows} rows; serve with --database-url {} from now on",
        store::redacted(to)
    ))
}

/// How long a TLS handshake may take from the accept: a client that connects and never sends
/// its ClientHello, or stalls halfway, holds its socket this long. axum-server's own default,
/// written here so the value is ours: a handshake takes milliseconds on a LAN and well under a
/// second across the world, so there is nothing for an operator to tune.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TCP keepalive probes on every connection, so a peer that vanished (powered off, its NAT
/// entry gone) is dropped after about 60 + 3 × 10 s of silence instead of holding its socket
/// until the next write: the kernel probes only idle connections, which costs nothing.
const TCP_KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const TCP_KEEPALIVE_PROBES: u32 = 3;

/// HTTP/2 pings: a connection whose peer does not answer a ping within the timeout is closed.
/// The TCP keepalive above would find a vanished host too, but not a peer whose kernel still
/// answers while its HTTP/2 side is wedged. 20 s keeps the ping traffic of 10,000 idle agents
/// at 500 small frames a second.
const HTTP2_PING_INTERVAL: Duration = Duration::from_secs(20);
const HTTP2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves `state` on `listen` until a shutdown signal. Every connection is bounded in time
/// until it carries a request: the TLS handshake (`TLS_HANDSHAKE_TIMEOUT`), then the first
/// request's arrival and each later request's headers (`header_read_timeout`, which also closes
/// idle HTTP/1.1 connections); bodies are bounded by `Limits::body_read_timeout` in the handlers,
/// and answers by the send timeout while the client does not read them.
/// Requests themselves are not: a long-poll holds its request for up to a minute by design.
async fn serve(
    state: AppState,
    listen: SocketAddr,
    data_dir: &Path,
    tls_files: Option<(PathBuf, PathBuf)>,
    insecure_http: bool,
    header_read_timeout: Duration,
) -> anyhow::Result<()> {
    raise_open_files_limit();
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone(), state.waiters.clone()));
    let service = app(state).into_make_service();
    if insecure_http {
        if bound.ip().is_loopback() {
            tracing::info!(%bound, "serving plain HTTP on loopback");
        } else {
            tracing::warn!(%bound, "serving plain HTTP on a non-loopback address: snapshots and keys travel unencrypted");
        }
        println_out(&format!("sitrep-collector listening on http://{bound}"))?;
        ready();
        let server = axum_server::from_tcp(listener)?.acceptor(connection_acceptor());
        bound_connections(server, header_read_timeout)
            .handle(handle)
            .serve(service)
            .await?;
    } else {
        let certificate = tls::serving_certificate(
            data_dir,
            tls_files
                .as_ref()
                .map(|(cert, key)| (cert.as_path(), key.as_path())),
        )?;
        println_out(&format!(
            "sitrep-collector listening on https://{bound}\ncertificate {} SHA-256 fingerprint {}",
            certificate.certificate_path.display(),
            certificate.fingerprint
        ))?;
        ready();
        let config = axum_server::tls_rustls::RustlsConfig::from_config(certificate.config);
        let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
            .handshake_timeout(TLS_HANDSHAKE_TIMEOUT)
            .acceptor(connection_acceptor());
        let server = axum_server::from_tcp(listener)?.acceptor(acceptor);
        bound_connections(server, header_read_timeout)
            .handle(handle)
            .serve(service)
            .await?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Every accepted socket: TCP keepalive on, writes under the send timeout.
fn connection_acceptor() -> SendTimeoutAcceptor<axum_server::accept::TcpConfigAcceptor> {
    use axum_server::accept::{TcpConfigAcceptor, TcpKeepaliveConfig, TcpSocketConfig};
    let tcp = TcpConfigAcceptor::new(
        TcpSocketConfig::new().keepalive(
            TcpKeepaliveConfig::new()
                .time(TCP_KEEPALIVE_IDLE)
                .interval(TCP_KEEPALIVE_INTERVAL)
                .retries(TCP_KEEPALIVE_PROBES),
        ),
    );
    SendTimeoutAcceptor::new(tcp, SEND_TIMEOUT)
}

/// The time limits before a request is dispatched (see [`serve`]). hyper's HTTP/1 header timer
/// covers each request's headers and the idle time between requests, but not the first bytes
/// hyper reads to tell HTTP/1 from HTTP/2, nor an HTTP/2 connection before its first request:
/// the first-request timeout covers both, so a connection that sends nothing is closed too.
fn bound_connections<A, Acceptor>(
    mut server: axum_server::Server<A, Acceptor>,
    header_read_timeout: Duration,
) -> axum_server::Server<A, Acceptor>
where
    A: axum_server::Address,
{
    let builder = server.http_builder();
    builder.http1().header_read_timeout(header_read_timeout);
    builder
        .http2()
        .keep_alive_interval(HTTP2_PING_INTERVAL)
        .keep_alive_timeout(HTTP2_PING_TIMEOUT);
    server.first_request_timeout(header_read_timeout)
}

/// Under systemd (`Type=notify`), says the collector serves: units ordered after it start now.
fn ready() {
    #[cfg(unix)]
    sitrep_collector::service_manager::notify("READY=1");
}

/// Every long-poll holds a socket: 10,000 agents need far more than the usual soft limit of
/// 1024 open files, so the soft limit goes up to the hard limit (which needs no privilege).
#[cfg(unix)]
fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(error) => {
            tracing::warn!(%error, "cannot read the open files limit");
            return;
        }
    };
    if soft >= hard {
        tracing::info!(limit = soft, "open files limit");
        return;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => tracing::info!(
            limit = hard,
            was = soft,
            "open files limit raised to the hard limit"
        ),
        Err(error) => {
            tracing::warn!(%error, limit = soft, hard, "cannot raise the open files limit")
        }
    }
}

#[cfg(not(unix))]
fn raise_open_files_limit() {}

/// Stops accepting on SIGTERM or Ctrl-C, answers the long-polls at once (rather than cutting
/// them off) and gives requests in flight time to finish.
async fn shutdown_on_signal(
    handle: axum_server::Handle<SocketAddr>,
    waiters: Arc<sitrep_collector::waiters::Waiters>,
) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
    #[cfg(unix)]
    sitrep_collector::service_manager::notify("STOPPING=1");
    waiters.close();
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}

fn println_out(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// JSON lines for log collectors when not on a terminal, readable text on one.
fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SITREP_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().init();
    }
}
