//! The websocket transport: authentication in `connection_init` (4403), the init timeout
//! (4408), the `Origin` check, the legacy `graphql-ws` protocol, protocol negotiation, and
//! the reference npm `graphql-ws` client as a single-page app uses it.

use lifeflow_tests::{fixtures::blood::*, ws::*, *};
use serde_json::{Value, json};
use std::{path::PathBuf, time::Duration};

#[tokio::test]
async fn a_socket_without_a_valid_token_is_closed_with_4403() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signed_in("someone@example.org").await;
    let forged = {
        // Signed with another key: well-formed, but not ours.
        let claims = json!({"sub": user.user_id, "exp": chrono::Utc::now().timestamp() + 600, "typ": "access"});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"another-key-that-is-long-enough-0123456789"),
        )
        .expect("token")
    };

    for (what, payload) in [
        ("no payload", json!({"type": "connection_init"})),
        (
            "no token",
            json!({"type": "connection_init", "payload": {}}),
        ),
        (
            "a malformed token",
            json!({"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}}),
        ),
        (
            "a token signed with another key",
            json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {forged}")}}),
        ),
    ] {
        // Act
        let mut ws = connect(&app.base, TRANSPORT_WS).await;
        ws.send(payload).await;
        // Assert
        assert_eq!(ws.closed_with(ARRIVES).await, Some(4403), "{what}");
    }
    // And a valid one is acknowledged on the same endpoint.
    let mut ws = connect(&app.base, TRANSPORT_WS).await;
    ws.init(Some(&user.access)).await;
}

#[tokio::test]
async fn a_socket_that_never_says_connection_init_is_closed_with_4408() {
    // Arrange
    let app = spawn_app_with(&[("WS_INIT_TIMEOUT_MS", "300")]).await;
    let user = app.signed_in("someone@example.org").await;

    // Act: one socket stays silent; another initialises in time and then idles past it.
    let mut silent = connect(&app.base, TRANSPORT_WS).await;
    let mut prompt = connect_as(&app.base, &user.access).await;

    // Assert
    let started = std::time::Instant::now();
    assert_eq!(silent.closed_with(ARRIVES).await, Some(4408));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        prompt.next_frame(Duration::from_millis(600)).await,
        None,
        "an initialised socket stays open"
    );
}

#[tokio::test]
async fn an_origin_outside_the_allow_list_is_refused_at_the_upgrade() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let refused = try_connect(&app.base, TRANSPORT_WS, Some("https://evil.example")).await;
    let allowed = try_connect(
        &app.base,
        TRANSPORT_WS,
        Some("https://app.lifeflow.example"),
    )
    .await;

    // Assert
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 403)
        }
        Err(e) => panic!("expected an HTTP 403, got {e}"),
        Ok(_) => panic!("a foreign origin was upgraded"),
    }
    assert!(allowed.is_ok(), "the allowed origin was refused");
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_delivers_alerts() {
    // Arrange
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (_bank, bank_admin) = net.near_bank(&app).await;
    let mut ws = connect(&app.base, LEGACY_WS).await;
    assert_eq!(ws.protocol.as_deref(), Some(LEGACY_WS));
    ws.init(Some(&bank_admin.access)).await;
    ws.subscribe("1", ALERT_RAISED, json!({})).await;

    // Act
    let request = net.request(&app, NewRequest::default()).await;

    // Assert: a `data` message (not `next`).
    let msg = ws.message_for("1", ARRIVES).await;
    assert_eq!(msg["type"], "data", "{msg}");
    let a = &msg["payload"]["data"]["alertRaised"];
    assert_eq!(a["kind"], "EMERGENCY_REQUEST");
    assert_eq!(a["relatedEntityId"], request.as_str());
    // `stop` ends it with `complete`.
    ws.send(json!({"id": "1", "type": "stop"})).await;
    let msg = ws.message_for("1", ARRIVES).await;
    assert_eq!(msg["type"], "complete", "{msg}");

    // A legacy socket without a token is closed with 4403 as well.
    let mut anon = connect(&app.base, LEGACY_WS).await;
    anon.send_init(None).await;
    assert_eq!(anon.closed_with(ARRIVES).await, Some(4403));
}

#[tokio::test]
async fn a_client_offering_both_protocols_is_spoken_to_in_the_one_the_server_selected() {
    // Arrange: offered in the legacy-first order some clients use.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (_bank, bank_admin) = net.near_bank(&app).await;
    for offer in [
        format!("{LEGACY_WS}, {TRANSPORT_WS}"),
        format!("{TRANSPORT_WS}, {LEGACY_WS}"),
    ] {
        let mut ws = try_connect(&app.base, &offer, None).await.expect("upgrade");
        let selected = ws.protocol.clone().expect("a selected protocol");
        ws.init(Some(&bank_admin.access)).await;
        ws.subscribe("1", ALERT_RAISED, json!({})).await;

        // Act
        net.request(&app, NewRequest::default()).await;

        // Assert: the messages follow the protocol named in the handshake.
        let msg = ws.message_for("1", ARRIVES).await;
        let expected = if selected == TRANSPORT_WS {
            "next"
        } else {
            "data"
        };
        assert_eq!(
            msg["type"], expected,
            "offered {offer:?}, selected {selected:?}: {msg}"
        );
        ws.close().await;
    }
}

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

#[tokio::test]
async fn the_npm_graphql_ws_client_subscribes_like_a_single_page_app() {
    // Skipped, loudly, where the npm packages are not installed (a fresh clone).
    let dir = js_dir();
    if !dir.join("node_modules/graphql-ws").is_dir() {
        eprintln!(
            "SKIPPED the_npm_graphql_ws_client_subscribes_like_a_single_page_app: \
             {} is missing; run `npm ci --prefix tests/js` to enable this test",
            dir.join("node_modules").display()
        );
        return;
    }
    // Arrange
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (_bank, bank_admin) = net.near_bank(&app).await;
    let mut node = Node::start(
        std::process::Command::new("node")
            .arg(dir.join("subscribe.mjs"))
            .arg(ws_url(&app.base))
            .arg(&bank_admin.access),
    );
    // The script prints "connected" once the server acknowledged the connection.
    let first = node.line(Duration::from_secs(10)).await;
    assert_eq!(
        first.as_deref(),
        Some("connected"),
        "node said {first:?}; stderr: {}",
        node.stderr()
    );
    // Its subscribe message follows the ack; let the server register it.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Act
    let request = net.request(&app, NewRequest::default()).await;

    // Assert: the script prints the first result as JSON and exits 0.
    let line = node
        .line(Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no result from node; stderr: {}", node.stderr()));
    let status = node.exit(Duration::from_secs(5)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "node failed: {status:?}; stderr: {}",
        node.stderr()
    );
    let v: Value = serde_json::from_str(&line).expect("JSON from node");
    let a = &v["data"]["alertRaised"];
    assert_eq!(a["kind"], "EMERGENCY_REQUEST", "{v}");
    assert_eq!(a["relatedEntityId"], request.as_str());
}

/// A child process whose stdout is read line by line on a thread (the test crate's tokio
/// has no `process` feature); killed when dropped.
struct Node {
    child: std::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Node {
    fn start(cmd: &mut std::process::Command) -> Self {
        use std::io::{BufRead as _, Read as _};
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start node (is it installed?)");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            if let Ok(mut e) = sink.lock() {
                e.push_str(&s);
            }
        });
        Self {
            child,
            lines,
            stderr,
        }
    }

    /// The next line of stdout within `wait`, or `None` (timeout or end).
    async fn line(&mut self, wait: Duration) -> Option<String> {
        tokio::time::timeout(wait, self.lines.recv())
            .await
            .ok()
            .flatten()
    }

    /// Waits up to `wait` for the process to exit.
    async fn exit(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_expires() {
    // Arrange: access tokens live 3 s.
    let app = spawn_app_with(&[("ACCESS_TOKEN_TTL_SECS", "3")]).await;
    let root = app.super_admin().await;
    let mut ws = lifeflow_tests::ws::connect_as(&app.base, &root.access).await;
    // Act
    ws.subscribe("1", "subscription { alertRaised { id } }", json!({}))
        .await;
    // Assert: the server completes the stream once the token is past its expiry.
    let msg = ws.message_for("1", std::time::Duration::from_secs(8)).await;
    assert_eq!(msg["type"], "complete", "{msg}");
}

#[tokio::test]
async fn a_connection_holds_a_bounded_number_of_subscriptions() {
    // Arrange
    let app = spawn_app_with(&[("WS_MAX_SUBSCRIPTIONS", "2")]).await;
    let root = app.super_admin().await;
    let mut ws = lifeflow_tests::ws::connect_as(&app.base, &root.access).await;
    ws.subscribe("1", "subscription { alertRaised { id } }", json!({}))
        .await;
    ws.subscribe("2", "subscription { alertRaised { id } }", json!({}))
        .await;
    // Act
    ws.subscribe("3", "subscription { alertRaised { id } }", json!({}))
        .await;
    // Assert: the third is refused (a field error on the subscription), the others stay.
    let msg = ws.message_for("3", std::time::Duration::from_secs(3)).await;
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{msg}"
    );
    assert!(msg["payload"]["data"].is_null(), "{msg}");
}
