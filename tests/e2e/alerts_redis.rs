//! Alerts across instances through Redis pub/sub, and an instance that loses Redis: it keeps
//! serving, still delivers its own events, says so in `/readyz`, and reconnects by itself.

use lifeflow_tests::{
    fixtures::{blood::*, *},
    ws::*,
    *,
};
use serde_json::{Value, json};
use std::{
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// The machine's Redis (CI starts it).
const SHARED_REDIS: &str = "127.0.0.1:6379";

fn reachable(addr: &str) -> bool {
    addr.parse()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).ok())
        .is_some()
}

async fn redis_state(app: &TestApp) -> (u16, String) {
    let (status, body) = readyz(app).await;
    (
        status,
        body["redis"].as_str().unwrap_or_default().to_string(),
    )
}

async fn wait_redis(app: &TestApp, want: &str, limit: Duration) {
    eventually(
        limit,
        &format!("/readyz to show redis {want:?}"),
        || async {
            let (status, state) = redis_state(app).await;
            assert_eq!(status, 200, "/readyz must stay 200 whatever Redis does");
            (state == want).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn an_alert_raised_on_one_instance_reaches_a_subscriber_on_another_through_redis() {
    if !reachable(SHARED_REDIS) {
        eprintln!("SKIPPED: no Redis on {SHARED_REDIS} (CI starts one)");
        return;
    }
    // Arrange: two instances, one database, one Redis channel (the same prefix).
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let settings = [
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
    ];
    let a = spawn_app_with(&settings).await;
    let b = spawn_on(a.test_db.clone(), &settings).await;
    wait_redis(&a, "up", Duration::from_secs(5)).await;
    wait_redis(&b, "up", Duration::from_secs(5)).await;
    let net = Region::new(&a).await;
    let (_, bank_admin) = net.near_bank(&a).await;
    let mut on_a = connect_as(&a.base, &bank_admin.access).await;
    on_a.subscribe("1", ALERT_RAISED, json!({})).await;
    on_a.subscribe(
        "n",
        "subscription { notificationReceived { kind relatedEntityId } }",
        json!({}),
    )
    .await;
    let mut on_b = connect_as(&b.base, &bank_admin.access).await;
    on_b.subscribe("1", ALERT_RAISED, json!({})).await;

    // Act: the emergency is created through instance B.
    let request = net.request(&b, NewRequest::default()).await;

    // Assert: both instances' subscribers get it, each exactly once.
    let mut got_a = Vec::new();
    let mut got_n = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Some(Frame::Json(v)) = on_a
        .next_frame(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        match v["id"].as_str() {
            Some("1") => got_a.push(v["payload"]["data"]["alertRaised"].clone()),
            Some("n") => got_n.push(v["payload"]["data"]["notificationReceived"].clone()),
            _ => panic!("unexpected {v}"),
        }
    }
    assert_eq!(got_a.len(), 1, "{got_a:?}");
    assert_eq!(got_a[0]["kind"], "EMERGENCY_REQUEST");
    assert_eq!(got_a[0]["relatedEntityId"], request.as_str());
    assert_eq!(got_n.len(), 1, "{got_n:?}");
    assert_eq!(got_n[0]["relatedEntityId"], request.as_str());
    let on_b_got = on_b.results_during("1", Duration::from_millis(200)).await;
    assert_eq!(on_b_got.len(), 1, "{on_b_got:?}");
}

/// A redis-server of the test's own on a free port, killed when dropped.
struct OwnRedis {
    child: Option<Child>,
    port: u16,
}

impl OwnRedis {
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    }

    async fn start(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut me = Self {
            child: Some(child),
            port,
        };
        me.wait_listening().await;
        Some(me)
    }

    async fn wait_listening(&mut self) {
        let addr = format!("127.0.0.1:{}", self.port);
        eventually(Duration::from_secs(5), "redis-server to listen", || {
            let up = reachable(&addr);
            async move { up.then_some(()) }
        })
        .await;
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn an_instance_that_loses_redis_keeps_delivering_locally_and_reconnects() {
    // Arrange: our own Redis, two instances on it.
    let Some(mut redis) = OwnRedis::start(OwnRedis::free_port()).await else {
        eprintln!("SKIPPED: redis-server is not installed");
        return;
    };
    let url = redis.url();
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let settings = [
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
    ];
    let a = spawn_app_with(&settings).await;
    let b = spawn_on(a.test_db.clone(), &settings).await;
    wait_redis(&a, "up", Duration::from_secs(5)).await;
    let net = Region::new(&a).await;
    let (bank_id, bank_admin) = net.near_bank(&a).await;
    // A few staff, so an emergency makes several events (one notification each).
    for i in 0..5 {
        let email = format!("staff{i}@near.example");
        a.signed_in(&email).await;
        a.add_member(&bank_admin, &bank_id, &email, "STAFF").await;
    }
    let mut ws = connect_as(&a.base, &bank_admin.access).await;
    ws.subscribe("1", ALERT_RAISED, json!({})).await;

    // Act 1: Redis goes away.
    redis.kill();

    // Assert 1: /readyz says so and stays 200; an emergency raised here still reaches the
    // subscriber here, and the mutation does not wait on the missing Redis (not a timeout
    // per event: eight events here).
    wait_redis(&a, "down", Duration::from_secs(5)).await;
    let first = tokio::time::timeout(
        Duration::from_secs(3),
        net.request(&a, NewRequest::default()),
    )
    .await
    .expect("createBloodRequest hung without Redis");
    let got = ws.next_data("1", ARRIVES).await;
    assert_eq!(got["alertRaised"]["relatedEntityId"], first.as_str());

    // Act 2: Redis comes back on the same port.
    let mut redis = OwnRedis::start(redis.port)
        .await
        .expect("restart redis-server");

    // Assert 2: both instances reconnect by themselves, and fan-out across them resumes.
    wait_redis(&a, "up", Duration::from_secs(15)).await;
    wait_redis(&b, "up", Duration::from_secs(15)).await;
    let second = net.request(&b, NewRequest::default()).await;
    let got = ws.next_data("1", ARRIVES).await;
    assert_eq!(got["alertRaised"]["relatedEntityId"], second.as_str());
    assert_eq!(
        ws.results_during("1", Duration::from_millis(200)).await,
        Vec::<Value>::new()
    );
    redis.kill();
}
