//! The event bus on both backends: delivery, fan-out, lagging subscribers,
//! big events; on Postgres also across pools, across OS processes and across
//! a dropped listener connection.

use std::{process::Stdio, time::Duration};

use baton_store::events::{DEFAULT_CAPACITY, Event, EventBus, LISTENER_APPLICATION_NAME, MAX_NOTIFY_PAYLOAD, kinds};
use baton_store::{Backend, Db};
use baton_testkit::{TestDb, backend_tests};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    sync::broadcast::{Receiver, error::RecvError},
    time::timeout,
};

/// Upper bound for anything that should take milliseconds.
const WAIT: Duration = Duration::from_secs(20);

async fn bus_for(db: &Db, url: &str) -> EventBus {
    let bus = EventBus::for_db(db, url).await.expect("open event bus");
    timeout(WAIT, bus.ready()).await.expect("bus ready in time");
    bus
}

/// The next event, failing the test on timeout, lag or a closed bus.
async fn next(rx: &mut Receiver<Event>) -> Event {
    timeout(WAIT, rx.recv()).await.expect("no event in time").expect("receive event")
}

/// Events up to and including the first of type `kind`.
async fn until(rx: &mut Receiver<Event>, kind: &str) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let event = next(rx).await;
        let done = event.kind == kind;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn sample() -> Event {
    Event::new(kinds::TASK_CHANGED)
        .for_product("0190c3c4-0000-7000-8000-000000000001")
        .for_user("0190c3c4-0000-7000-8000-000000000002")
        .with_data(
            json!({ "code": "T-7", "title": "Café ✓ \"quoted\"", "n": 3, "nested": { "ok": true, "list": [1, null] } }),
        )
}

backend_tests! {
    async fn every_subscriber_receives_an_event_intact(t) {
        let bus = bus_for(&t.db, &t.url).await;
        assert_eq!(bus.is_shared(), t.backend == Backend::Postgres);
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        let event = sample();
        bus.publish(&event).await.expect("publish");
        assert_eq!(next(&mut a).await, event);
        assert_eq!(next(&mut b).await, event);
    }

    async fn a_process_receives_its_own_events_exactly_once(t) {
        let bus = bus_for(&t.db, &t.url).await;
        let mut rx = bus.subscribe();
        let event = Event::new(kinds::JOB_ENQUEUED).with_data(json!({ "job_id": "j1" }));
        bus.publish(&event).await.expect("publish");
        bus.publish(&Event::new("sentinel")).await.expect("publish sentinel");
        // Notifications from one session arrive in order, so a duplicate of
        // the first event would show up before the sentinel.
        assert_eq!(until(&mut rx, "sentinel").await, vec![event, Event::new("sentinel")]);
        assert!(matches!(rx.try_recv(), Err(tokio::sync::broadcast::error::TryRecvError::Empty)));
    }

    async fn a_lagging_subscriber_is_told_and_the_bus_keeps_working(t) {
        let bus = bus_for(&t.db, &t.url).await;
        let mut slow = bus.subscribe();
        for i in 0..DEFAULT_CAPACITY + 10 {
            bus.publish(&Event::new("flood").with_data(json!(i))).await.expect("publish flood");
        }
        let mut fast = bus.subscribe();
        bus.publish(&Event::new("sentinel")).await.expect("publish sentinel");
        // Once a second subscriber has seen the sentinel arrive locally, the
        // slow one has been overrun. (On Postgres the flood may still be in
        // flight when the second one subscribes, so it may lag too.)
        loop {
            match timeout(WAIT, fast.recv()).await.expect("sentinel in time") {
                Ok(e) if e.kind == "sentinel" => break,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("bus closed"),
            }
        }
        match timeout(WAIT, slow.recv()).await.expect("slow recv") {
            Err(RecvError::Lagged(n)) => assert!(n >= 10, "lagged by {n}"),
            other => panic!("expected Lagged, got {other:?}"),
        }
        // After Lagged the subscriber resyncs and keeps receiving.
        let rest = until(&mut slow, "sentinel").await;
        assert!(rest.len() <= DEFAULT_CAPACITY);
        let after = Event::new(kinds::STORY_CHANGED);
        bus.publish(&after).await.expect("publish after lag");
        assert_eq!(next(&mut slow).await, after);
        assert_eq!(next(&mut fast).await, after);
    }

    async fn an_oversized_event_is_still_delivered(t) {
        let bus = bus_for(&t.db, &t.url).await;
        let mut rx = bus.subscribe();
        let big = Event::new(kinds::QUESTION_CHANGED)
            .for_product("p-1")
            .for_user("u-1")
            .with_data(json!({ "body": "x".repeat(2 * MAX_NOTIFY_PAYLOAD) }));
        bus.publish(&big).await.expect("publish big event");
        let got = next(&mut rx).await;
        match t.backend {
            // NOTIFY carries at most 7999 bytes: the data is dropped and the
            // subscriber is told to refetch.
            Backend::Postgres => {
                assert!(got.truncated);
                assert_eq!(got.data, Value::Null);
                assert_eq!((got.kind, got.product_id, got.user_id), (big.kind, big.product_id, big.user_id));
            }
            // In-process there is no limit.
            Backend::Sqlite => assert_eq!(got, big),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_event_published_on_one_instance_reaches_another() {
    let t = TestDb::postgres().await;
    let other_pool = t.second_pool().await;
    let a = bus_for(&t.db, &t.url).await;
    let b = bus_for(&other_pool, &t.url).await;
    let (mut rx_a, mut rx_b) = (a.subscribe(), b.subscribe());
    let event = sample();
    a.publish(&event).await.expect("publish on A");
    assert_eq!(next(&mut rx_b).await, event);
    assert_eq!(next(&mut rx_a).await, event);
    // And the other way round.
    let reply = Event::new(kinds::JOB_STATUS).with_data(json!({ "status": "claimed" }));
    b.publish(&reply).await.expect("publish on B");
    assert_eq!(next(&mut rx_a).await, reply);
    assert_eq!(next(&mut rx_b).await, reply);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_listener_recovers_from_a_dropped_connection() {
    let t = TestDb::postgres().await;
    let bus = bus_for(&t.db, &t.url).await;
    let mut rx = bus.subscribe();
    let killed =
        t.db.query_one_raw(Statement::from_sql_and_values(
            t.db.get_database_backend(),
            "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE application_name = $1 AND datname = current_database()",
            [LISTENER_APPLICATION_NAME.into()],
        ))
        .await
        .expect("terminate listener")
        .expect("one row");
    assert_eq!(killed.try_get::<i64>("", "n").expect("count"), 1, "exactly one listener connection per bus");
    // The bus reconnects by itself and asks subscribers to resync.
    assert_eq!(next(&mut rx).await.kind, kinds::BUS_RESYNC);
    timeout(WAIT, bus.ready()).await.expect("listening again");
    let event = sample();
    bus.publish(&event).await.expect("publish after reconnect");
    assert_eq!(next(&mut rx).await, event);
}

/// Names the child test and carries the database URL to it.
const CHILD_TEST: &str = "child_process_prints_one_event";
const CHILD_URL_ENV: &str = "BATON_EVENTS_CHILD_URL";
const CHILD_EVENT_ENV: &str = "BATON_EVENTS_CHILD_EVENT";
const CHILD_PREFIX: &str = "BATON-EVENTS-CHILD";

/// Runs only as the child of
/// [`postgres_an_event_reaches_another_os_process`] (which sets
/// `BATON_EVENTS_CHILD_URL`); otherwise it passes without doing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_prints_one_event() {
    let Ok(url) = std::env::var(CHILD_URL_ENV) else { return };
    let expected: Event = serde_json::from_str(&std::env::var(CHILD_EVENT_ENV).expect("the parent names the event"))
        .expect("the parent sends an event");
    let db = baton_store::connect(&url).await.expect("child connects");
    let bus = bus_for(&db, &url).await;
    let mut rx = bus.subscribe();
    println!("{CHILD_PREFIX} READY");
    let event = until(&mut rx, &expected.kind).await.pop().expect("an event");
    assert_eq!(event, expected, "the event crossed processes intact");
    println!("{CHILD_PREFIX} EVENT {}", serde_json::to_string(&event).expect("encode"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_event_reaches_another_os_process() {
    let t = TestDb::postgres().await;
    let bus = bus_for(&t.db, &t.url).await;
    let event = sample().with_data(json!({ "from": "parent", "pid": std::process::id() }));
    let exe = std::env::current_exe().expect("own test binary");
    let mut child = tokio::process::Command::new(exe)
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_URL_ENV, &t.url)
        .env(CHILD_EVENT_ENV, serde_json::to_string(&event).expect("encode"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start child process");
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();

    let conversation = async {
        let mut transcript = Vec::new();
        while let Some(line) = lines.next_line().await.expect("read child stdout") {
            transcript.push(line.clone());
            // libtest may print "test NAME ... " on the same line first.
            if line.ends_with(&format!("{CHILD_PREFIX} READY")) {
                bus.publish(&event).await.expect("publish to the child");
            } else if let Some((_, json)) = line.split_once(&format!("{CHILD_PREFIX} EVENT ")) {
                return (Some(serde_json::from_str::<Event>(json).expect("child printed an event")), transcript);
            }
        }
        (None, transcript)
    };
    let received = match timeout(WAIT * 2, conversation).await {
        Ok((Some(received), _)) => received,
        Ok((None, transcript)) => {
            let status = child.wait().await;
            panic!("child exited ({status:?}) without printing the event; stdout: {transcript:#?}")
        }
        Err(_) => {
            let _ = child.kill().await;
            panic!("child did not get ready and receive the event in time")
        }
    };
    assert_eq!(received, event);
    let status = match timeout(WAIT, child.wait()).await {
        Ok(status) => status.expect("child status"),
        Err(_) => {
            let _ = child.kill().await;
            panic!("child did not exit in time")
        }
    };
    assert!(status.success(), "child failed: {status}");
}
