//! Attaching a snapshot to an external helpdesk ticket from its report page: the form, the
//! delivery shown on the page as it goes, and a bad reference answered with what is wrong.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::client::Client;
use crate::common::{Helpdesk, TestApp, connectors, snapshot};

#[tokio::test]
async fn a_specialist_attaches_a_snapshot_to_a_helpdesk_ticket_from_its_report() {
    let helpdesk = Arc::new(Helpdesk::default());
    let mut client = Client::of(TestApp::with_connectors(connectors(&helpdesk)).await);
    let token = client.app.specialist().await;
    client.log_in(&token).await;
    let agent = client.app.enroll().await;
    let sent = snapshot(Some(agent.agent_id));
    assert_eq!(
        client.app.send(&agent, &sent).await.status,
        StatusCode::CREATED
    );
    let id = sent["id"].as_str().expect("an id").to_string();
    let report = format!("/snapshots/{id}");

    let page = client.get(&report).await.text();
    assert!(page.contains(r#"id="helpdesk-form""#), "{page}");
    assert!(page.contains("Helpdesks: desk."), "{page}");
    client
        .post(
            &format!("{report}/helpdesk"),
            &[("reference", "desk:OPS-42"), ("note", "from the call")],
        )
        .await
        .assert_see_other(&format!("{report}#helpdesk"));
    let started = Instant::now();
    let page = loop {
        let page = client.get(&report).await.text();
        if page.contains(">delivered<") {
            break page;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{page}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(page.contains("<code>desk:OPS-42</code>"), "{page}");
    let received = helpdesk.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1.note, "from the call");

    let bad = client
        .post(&format!("{report}/helpdesk"), &[("reference", "OPS-42")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("names no helpdesk"), "{}", bad.text());
}
