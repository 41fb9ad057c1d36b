//! A send timeout for every connection, as nginx's `send_timeout`: a write that makes no
//! progress for [`SEND_TIMEOUT`] fails, so a client that stops reading its answer (its
//! receive window stays shut while its kernel still acknowledges, which TCP keepalive takes for
//! a live peer) loses its connection instead of holding it, and the answer's memory, forever.
//! hyper has no write timeout of its own.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// nginx's default. Answers leave in milliseconds unless the client stops reading: even a
/// 16 MiB snapshot at 1 Mbit/s makes progress every few milliseconds.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// A stream whose writes fail with `TimedOut` once they have waited `limit` without progress.
#[derive(Debug)]
pub struct SendTimeout<S> {
    inner: S,
    limit: Duration,
    /// Running while writes wait for the client to make room; any progress clears it.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> SendTimeout<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        SendTimeout {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Passes on a write's result, turning a wait longer than the limit into an error.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.stalled = None;
            return result;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if stalled.as_mut().poll(cx).is_ready() {
            self.stalled = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the client read nothing of its answer for {} s",
                    limit.as_secs()
                ),
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SendTimeout<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SendTimeout<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, result)
    }
}

/// Wraps what `inner` accepts in [`SendTimeout`]; below TLS, so the handshake is covered too.
#[derive(Debug, Clone)]
pub struct SendTimeoutAcceptor<A> {
    inner: A,
    limit: Duration,
}

impl<A> SendTimeoutAcceptor<A> {
    pub fn new(inner: A, limit: Duration) -> Self {
        SendTimeoutAcceptor { inner, limit }
    }
}

impl<A, I, S> Accept<I, S> for SendTimeoutAcceptor<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
{
    type Stream = SendTimeout<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let accepted = self.inner.accept(stream, service);
        let limit = self.limit;
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((SendTimeout::new(stream, limit), service))
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const ANSWER: usize = 1 << 20;

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_cut_off_after_the_limit() {
        let (server, mut client) = tokio::io::duplex(4096);
        let mut server = SendTimeout::new(server, SEND_TIMEOUT);
        let answer = vec![7u8; ANSWER];
        let mut first = [0u8; 1024];
        let started = tokio::time::Instant::now();
        let (written, read) =
            tokio::join!(server.write_all(&answer), client.read_exact(&mut first));
        read.expect("the client read the beginning");
        let error = written.expect_err("the write gives up");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), SEND_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_gets_its_whole_answer_however_long_it_takes() {
        let (server, mut client) = tokio::io::duplex(4096);
        let mut server = SendTimeout::new(server, SEND_TIMEOUT);
        let reader = async {
            let mut received = 0;
            let mut chunk = [0u8; 4096];
            while received < ANSWER {
                // Slower than the limit in all, but never idle for as long.
                tokio::time::sleep(SEND_TIMEOUT / 2).await;
                received += client.read(&mut chunk).await.expect("read");
            }
            received
        };
        let answer = vec![7u8; ANSWER];
        let started = tokio::time::Instant::now();
        let (written, received) = tokio::join!(server.write_all(&answer), reader);
        written.expect("the whole answer is written");
        assert_eq!(received, ANSWER);
        assert!(started.elapsed() > SEND_TIMEOUT * 100);
    }
}
