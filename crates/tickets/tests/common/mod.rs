//! Fake helpdesks for the connector tests: an axum router of the test's own, served on a free
//! port of 127.0.0.1 for as long as the returned guard lives. Each fake checks requests as the
//! vendor documents them and answers as the vendor does.

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A fake helpdesk serving on loopback; stops when dropped.
pub struct Fake {
    /// `http://127.0.0.1:PORT`, the connector's `url`.
    pub url: String,
    task: JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on 127.0.0.1 on a free port.
pub async fn serve(router: Router) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("the address"));
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve the fake");
    });
    Fake { url, task }
}
