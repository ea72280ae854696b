//! The backend-neutral cases of the conformance suite, one `async fn` per
//! case, each taking a fresh [`Harness`]. Run them all with
//! [`conformance_tests!`](crate::conformance_tests) or
//! [`run_all`](super::run_all); each case's documentation says what it
//! checks.
//!
//! The fixtures at the top ([`exec`], [`child`], [`finalize_of`], [`one`],
//! …) are public so that a backend's own extra cases can build on them.

use super::Harness;
use crate::model::{
    ChildError, ErrorKind, ExecutionError, ExecutionRef, ExecutionStatus, Loaded, Millis,
    NewExecution, ParentRef, RetryOptions, TaskExecution,
};
use crate::storage::{
    Advance, AdvanceItem, CancelItem, ChildOutput, FinishItem, ListCursor, ListFilter, PruneCutoff,
    PruneOutcome, RerunRefusal, RetryItem, RunRef, Storage, StorageError, StorageEvent, WaitItem,
    Wake,
};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// A fixed clock with millisecond precision.
pub const T0: Millis = 1_700_000_000_123;
const SLACK: u64 = 250;
/// The heartbeat lease of the claims of these cases: long enough that only
/// the cases about heartbeats ever reach a heartbeat deadline.
const LEASE: u64 = 3_600_000;

/// A new root execution `id` of `task`, created at `created_at`, with a
/// 1 s timeout, no retries and input `null`.
pub fn exec(id: &str, task: &str, created_at: Millis) -> NewExecution {
    NewExecution {
        execution_id: id.to_owned(),
        task_id: task.to_owned(),
        root: None,
        parent: None,
        retry_options: RetryOptions::default(),
        sleep_ms_before_run: 0,
        timeout_ms: 1_000,
        input: "null".to_owned(),
        created_at,
        sleeping_key: None,
    }
}

/// A new child `id` at `index` of `parent` (task `child`).
pub fn child(parent: &str, index: u32, id: &str, created_at: Millis) -> NewExecution {
    NewExecution {
        root: Some(ExecutionRef {
            task_id: "root".into(),
            execution_id: parent.into(),
        }),
        parent: Some(ParentRef {
            task_id: "parent".into(),
            execution_id: parent.into(),
            index,
            is_finalize: false,
            parent_decides: false,
        }),
        ..exec(id, "child", created_at)
    }
}

/// A new finalize `id` of `parent` (task `finalize`).
pub fn finalize_of(parent: &str, id: &str, created_at: Millis) -> NewExecution {
    let mut f = child(parent, 0, id, created_at);
    f.task_id = "finalize".into();
    if let Some(p) = f.parent.as_mut() {
        p.is_finalize = true;
    }
    f
}

/// Owned ids.
pub fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The first runs (attempt 0) of `list`.
pub fn runs(list: &[&str]) -> Vec<RunRef> {
    list.iter().map(|id| RunRef::new(*id, 0)).collect()
}

/// The execution `id`; panics unless exactly one readable row is found.
pub async fn one(s: &dyn Storage, id: &str) -> TaskExecution {
    let mut rows = s.get(&[id.to_owned()]).await.unwrap();
    assert_eq!(rows.len(), 1, "execution {id} not found");
    rows.remove(0).unwrap()
}

/// The status of execution `id`.
pub async fn status(s: &dyn Storage, id: &str) -> ExecutionStatus {
    one(s, id).await.status
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn ok_ids(rows: Vec<Loaded>) -> Vec<String> {
    rows.into_iter().map(|r| r.unwrap().execution_id).collect()
}

fn completed(id: &str, output: &str) -> FinishItem {
    FinishItem {
        execution_id: id.into(),
        attempt: Some(0),
        status: ExecutionStatus::Completed,
        run_output: Some(output.into()),
        output: Some(output.into()),
        error: None,
    }
}

fn failed(id: &str, message: &str) -> FinishItem {
    FinishItem {
        execution_id: id.into(),
        attempt: Some(0),
        status: ExecutionStatus::Failed,
        run_output: None,
        output: None,
        error: Some(ExecutionError::generic(message, false)),
    }
}

/// Inserts `ids` and claims them all for `executor` at `now`.
async fn running(s: &dyn Storage, executor: &str, now: Millis, list: &[&str]) {
    let new: Vec<_> = list.iter().map(|id| exec(id, "t", now - 10)).collect();
    s.insert(&new).await.unwrap();
    let claimed = ok_ids(
        s.claim_ready(executor, now, 1000, SLACK, LEASE)
            .await
            .unwrap(),
    );
    assert_eq!(sorted(claimed), sorted(ids(list)));
}

/// A running parent `p` owned by `ex` that now waits for `n` children
/// `p_c0..`, which are claimed by `ex` too.
async fn parent_with_children(s: &dyn Storage, p: &str, n: u32) -> Vec<String> {
    parent_with_children_of(s, p, n, false).await
}

/// [`parent_with_children`], the children marked `parent_decides` or not.
async fn parent_with_children_of(
    s: &dyn Storage,
    p: &str,
    n: u32,
    parent_decides: bool,
) -> Vec<String> {
    running(s, "ex", T0, &[p]).await;
    let children: Vec<NewExecution> = (0..n)
        .map(|i| {
            let mut c = child(p, i, &format!("{p}_c{i}"), T0);
            if let Some(parent) = c.parent.as_mut() {
                parent.parent_decides = parent_decides;
            }
            c
        })
        .collect();
    let matched = s
        .wait_for_children(
            "ex",
            T0 + 1,
            &[WaitItem {
                execution_id: p.into(),
                attempt: Some(0),
                run_output: "\"own\"".into(),
                children: children.clone(),
                finalize: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(matched, ids(&[p]));
    let claimed = ok_ids(
        s.claim_ready("ex", T0 + 2, 1000, SLACK, LEASE)
            .await
            .unwrap(),
    );
    assert_eq!(claimed.len(), n as usize);
    children.into_iter().map(|c| c.execution_id).collect()
}

/// Every field of an inserted execution reads back as written (ids, root and
/// parent references, retry options, sleep, timeout, non-ASCII JSON input,
/// `start_at = created_at + sleep`), and so do the fields a claim and a
/// finish write later (status, error, run output, timestamps).
pub async fn insert_and_get_round_trip_every_field(h: Harness) {
    let full = NewExecution {
        execution_id: "te_full".into(),
        task_id: "task-é".into(),
        root: Some(ExecutionRef {
            task_id: "root_task".into(),
            execution_id: "te_root".into(),
        }),
        parent: Some(ParentRef {
            task_id: "parent_task".into(),
            execution_id: "te_parent".into(),
            index: 7,
            is_finalize: true,
            parent_decides: true,
        }),
        retry_options: RetryOptions {
            max_attempts: 3,
            base_delay_ms: Some(100),
            delay_multiplier: Some(1.5),
            max_delay_ms: Some(60_000),
            jitter: Some(0.25),
        },
        sleep_ms_before_run: 1_500,
        timeout_ms: 30_000,
        input: r#"{"text":"héllo \"quoted\"","n":[1,2.5,null]}"#.into(),
        created_at: T0,
        sleeping_key: None,
    };
    let bare = exec("te_bare", "t", T0 + 1);
    h.insert(&[full.clone(), bare.clone()]).await.unwrap();

    let got = one(&*h, "te_full").await;
    let expected = TaskExecution {
        execution_id: full.execution_id.clone(),
        task_id: full.task_id.clone(),
        root: full.root.clone(),
        parent: full.parent.clone(),
        retry_options: full.retry_options.clone(),
        sleep_ms_before_run: 1_500,
        timeout_ms: 30_000,
        input: full.input.clone(),
        status: ExecutionStatus::Ready,
        start_at: T0 + 1_500,
        created_at: T0,
        updated_at: T0,
        // Every other field unset: no output, error, lease or children yet.
        ..TaskExecution::default()
    };
    assert_eq!(got, expected);
    let got = one(&*h, "te_bare").await;
    assert_eq!(got.root, None);
    assert_eq!(got.parent, None);
    assert_eq!(got.retry_options, RetryOptions::default());
    assert_eq!(got.start_at, T0 + 1);

    // Every field written by later transitions round-trips too.
    h.claim_ready("ex", T0 + 2_000, 10, SLACK, LEASE)
        .await
        .unwrap();
    let error = ExecutionError {
        kind: ErrorKind::TimedOut,
        message: "Task timed out ✓".into(),
        is_retryable: true,
        is_internal: true,
    };
    h.finish(
        "ex",
        T0 + 2_345,
        &[FinishItem {
            execution_id: "te_full".into(),
            attempt: Some(0),
            status: ExecutionStatus::TimedOut,
            run_output: Some("[1]".into()),
            output: None,
            error: Some(error.clone()),
        }],
    )
    .await
    .unwrap();
    let got = one(&*h, "te_full").await;
    assert_eq!(got.status, ExecutionStatus::TimedOut);
    assert_eq!(got.error, Some(error));
    assert_eq!(got.run_output.as_deref(), Some("[1]"));
    assert_eq!(got.started_at, Some(T0 + 2_000));
    assert_eq!(got.finished_at, Some(T0 + 2_345));
    assert_eq!(got.updated_at, T0 + 2_345);
    assert_eq!(got.expires_at, None);
    assert_eq!(got.executor_id, None);
}

/// Empty lists are no-ops: inserting, getting, finishing, cancelling nothing
/// and claiming from an empty storage succeed and change nothing.
pub async fn insert_of_nothing_is_a_no_op(h: Harness) {
    h.insert(&[]).await.unwrap();
    assert!(h.get(&[]).await.unwrap().is_empty());
    assert_eq!(h.stats(T0).await.unwrap().counts, vec![]);
    assert!(h.finish("ex", T0, &[]).await.unwrap().is_empty());
    assert!(h.cancel(T0, &[]).await.unwrap().is_empty());
    assert!(
        h.claim_ready("ex", T0, 10, 0, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

/// An insert whose batch holds an existing id, or the same id twice, fails
/// with [`StorageError::DuplicateExecutionId`] naming that id (not
/// transient) and inserts none of the batch.
pub async fn duplicate_execution_id_rejects_the_whole_batch(h: Harness) {
    h.insert(&[exec("a", "t", T0)]).await.unwrap();
    let err = h
        .insert(&[exec("b", "t", T0), exec("a", "t", T0)])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::DuplicateExecutionId { execution_id } if execution_id == "a"),
        "{err:?}"
    );
    let err = h
        .insert(&[exec("c", "t", T0), exec("c", "t", T0)])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::DuplicateExecutionId { execution_id } if execution_id == "c"),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(ok_ids(h.get(&ids(&["a", "b", "c"])).await.unwrap()), ["a"]);
}

/// [`Storage::get`] returns rows in the order of the requested ids and leaves
/// out ids that do not exist.
pub async fn get_follows_the_requested_order(h: Harness) {
    h.insert(&[exec("a", "t", T0), exec("b", "t", T0), exec("c", "t", T0)])
        .await
        .unwrap();
    let got = ok_ids(h.get(&ids(&["c", "missing", "a", "b"])).await.unwrap());
    assert_eq!(got, ["c", "a", "b"]);
}

/// [`Storage::get_children`] returns a parent's children by index, its
/// finalize last, and nothing of other parents.
pub async fn get_children_in_spawn_order_finalize_last(h: Harness) {
    h.insert(&[
        finalize_of("p", "f", T0),
        child("p", 2, "c2", T0),
        child("p", 0, "c0", T0),
        child("other", 1, "x", T0),
        child("p", 1, "c1", T0),
    ])
    .await
    .unwrap();
    let got = ok_ids(h.get_children("p").await.unwrap());
    assert_eq!(got, ["c0", "c1", "c2", "f"]);
    assert!(h.get_children("nobody").await.unwrap().is_empty());
}

/// [`Storage::claim_ready`] takes only due `ready` rows, oldest `start_at`
/// first, at most `limit` (0 claims nothing), sets `running`, the owner,
/// `started_at` and the lease `now + timeout + slack`, and never hands a row
/// out twice.
pub async fn claim_ready_filters_orders_and_limits(h: Harness) {
    let mut late = exec("late", "t", T0);
    late.sleep_ms_before_run = 5_000;
    let mut b = exec("b", "t", T0 - 20);
    b.timeout_ms = 7_000;
    h.insert(&[
        exec("c", "t", T0 - 10),
        late,
        b,
        exec("a", "t", T0 - 30),
        exec("now", "t", T0),
    ])
    .await
    .unwrap();
    assert!(
        h.claim_ready("ex", T0, 0, SLACK, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let first: Vec<TaskExecution> = h
        .claim_ready("ex1", T0, 2, SLACK, LEASE)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        first
            .iter()
            .map(|e| e.execution_id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    for e in &first {
        assert_eq!(e.status, ExecutionStatus::Running);
        assert_eq!(e.executor_id.as_deref(), Some("ex1"));
        assert_eq!(e.started_at, Some(T0));
        assert_eq!(e.updated_at, T0);
        assert_eq!(
            e.expires_at,
            Some(T0 + e.timeout_ms as i64 + SLACK as i64),
            "{}",
            e.execution_id
        );
    }
    assert_eq!(first[1].expires_at, Some(T0 + 7_000 + 250));
    let second = ok_ids(h.claim_ready("ex2", T0, 10, SLACK, LEASE).await.unwrap());
    assert_eq!(second, ["c", "now"]);
    assert!(
        h.claim_ready("ex3", T0, 10, SLACK, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let later = ok_ids(
        h.claim_ready("ex3", T0 + 5_000, 10, SLACK, LEASE)
            .await
            .unwrap(),
    );
    assert_eq!(later, ["late"]);
    assert_eq!(one(&*h, "b").await.executor_id.as_deref(), Some("ex1"));
}

/// Receives `rx`'s events for `window` (or until it closes).
pub async fn events_for(
    rx: &mut tokio::sync::broadcast::Receiver<StorageEvent>,
    window: std::time::Duration,
) -> Vec<StorageEvent> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(window, async {
        while let Ok(event) = rx.recv().await {
            seen.push(event);
        }
    })
    .await;
    seen
}

/// [`Storage::insert_and_claim`] inserts and claims in one step, with
/// [`Storage::claim_ready`]'s owner, lease and timeout bound, at most
/// `limit`, due rows only: the new ones when nothing older is ready (never
/// ahead of an older ready row: the trait's default claims that one
/// instead; a delayed new one not at all). New rows it
/// leaves `ready` wake other handles ([`StorageEvent::ReadyWork`]). A
/// refused insert claims nothing; `limit = 0` is a plain insert.
pub async fn insert_and_claim_claims_the_oldest_ready_rows(h: Harness) {
    let other = h.reopen().await;
    let mut theirs = other.subscribe();
    h.settle(&mut theirs).await;
    h.insert(&[exec("old", "t", T0 - 10)]).await.unwrap();
    let _ = events_for(&mut theirs, std::time::Duration::from_millis(300)).await;

    // Something older is ready: the new row does not go ahead of it.
    // Nothing is claimed (a backend on the trait's default may claim the
    // older row instead); the new row is left to the claimers, which are
    // woken for it.
    let claimed = ok_ids(
        h.insert_and_claim(&[exec("new", "t", T0)], "ex", T0, 1, SLACK, LEASE)
            .await
            .unwrap(),
    );
    assert!(claimed.is_empty() || claimed == ["old"], "{claimed:?}");
    assert_eq!(status(&*h, "new").await, ExecutionStatus::Ready);
    let seen = events_for(&mut theirs, std::time::Duration::from_millis(300)).await;
    assert!(
        seen.contains(&StorageEvent::ReadyWork),
        "a new row left ready woke nobody: {seen:?}"
    );

    // Nothing older is ready: the new rows are claimed (as many as the
    // limit, oldest first; a delayed one is not due), and nobody is woken
    // when none is left ready.
    let rest = ok_ids(h.claim_ready("ex", T0, 10, SLACK, LEASE).await.unwrap());
    assert!(rest.contains(&"new".to_owned()), "{rest:?}");
    let mut first = exec("first", "t", T0 - 5);
    first.timeout_ms = 7_000;
    let rows: Vec<TaskExecution> = h
        .insert_and_claim(
            &[exec("second", "t", T0), first],
            "ex2",
            T0,
            2,
            SLACK,
            LEASE,
        )
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let claimed: Vec<&str> = rows.iter().map(|e| e.execution_id.as_str()).collect();
    assert_eq!(claimed, ["first", "second"]);
    for e in &rows {
        assert_eq!(e.status, ExecutionStatus::Running);
        assert_eq!(e.executor_id.as_deref(), Some("ex2"));
        assert_eq!(e.started_at, Some(T0));
        assert_eq!(e.heartbeat_expires_at, Some(T0 + LEASE as i64));
    }
    assert_eq!(rows[0].expires_at, Some(T0 + 7_000 + SLACK as i64));
    assert_eq!(one(&*h, "first").await.executor_id.as_deref(), Some("ex2"));
    // (Whether rows all claimed at insert wake anybody is left to the
    // backend: a wake-up too many costs a claim that finds nothing. The
    // built-in backends send none; their own tests check it.)

    let mut late = exec("late", "t", T0);
    late.sleep_ms_before_run = 5_000;
    assert!(
        h.insert_and_claim(&[late], "ex", T0, 1, SLACK, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&*h, "late").await, ExecutionStatus::Ready);

    // All or nothing: a refused insert claims no older row either.
    h.insert(&[exec("waiting", "t", T0 - 100)]).await.unwrap();
    let refused = h
        .insert_and_claim(
            &[exec("fresh", "t", T0), exec("old", "t", T0)],
            "ex",
            T0,
            2,
            SLACK,
            LEASE,
        )
        .await;
    assert!(
        matches!(refused, Err(StorageError::DuplicateExecutionId { ref execution_id }) if execution_id == "old"),
        "{refused:?}"
    );
    assert!(h.get(&ids(&["fresh"])).await.unwrap().is_empty());
    assert_eq!(status(&*h, "waiting").await, ExecutionStatus::Ready);

    // limit 0: a plain insert.
    assert!(
        h.insert_and_claim(&[exec("plain", "t", T0)], "ex", T0, 0, SLACK, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&*h, "plain").await, ExecutionStatus::Ready);
    assert!(
        h.insert_and_claim(&[], "ex", T0, 3, SLACK, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&*h, "waiting").await, ExecutionStatus::Ready);
}

/// Claims at insert on two handles, racing plain claimers, never hand a row
/// out twice, and together with them claim every row.
pub async fn concurrent_claims_at_insert_get_disjoint_rows(h: Harness) {
    let per_worker = 60;
    let mut handles: Vec<Arc<dyn Storage>> = vec![Arc::clone(h.storage())];
    handles.push(h.reopen().await);
    let mut tasks = Vec::new();
    for w in 0..6 {
        let s = Arc::clone(&handles[w % handles.len()]);
        tasks.push(tokio::spawn(async move {
            let executor = format!("w{w}");
            let mut mine = Vec::new();
            for i in 0..per_worker {
                let claimed = if w % 2 == 0 {
                    // Inserts of 1–3 rows, claiming up to 2.
                    let new: Vec<_> = (0..1 + i % 3)
                        .map(|k| exec(&format!("w{w}-{i}-{k}"), "t", T0))
                        .collect();
                    s.insert_and_claim(&new, &executor, T0, 2, 0, LEASE)
                        .await
                        .unwrap()
                } else {
                    s.claim_ready(&executor, T0, 3, 0, LEASE).await.unwrap()
                };
                record_claims(claimed, &executor, &mut mine);
            }
            mine
        }));
    }
    let mut seen = claimed_once(tasks).await;
    loop {
        let rest = ok_ids(h.claim_ready("last", T0, 100, 0, LEASE).await.unwrap());
        if rest.is_empty() {
            break;
        }
        for id in rest {
            assert!(seen.insert(id.clone()), "{id} claimed twice");
        }
    }
    // 3 inserting workers × 60 inserts of 1, 2, 3, 1, 2, 3, … rows.
    assert_eq!(seen.len(), 3 * 2 * 60);
}

/// [`Storage::finish`] applies only to running rows of the calling owner,
/// writes status, outputs, error and timestamps (a cancelled run keeps its
/// owner), is stale the second time, and a non-finished status is refused
/// ([`StorageError::Encode`]) or changes nothing.
pub async fn finish_is_guarded_by_status_and_owner(h: Harness) {
    running(&*h, "ex", T0, &["a", "b", "c"]).await;
    assert!(
        h.finish("other", T0 + 1, &[completed("a", "1")])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&*h, "a").await, ExecutionStatus::Running);
    let matched = h
        .finish(
            "ex",
            T0 + 5,
            &[
                completed("a", "\"out\""),
                failed("b", "boom"),
                FinishItem {
                    execution_id: "c".into(),
                    attempt: Some(0),
                    status: ExecutionStatus::Cancelled,
                    run_output: None,
                    output: None,
                    error: Some(ExecutionError::cancelled("stop")),
                },
                completed("unknown", "1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(sorted(matched), ids(&["a", "b", "c"]));
    let a = one(&*h, "a").await;
    assert_eq!(a.status, ExecutionStatus::Completed);
    assert_eq!(a.output.as_deref(), Some("\"out\""));
    assert_eq!(a.run_output.as_deref(), Some("\"out\""));
    assert_eq!((a.finished_at, a.updated_at), (Some(T0 + 5), T0 + 5));
    // A top-level execution without children is closed by its finish
    // (docs/design.md, "Closing").
    assert_eq!(
        (a.executor_id, a.expires_at, a.is_closed, a.closed_at),
        (None, None, true, Some(T0 + 5))
    );
    let b = one(&*h, "b").await;
    assert_eq!(b.status, ExecutionStatus::Failed);
    assert_eq!(b.error, Some(ExecutionError::generic("boom", false)));
    assert_eq!(b.output, None);
    // A cancelled run keeps its owner (the executor still has to stop it).
    assert_eq!(one(&*h, "c").await.executor_id.as_deref(), Some("ex"));
    // A second finish is stale.
    assert!(
        h.finish("ex", T0 + 6, &[failed("a", "late")])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&*h, "a").await, ExecutionStatus::Completed);
    // A non-finished status is refused before touching the database.
    let err = h
        .finish(
            "ex",
            T0,
            &[FinishItem {
                status: ExecutionStatus::Running,
                ..completed("a", "1")
            }],
        )
        .await;
    match err {
        Err(StorageError::Encode { .. }) => {}
        Ok(matched) => assert!(matched.is_empty(), "{matched:?}"),
        Err(other) => panic!("expected an Encode error or no change, got {other:?}"),
    }
}

/// A cancelled running execution keeps `needs_cancel`, its owner and the
/// cancel error; a later finish or retry of its run changes nothing.
pub async fn finish_after_cancel_changes_nothing(h: Harness) {
    running(&*h, "ex", T0, &["a"]).await;
    let cancelled = h
        .cancel(T0 + 1, &[cancel_self("a", "by user")])
        .await
        .unwrap();
    assert_eq!(cancelled, ["a"]);
    let a = one(&*h, "a").await;
    assert_eq!(a.status, ExecutionStatus::Cancelled);
    assert!(a.needs_cancel);
    assert_eq!(a.executor_id.as_deref(), Some("ex"));
    assert_eq!(a.error, Some(ExecutionError::cancelled("by user")));
    assert_eq!(a.expires_at, None);
    assert!(
        h.finish("ex", T0 + 2, &[completed("a", "1")])
            .await
            .unwrap()
            .is_empty()
    );
    let after = one(&*h, "a").await;
    assert_eq!(after.status, ExecutionStatus::Cancelled);
    assert_eq!(after.output, None);
    assert!(
        h.retry(
            "ex",
            T0 + 2,
            &[RetryItem {
                execution_id: "a".into(),
                attempt: Some(0),
                error: ExecutionError::generic("x", true),
                start_at: T0 + 3,
            }]
        )
        .await
        .unwrap()
        .is_empty()
    );
    assert_eq!(status(&*h, "a").await, ExecutionStatus::Cancelled);
}

/// [`Storage::retry`] re-queues an owned running row (`ready`, attempt + 1,
/// new `start_at`, error kept, owner and lease cleared), is refused for
/// another owner or the second time, and the row is claimable at its
/// `start_at`, not before.
pub async fn retry_requeues_and_is_guarded(h: Harness) {
    running(&*h, "ex", T0, &["a", "b"]).await;
    let item = |id: &str| RetryItem {
        execution_id: id.into(),
        attempt: Some(0),
        error: ExecutionError::generic("flaky", true),
        start_at: T0 + 500,
    };
    assert!(
        h.retry("other", T0 + 1, &[item("a")])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(h.retry("ex", T0 + 1, &[item("a")]).await.unwrap(), ["a"]);
    let a = one(&*h, "a").await;
    assert_eq!(a.status, ExecutionStatus::Ready);
    assert_eq!(a.attempt, 1);
    assert_eq!(a.start_at, T0 + 500);
    assert_eq!(a.error, Some(ExecutionError::generic("flaky", true)));
    assert_eq!((a.executor_id, a.expires_at), (None, None));
    assert_eq!(a.updated_at, T0 + 1);
    assert!(
        h.retry("ex", T0 + 2, &[item("a")])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        h.claim_ready("ex", T0 + 499, 10, 0, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let again = h.claim_ready("ex", T0 + 500, 10, 0, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    let a = again.into_iter().next().unwrap().unwrap();
    assert_eq!((a.execution_id.as_str(), a.attempt), ("a", 1));
    // The previous attempt's error stays visible while running again.
    assert_eq!(a.error, Some(ExecutionError::generic("flaky", true)));
    assert_eq!(one(&*h, "b").await.attempt, 0);
}

/// After lease expiry re-queued an execution, the old owner's retry and
/// finish are refused; the new owner's finish applies.
pub async fn retry_after_lease_expiry_is_refused(h: Harness) {
    let mut a = exec("a", "t", T0);
    a.retry_options.max_attempts = 2;
    a.timeout_ms = 100;
    h.insert(&[a]).await.unwrap();
    h.claim_ready("ex", T0, 10, 0, LEASE).await.unwrap();
    let outcome = h.expire_leases(T0 + 101, 10).await.unwrap();
    assert_eq!(outcome.requeued, ["a"]);
    let late = h
        .retry(
            "ex",
            T0 + 102,
            &[RetryItem {
                execution_id: "a".into(),
                attempt: Some(0),
                error: ExecutionError::generic("late", true),
                start_at: T0 + 103,
            }],
        )
        .await
        .unwrap();
    assert!(late.is_empty());
    let a = one(&*h, "a").await;
    assert_eq!((a.status, a.attempt), (ExecutionStatus::Ready, 1));
    // Claimed again by another executor: the first one cannot finish it,
    // not even at the new attempt.
    h.claim_ready("ex2", T0 + 200, 10, 0, LEASE).await.unwrap();
    let at_1 = |item: FinishItem| FinishItem {
        attempt: Some(1),
        ..item
    };
    assert!(
        h.finish(
            "ex",
            T0 + 201,
            &[completed("a", "1"), at_1(completed("a", "1"))]
        )
        .await
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        h.finish("ex2", T0 + 201, &[at_1(completed("a", "2"))])
            .await
            .unwrap(),
        ["a"]
    );
    assert_eq!(one(&*h, "a").await.output.as_deref(), Some("2"));
}

/// [`Storage::release`] gives the owner's runs back (`ready` now, attempt
/// unchanged, owner and lease cleared) and ignores other owners' and unknown
/// ids.
pub async fn release_gives_runs_back_without_an_attempt(h: Harness) {
    running(&*h, "ex", T0, &["a", "b"]).await;
    assert!(
        h.release("other", T0 + 5, &runs(&["a"]))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        h.release("ex", T0 + 5, &runs(&["a", "zzz"])).await.unwrap(),
        ["a"]
    );
    let a = one(&*h, "a").await;
    assert_eq!(a.status, ExecutionStatus::Ready);
    assert_eq!((a.start_at, a.attempt), (T0 + 5, 0));
    assert_eq!((a.executor_id, a.expires_at), (None, None));
    assert_eq!(status(&*h, "b").await, ExecutionStatus::Running);
}

/// Owner writes are fenced by the attempt as well as the owner: an
/// execution claimed (attempt 0), recovered by lease expiry and claimed
/// again by the SAME executor (attempt 1) refuses every write of the stale
/// attempt 0 (finish, retry, wait for children with no child inserted,
/// release, heartbeat); the attempt-1 finish applies.
pub async fn owner_writes_are_fenced_by_attempt(h: Harness) {
    let mut a = exec("a", "t", T0);
    a.retry_options.max_attempts = 2;
    a.timeout_ms = 100;
    h.insert(&[a]).await.unwrap();
    let claimed = h.claim_ready("ex", T0, 10, 0, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].as_ref().unwrap().attempt, 0);
    assert_eq!(h.expire_leases(T0 + 101, 10).await.unwrap().requeued, ["a"]);
    let again = h.claim_ready("ex", T0 + 200, 10, 0, LEASE).await.unwrap();
    let again = again.into_iter().next().unwrap().unwrap();
    assert_eq!(
        (again.attempt, again.executor_id.as_deref()),
        (1, Some("ex"))
    );

    let stale = |item: FinishItem| FinishItem {
        attempt: Some(0),
        ..item
    };
    assert!(
        h.finish("ex", T0 + 201, &[stale(completed("a", "\"stale\""))])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        h.retry(
            "ex",
            T0 + 201,
            &[RetryItem {
                execution_id: "a".into(),
                attempt: Some(0),
                error: ExecutionError::generic("stale", true),
                start_at: T0 + 202,
            }]
        )
        .await
        .unwrap()
        .is_empty()
    );
    assert!(
        h.wait_for_children(
            "ex",
            T0 + 201,
            &[WaitItem {
                execution_id: "a".into(),
                attempt: Some(0),
                run_output: "1".into(),
                children: vec![child("a", 0, "a_c0", T0 + 201)],
                finalize: None,
            }]
        )
        .await
        .unwrap()
        .is_empty()
    );
    assert!(h.get(&ids(&["a_c0"])).await.unwrap().is_empty());
    assert!(
        h.release("ex", T0 + 201, &[RunRef::new("a", 0)])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        h.heartbeat("ex", T0 + 201, LEASE, &[RunRef::new("a", 0)])
            .await
            .unwrap()
            .is_empty()
    );
    let row = one(&*h, "a").await;
    assert_eq!(row.status, ExecutionStatus::Running);
    assert_eq!((row.attempt, row.executor_id.as_deref()), (1, Some("ex")));
    assert_eq!(row.output, None);

    let fresh = FinishItem {
        attempt: Some(1),
        ..completed("a", "\"fresh\"")
    };
    assert_eq!(h.finish("ex", T0 + 202, &[fresh]).await.unwrap(), ["a"]);
    let row = one(&*h, "a").await;
    assert_eq!(row.status, ExecutionStatus::Completed);
    assert_eq!(row.output.as_deref(), Some("\"fresh\""));
    assert_eq!(row.heartbeat_expires_at, None);
}

/// [`Storage::heartbeat`] extends the heartbeat deadline of the owner's
/// running rows at their attempt only (not another owner's, not a stale
/// attempt, not a cancelled row, not an unknown id), writes nothing else
/// (`updated_at` unchanged), and lease expiry recovers a running row once
/// its heartbeat deadline passed, long before its timeout bound: an
/// extended row is not expired at a time past its old deadline, and is
/// once past the new one. Stats count the same expired rows.
pub async fn heartbeat_extends_owned_runs_and_expiry_follows_it(h: Harness) {
    let long = |id: &str| {
        let mut e = exec(id, "t", T0 - 10);
        e.timeout_ms = 3_600_000;
        e
    };
    h.insert(&[long("a"), long("b")]).await.unwrap();
    assert_eq!(
        h.claim_ready("ex", T0, 10, SLACK, 1_000)
            .await
            .unwrap()
            .len(),
        2
    );
    h.insert(&[long("c"), long("d")]).await.unwrap();
    assert_eq!(
        h.claim_ready("other", T0, 10, SLACK, 1_000)
            .await
            .unwrap()
            .len(),
        2
    );
    let a = one(&*h, "a").await;
    assert_eq!(a.heartbeat_expires_at, Some(T0 + 1_000));
    assert_eq!(a.expires_at, Some(T0 + 3_600_000 + SLACK as i64));

    assert!(
        h.heartbeat("ex", T0 + 1, 1_000, &[])
            .await
            .unwrap()
            .is_empty()
    );
    let cancelled = h
        .cancel(T0 + 2, &[cancel_self("d", "by user")])
        .await
        .unwrap();
    assert_eq!(cancelled, ["d"]);
    let extended = h
        .heartbeat(
            "ex",
            T0 + 500,
            1_000,
            &[
                RunRef::new("a", 0),
                RunRef::new("b", 1),
                RunRef::new("c", 0),
                RunRef::new("zzz", 0),
            ],
        )
        .await
        .unwrap();
    assert_eq!(extended, ["a"]);
    assert!(
        h.heartbeat("other", T0 + 500, 1_000, &[RunRef::new("d", 0)])
            .await
            .unwrap()
            .is_empty()
    );
    let a = one(&*h, "a").await;
    assert_eq!(a.heartbeat_expires_at, Some(T0 + 1_500));
    assert_eq!(a.updated_at, T0, "a heartbeat writes only its deadline");
    assert_eq!(a.expires_at, Some(T0 + 3_600_000 + SLACK as i64));
    assert_eq!(one(&*h, "b").await.heartbeat_expires_at, Some(T0 + 1_000));

    // Past b's and c's deadline, before a's new one.
    assert_eq!(h.stats(T0 + 1_200).await.unwrap().expired_leases, 2);
    let outcome = h.expire_leases(T0 + 1_200, 10).await.unwrap();
    assert_eq!(sorted(outcome.failed), ids(&["b", "c"]));
    assert!(outcome.requeued.is_empty());
    assert_eq!(status(&*h, "a").await, ExecutionStatus::Running);
    assert_eq!(one(&*h, "b").await.heartbeat_expires_at, None);
    assert_eq!(status(&*h, "d").await, ExecutionStatus::Cancelled);
    assert_eq!(h.stats(T0 + 1_200).await.unwrap().expired_leases, 0);
    // Past a's new deadline.
    assert_eq!(h.stats(T0 + 1_501).await.unwrap().expired_leases, 1);
    let outcome = h.expire_leases(T0 + 1_501, 10).await.unwrap();
    assert_eq!(outcome.failed, ["a"]);
    let a = one(&*h, "a").await;
    assert_eq!(a.error.map(|e| e.message).as_deref(), Some("Task expired"));
    assert!(
        h.heartbeat("ex", T0 + 1_502, 1_000, &[RunRef::new("a", 0)])
            .await
            .unwrap()
            .is_empty()
    );
}

/// [`Storage::wait_for_children`] moves only parents the caller owns to
/// `waiting_for_children_tasks` with their counts and run output, inserts
/// their children (a finalize given with children is not inserted yet), and
/// inserts nothing for an unmatched parent.
pub async fn wait_for_children_inserts_only_for_matched_parents(h: Harness) {
    running(&*h, "ex", T0, &["p1"]).await;
    running(&*h, "other", T0, &["p2"]).await;
    let items = vec![
        WaitItem {
            execution_id: "p1".into(),
            attempt: Some(0),
            run_output: "{\"own\":1}".into(),
            children: (0..3)
                .map(|i| child("p1", i, &format!("p1_{i}"), T0 + 1))
                .collect(),
            finalize: Some(finalize_of("p1", "p1_f", T0 + 1)),
        },
        WaitItem {
            execution_id: "p2".into(),
            attempt: Some(0),
            run_output: "2".into(),
            children: vec![child("p2", 0, "p2_0", T0 + 1)],
            finalize: None,
        },
    ];
    let matched = h.wait_for_children("ex", T0 + 1, &items).await.unwrap();
    assert_eq!(matched, ["p1"]);
    let p1 = one(&*h, "p1").await;
    assert_eq!(p1.status, ExecutionStatus::WaitingForChildrenTasks);
    assert_eq!((p1.children_count, p1.active_children_count), (3, 3));
    assert_eq!(p1.run_output.as_deref(), Some("{\"own\":1}"));
    assert_eq!((p1.executor_id, p1.expires_at), (None, None));
    assert_eq!(p1.finalize_execution_id, None);
    assert_eq!(p1.updated_at, T0 + 1);
    assert_eq!(
        ok_ids(h.get_children("p1").await.unwrap()),
        ["p1_0", "p1_1", "p1_2"]
    );
    // The finalize is only used without children.
    assert!(h.get(&ids(&["p1_f"])).await.unwrap().is_empty());
    // The unmatched parent got no children.
    assert!(h.get(&ids(&["p2_0"])).await.unwrap().is_empty());
    assert_eq!(status(&*h, "p2").await, ExecutionStatus::Running);
    // Children are ready and claimable.
    assert_eq!(
        h.claim_ready("ex", T0 + 1, 10, 0, LEASE)
            .await
            .unwrap()
            .len(),
        3
    );
}

/// A parent without children but with a finalize waits for the finalize
/// (`waiting_for_finalize_task`, `finalize_execution_id` set and
/// `waiting_for_finalize_started_at` stamped), which is inserted `ready`.
pub async fn wait_for_finalize_without_children(h: Harness) {
    running(&*h, "ex", T0, &["p"]).await;
    let matched = h
        .wait_for_children(
            "ex",
            T0 + 1,
            &[WaitItem {
                execution_id: "p".into(),
                attempt: Some(0),
                run_output: "\"o\"".into(),
                children: vec![],
                finalize: Some(finalize_of("p", "p_f", T0 + 1)),
            }],
        )
        .await
        .unwrap();
    assert_eq!(matched, ["p"]);
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::WaitingForFinalizeTask);
    assert_eq!(p.finalize_execution_id.as_deref(), Some("p_f"));
    assert_eq!((p.children_count, p.active_children_count), (0, 0));
    assert_eq!(
        (
            p.waiting_for_children_started_at,
            p.waiting_for_finalize_started_at
        ),
        (None, Some(T0 + 1))
    );
    let f = one(&*h, "p_f").await;
    assert!(f.parent.as_ref().unwrap().is_finalize);
    assert_eq!(f.status, ExecutionStatus::Ready);
}

/// A wait whose child id already exists fails with
/// [`StorageError::DuplicateExecutionId`] and changes nothing: the parent
/// stays running, no child is inserted.
pub async fn wait_for_children_with_duplicate_child_changes_nothing(h: Harness) {
    running(&*h, "ex", T0, &["p", "taken"]).await;
    let err = h
        .wait_for_children(
            "ex",
            T0 + 1,
            &[WaitItem {
                execution_id: "p".into(),
                attempt: Some(0),
                run_output: "1".into(),
                children: vec![child("p", 0, "p_0", T0), child("p", 1, "taken", T0)],
                finalize: None,
            }],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::DuplicateExecutionId { .. }),
        "{err:?}"
    );
    assert_eq!(status(&*h, "p").await, ExecutionStatus::Running);
    assert!(h.get(&ids(&["p_0"])).await.unwrap().is_empty());
}

/// [`Storage::close_finished`] closes finished children, counts down their
/// parent's active children, reports the parent in `parents_ready` when the
/// count reaches 0, and [`Storage::ready_parents`] then lists it.
pub async fn close_counts_down_and_reports_ready_parents(h: Harness) {
    let children = parent_with_children(&*h, "p", 3).await;
    h.finish(
        "ex",
        T0 + 10,
        &[completed(&children[0], "0"), completed(&children[1], "1")],
    )
    .await
    .unwrap();
    let outcome = h.close_finished(T0 + 11, 100).await.unwrap();
    assert_eq!(sorted(outcome.closed), sorted(children[..2].to_vec()));
    assert!(outcome.parents_ready.is_empty());
    assert!(outcome.newly_finished.is_empty());
    let p = one(&*h, "p").await;
    assert_eq!((p.active_children_count, p.updated_at), (1, T0 + 11));
    assert!(one(&*h, &children[0]).await.is_closed);
    assert!(h.ready_parents(10).await.unwrap().is_empty());
    // Nothing left to close.
    assert!(
        h.close_finished(T0 + 12, 100)
            .await
            .unwrap()
            .closed
            .is_empty()
    );

    h.finish("ex", T0 + 20, &[completed(&children[2], "2")])
        .await
        .unwrap();
    let outcome = h.close_finished(T0 + 21, 100).await.unwrap();
    assert_eq!(outcome.closed, [children[2].clone()]);
    assert_eq!(outcome.parents_ready, ["p"]);
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::WaitingForChildrenTasks);
    assert_eq!(p.active_children_count, 0);
    assert_eq!(ok_ids(h.ready_parents(10).await.unwrap()), ["p"]);
    assert!(h.ready_parents(0).await.unwrap().is_empty());
}

/// [`Storage::close_finished`] closes at most `limit` rows, the earliest
/// finished first.
pub async fn close_respects_the_limit_oldest_first(h: Harness) {
    // Children: a top-level execution without children is closed by its
    // finish and never reaches the closer.
    let children = parent_with_children(&*h, "p", 3).await;
    let [a, b, c] = [&children[0], &children[1], &children[2]];
    h.finish("ex", T0 + 5, &[completed(c, "1")]).await.unwrap();
    h.finish("ex", T0 + 3, &[completed(b, "1")]).await.unwrap();
    h.finish("ex", T0 + 4, &[completed(a, "1")]).await.unwrap();
    assert_eq!(
        h.close_finished(T0 + 6, 2).await.unwrap().closed,
        [b.clone(), a.clone()]
    );
    assert_eq!(
        h.close_finished(T0 + 6, 2).await.unwrap().closed,
        std::slice::from_ref(c)
    );
    assert!(h.close_finished(T0 + 5, 0).await.unwrap().closed.is_empty());
}

/// A child of a parent whose finalize decides (`parent_decides`) counts the
/// parent down in any final status instead of failing it: the parent stays
/// `waiting_for_children_tasks` with no children errors, is reported ready
/// once every child finished, its siblings are not cancelled, and
/// `children_outputs` gives each child's status with its error.
pub async fn close_counts_down_children_of_a_deciding_parent(h: Harness) {
    let children = parent_with_children_of(&*h, "p", 2, true).await;
    assert_eq!(children, ["p_c0", "p_c1"]);
    let c0 = one(&*h, "p_c0").await;
    assert!(c0.parent.as_ref().unwrap().parent_decides);
    h.finish("ex", T0 + 10, &[failed("p_c0", "bad input")])
        .await
        .unwrap();
    let outcome = h.close_finished(T0 + 11, 100).await.unwrap();
    assert!(outcome.newly_finished.is_empty());
    assert!(outcome.parents_ready.is_empty());
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::WaitingForChildrenTasks);
    assert_eq!(p.active_children_count, 1);
    assert!(p.children_errors.is_empty());
    assert_eq!(one(&*h, "p_c1").await.status, ExecutionStatus::Running);
    h.finish("ex", T0 + 12, &[completed("p_c1", "1")])
        .await
        .unwrap();
    let outcome = h.close_finished(T0 + 13, 100).await.unwrap();
    assert_eq!(outcome.parents_ready, ids(&["p"]));
    let page: Vec<ChildOutput> = h
        .children_outputs("p", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].status, ExecutionStatus::Failed);
    assert_eq!(
        page[0].error,
        Some(ExecutionError::generic("bad input", false))
    );
    assert_eq!(page[1].status, ExecutionStatus::Completed);
    assert_eq!(page[1].output.as_deref(), Some("1"));
    assert_eq!(page[1].error, None);
}

/// Closing a failed child fails its parent (`children_tasks_failed`, the
/// child's error recorded); closing the failed parent cancels its active
/// children with an error naming the parent, leaves completed ones alone,
/// and a late child failure does not finish the parent again.
pub async fn close_records_child_failures_and_cancels_siblings(h: Harness) {
    let children = parent_with_children(&*h, "p", 3).await;
    // Child 2 fails, child 0 completes; child 1 is still running.
    h.finish(
        "ex",
        T0 + 10,
        &[
            failed(&children[2], "bad input"),
            completed(&children[0], "0"),
        ],
    )
    .await
    .unwrap();
    let outcome = h.close_finished(T0 + 11, 100).await.unwrap();
    assert_eq!(outcome.newly_finished, ["p"]);
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::ChildrenTasksFailed);
    assert_eq!(p.finished_at, Some(T0 + 11));
    assert!(!p.is_closed);
    assert_eq!(
        p.children_errors,
        vec![ChildError {
            index: 2,
            task_id: "child".into(),
            execution_id: children[2].clone(),
            error: ExecutionError::generic("bad input", false),
        }]
    );
    // Closing the failed parent cancels its still-active child.
    let outcome = h.close_finished(T0 + 12, 100).await.unwrap();
    assert_eq!(outcome.closed, ["p"]);
    assert_eq!(outcome.newly_finished, [children[1].clone()]);
    let c1 = one(&*h, &children[1]).await;
    assert_eq!(c1.status, ExecutionStatus::Cancelled);
    assert!(c1.needs_cancel);
    assert_eq!(c1.error.as_ref().unwrap().kind, ErrorKind::Cancelled);
    assert!(
        c1.error
            .as_ref()
            .unwrap()
            .message
            .starts_with("Parent task t with execution id p failed: Children task errors:"),
        "{:?}",
        c1.error
    );
    // Completed children are not touched.
    assert_eq!(status(&*h, &children[0]).await, ExecutionStatus::Completed);
    // A late failure of another child is still recorded on the finished parent.
    h.finish("ex", T0 + 13, &[failed(&children[1], "late")])
        .await
        .unwrap();
    let outcome = h.close_finished(T0 + 14, 100).await.unwrap();
    assert!(outcome.newly_finished.is_empty());
    assert_eq!(one(&*h, "p").await.finished_at, Some(T0 + 11));
}

/// Closing a finalize execution completes its parent with the finalize's
/// output, or ends it `finalize_task_failed` with the finalize's error.
pub async fn close_applies_finalize_results(h: Harness) {
    running(&*h, "ex", T0, &["p", "q"]).await;
    let wait = |p: &str| WaitItem {
        execution_id: p.into(),
        attempt: Some(0),
        run_output: "1".into(),
        children: vec![],
        finalize: Some(finalize_of(p, &format!("{p}_f"), T0)),
    };
    h.wait_for_children("ex", T0 + 1, &[wait("p"), wait("q")])
        .await
        .unwrap();
    assert_eq!(
        h.claim_ready("fx", T0 + 2, 10, 0, LEASE)
            .await
            .unwrap()
            .len(),
        2
    );
    h.finish(
        "fx",
        T0 + 3,
        &[
            completed("p_f", "{\"final\":true}"),
            failed("q_f", "finalize broke"),
        ],
    )
    .await
    .unwrap();
    let outcome = h.close_finished(T0 + 4, 10).await.unwrap();
    assert_eq!(sorted(outcome.newly_finished), ids(&["p", "q"]));
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::Completed);
    assert_eq!(p.output.as_deref(), Some("{\"final\":true}"));
    assert_eq!(p.finished_at, Some(T0 + 4));
    let q = one(&*h, "q").await;
    assert_eq!(q.status, ExecutionStatus::FinalizeTaskFailed);
    assert_eq!(
        q.finalize_error,
        Some(ExecutionError::generic("finalize broke", false))
    );
    assert_eq!(q.error, None);
    assert_eq!(
        q.parent_facing_error().message,
        "Finalize task with execution id q_f failed: finalize broke"
    );
}

/// A failure three levels down fails its parent and grandparent and
/// cancels their other active descendants (a running one gets
/// `needs_cancel`, a ready one does not), until every row is closed.
pub async fn close_cascades_through_three_levels(h: Harness) {
    // root -> [mid, sib]; mid -> [leaf0, leaf1]
    running(&*h, "ex", T0, &["root"]).await;
    h.wait_for_children(
        "ex",
        T0 + 1,
        &[WaitItem {
            execution_id: "root".into(),
            attempt: Some(0),
            run_output: "1".into(),
            children: vec![
                child("root", 0, "mid", T0 + 1),
                child("root", 1, "sib", T0 + 1),
            ],
            finalize: None,
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        h.claim_ready("ex", T0 + 2, 10, 0, LEASE)
            .await
            .unwrap()
            .len(),
        2
    );
    h.wait_for_children(
        "ex",
        T0 + 3,
        &[WaitItem {
            execution_id: "mid".into(),
            attempt: Some(0),
            run_output: "1".into(),
            children: vec![
                child("mid", 0, "leaf0", T0 + 3),
                child("mid", 1, "leaf1", T0 + 3),
            ],
            finalize: None,
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        ok_ids(h.claim_ready("ex", T0 + 4, 1, 0, LEASE).await.unwrap()),
        ["leaf0"]
    );
    // leaf0 fails -> mid fails -> root fails -> sib and leaf1 are cancelled.
    h.finish("ex", T0 + 5, &[failed("leaf0", "deep")])
        .await
        .unwrap();
    let mut finished = BTreeSet::new();
    for step in 0..10 {
        let outcome = h.close_finished(T0 + 10 + step, 100).await.unwrap();
        if outcome.closed.is_empty() {
            break;
        }
        finished.extend(outcome.newly_finished);
    }
    assert_eq!(
        finished,
        ["leaf1", "mid", "root", "sib"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(
        status(&*h, "mid").await,
        ExecutionStatus::ChildrenTasksFailed
    );
    let root = one(&*h, "root").await;
    assert_eq!(root.status, ExecutionStatus::ChildrenTasksFailed);
    assert!(
        root.children_errors[0].error.message.contains("deep"),
        "{root:?}"
    );
    let sib = one(&*h, "sib").await;
    assert_eq!(sib.status, ExecutionStatus::Cancelled);
    assert!(sib.needs_cancel, "sib was running");
    let leaf1 = one(&*h, "leaf1").await;
    assert_eq!(leaf1.status, ExecutionStatus::Cancelled);
    assert!(!leaf1.needs_cancel, "leaf1 was only ready");
    assert_eq!(leaf1.executor_id, None);
    // Everything is closed in the end.
    let all = h
        .get(&ids(&["root", "mid", "sib", "leaf0", "leaf1"]))
        .await
        .unwrap();
    assert!(all.into_iter().all(|r| r.unwrap().is_closed));
}

/// [`Storage::ready_parents`] lists parents with no active child left, least
/// recently updated first, at most `limit`.
pub async fn ready_parents_least_recently_updated_first(h: Harness) {
    let late = parent_with_children(&*h, "late", 1).await;
    let early = parent_with_children(&*h, "early", 1).await;
    h.finish("ex", T0 + 10, &[completed(&early[0], "1")])
        .await
        .unwrap();
    assert_eq!(
        h.close_finished(T0 + 11, 10).await.unwrap().parents_ready,
        ["early"]
    );
    h.finish("ex", T0 + 20, &[completed(&late[0], "1")])
        .await
        .unwrap();
    assert_eq!(
        h.close_finished(T0 + 21, 10).await.unwrap().parents_ready,
        ["late"]
    );
    assert_eq!(
        ok_ids(h.ready_parents(10).await.unwrap()),
        ["early", "late"]
    );
    assert_eq!(ok_ids(h.ready_parents(1).await.unwrap()), ["early"]);
    let rows: Vec<TaskExecution> = h
        .ready_parents(10)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(rows[0].updated_at < rows[1].updated_at);
    assert!(rows.iter().all(|p| p.active_children_count == 0));
}

/// [`Storage::advance_parents`] completes only parents waiting with no
/// active child, and the same step a second time is stale.
pub async fn advance_parents_is_guarded(h: Harness) {
    for p in ["done", "busy"] {
        let children = parent_with_children(&*h, p, 1).await;
        if p == "done" {
            h.finish("ex", T0 + 10, &[completed(&children[0], "1")])
                .await
                .unwrap();
            h.close_finished(T0 + 11, 10).await.unwrap();
        }
    }
    let matched = h
        .advance_parents(
            T0 + 20,
            &[
                AdvanceItem {
                    execution_id: "done".into(),
                    action: Advance::Complete {
                        output: "[\"all\"]".into(),
                    },
                },
                AdvanceItem {
                    execution_id: "busy".into(),
                    action: Advance::Complete { output: "x".into() },
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(matched, ["done"]);
    let done = one(&*h, "done").await;
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(done.output.as_deref(), Some("[\"all\"]"));
    assert_eq!((done.finished_at, done.is_closed), (Some(T0 + 20), false));
    assert_eq!(
        status(&*h, "busy").await,
        ExecutionStatus::WaitingForChildrenTasks
    );
    // Twice is stale.
    assert!(
        h.advance_parents(
            T0 + 21,
            &[AdvanceItem {
                execution_id: "done".into(),
                action: Advance::Fail {
                    status: ExecutionStatus::Failed,
                    error: ExecutionError::generic("x", false),
                },
            }]
        )
        .await
        .unwrap()
        .is_empty()
    );
}

/// [`Storage::advance_parents`] applies finalize, next-child and fail steps
/// to ready parents (inserting the finalize or the next child) and inserts
/// nothing for a parent that still has an active child.
pub async fn advance_parents_inserts_only_when_matched(h: Harness) {
    for p in ["fin", "seq", "bad", "busy"] {
        let children = parent_with_children(&*h, p, 1).await;
        if p != "busy" {
            h.finish("ex", T0 + 10, &[completed(&children[0], "1")])
                .await
                .unwrap();
        }
    }
    let outcome = h.close_finished(T0 + 11, 10).await.unwrap();
    assert_eq!(sorted(outcome.parents_ready), ids(&["bad", "fin", "seq"]));
    let matched = h
        .advance_parents(
            T0 + 20,
            &[
                AdvanceItem {
                    execution_id: "fin".into(),
                    action: Advance::Finalize {
                        finalize: finalize_of("fin", "fin_f", T0 + 20),
                    },
                },
                AdvanceItem {
                    execution_id: "seq".into(),
                    action: Advance::SpawnNext {
                        child: child("seq", 1, "seq_c1", T0 + 20),
                    },
                },
                AdvanceItem {
                    execution_id: "bad".into(),
                    action: Advance::Fail {
                        status: ExecutionStatus::Failed,
                        error: ExecutionError::generic("bad outputs", false),
                    },
                },
                AdvanceItem {
                    execution_id: "busy".into(),
                    action: Advance::Finalize {
                        finalize: finalize_of("busy", "busy_f", T0 + 20),
                    },
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(sorted(matched), ids(&["bad", "fin", "seq"]));
    let fin = one(&*h, "fin").await;
    assert_eq!(fin.status, ExecutionStatus::WaitingForFinalizeTask);
    assert_eq!(fin.finalize_execution_id.as_deref(), Some("fin_f"));
    assert_eq!(status(&*h, "fin_f").await, ExecutionStatus::Ready);
    let seq = one(&*h, "seq").await;
    assert_eq!(seq.status, ExecutionStatus::WaitingForChildrenTasks);
    assert_eq!((seq.children_count, seq.active_children_count), (2, 1));
    assert_eq!(
        ok_ids(h.get_children("seq").await.unwrap()),
        ["seq_c0", "seq_c1"]
    );
    let bad = one(&*h, "bad").await;
    assert_eq!(bad.status, ExecutionStatus::Failed);
    assert_eq!(
        bad.error,
        Some(ExecutionError::generic("bad outputs", false))
    );
    assert_eq!(bad.finished_at, Some(T0 + 20));
    assert!(h.get(&ids(&["busy_f"])).await.unwrap().is_empty());
    assert!(h.ready_parents(10).await.unwrap().is_empty());
}

/// The bookkeeping timestamps are set by the transitions that enter their
/// state, at that transition's `now`, and kept afterwards:
/// `waiting_for_children_started_at` by [`Storage::wait_for_children`] with
/// children, `waiting_for_finalize_started_at` by
/// [`Storage::advance_parents`] to the finalize (without children:
/// by [`Storage::wait_for_children`], see
/// [`wait_for_finalize_without_children`]), `closed_at` by
/// [`Storage::close_finished`] (or, for a top-level execution without
/// children, by the transition that finishes it: see
/// [`childless_top_level_executions_close_at_finish`]); a fresh execution
/// has none of them.
pub async fn bookkeeping_timestamps_follow_the_transitions(h: Harness) {
    let children = parent_with_children(&*h, "p", 2).await;
    let p = one(&*h, "p").await;
    assert_eq!(p.waiting_for_children_started_at, Some(T0 + 1));
    assert_eq!(p.waiting_for_finalize_started_at, None);
    assert_eq!(p.closed_at, None);
    let c = one(&*h, &children[0]).await;
    let stamps = |e: &TaskExecution| {
        (
            e.waiting_for_children_started_at,
            e.waiting_for_finalize_started_at,
            e.closed_at,
        )
    };
    assert_eq!(stamps(&c), (None, None, None));

    let results: Vec<FinishItem> = children.iter().map(|id| completed(id, "0")).collect();
    h.finish("ex", T0 + 10, &results).await.unwrap();
    assert_eq!(one(&*h, &children[0]).await.closed_at, None);
    h.close_finished(T0 + 11, 100).await.unwrap();
    for id in &children {
        assert_eq!(stamps(&one(&*h, id).await), (None, None, Some(T0 + 11)));
    }
    assert_eq!(one(&*h, "p").await.closed_at, None);

    let matched = h
        .advance_parents(
            T0 + 20,
            &[AdvanceItem {
                execution_id: "p".into(),
                action: Advance::Finalize {
                    finalize: finalize_of("p", "p_f", T0 + 20),
                },
            }],
        )
        .await
        .unwrap();
    assert_eq!(matched, ["p"]);
    assert_eq!(
        stamps(&one(&*h, "p").await),
        (Some(T0 + 1), Some(T0 + 20), None)
    );

    let claimed = ok_ids(
        h.claim_ready("ex", T0 + 21, 10, SLACK, LEASE)
            .await
            .unwrap(),
    );
    assert_eq!(claimed, ["p_f"]);
    h.finish("ex", T0 + 30, &[completed("p_f", "3")])
        .await
        .unwrap();
    h.close_finished(T0 + 31, 100).await.unwrap();
    assert_eq!(one(&*h, "p_f").await.closed_at, Some(T0 + 31));
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::Completed);
    assert_eq!(stamps(&p), (Some(T0 + 1), Some(T0 + 20), None));
    h.close_finished(T0 + 40, 100).await.unwrap();
    assert_eq!(
        stamps(&one(&*h, "p").await),
        (Some(T0 + 1), Some(T0 + 20), Some(T0 + 40))
    );

    // A closer whose clock reads earlier than the finish (its `now` was
    // taken before the writer took its own) never closes a row before it
    // finished (a child: a top-level execution without children is closed
    // by its finish, at its finish).
    let late = parent_with_children(&*h, "q", 1).await.remove(0);
    h.finish("ex", T0 + 60, &[completed(&late, "1")])
        .await
        .unwrap();
    h.close_finished(T0 + 55, 100).await.unwrap();
    let late = one(&*h, &late).await;
    assert!(late.is_closed);
    assert_eq!(
        late.closed_at,
        Some(T0 + 60),
        "closed_at is never before finished_at"
    );
}

/// [`Storage::cancel`] cancels the active executions of a subtree, with or
/// without its root, leaves finished ones alone, and returns nothing for an
/// unknown id.
pub async fn cancel_subtree_with_and_without_self(h: Harness) {
    let children = parent_with_children(&*h, "p", 2).await;
    h.finish("ex", T0 + 5, &[completed(&children[0], "0")])
        .await
        .unwrap();
    let error = ExecutionError::cancelled("stop all");
    let cancelled = h
        .cancel(
            T0 + 6,
            &[CancelItem {
                execution_id: "p".into(),
                error: error.clone(),
                include_self: false,
            }],
        )
        .await
        .unwrap();
    assert_eq!(cancelled, [children[1].clone()]);
    assert_eq!(
        status(&*h, "p").await,
        ExecutionStatus::WaitingForChildrenTasks
    );
    assert_eq!(status(&*h, &children[0]).await, ExecutionStatus::Completed);
    let c1 = one(&*h, &children[1]).await;
    assert_eq!(
        (c1.status, c1.finished_at),
        (ExecutionStatus::Cancelled, Some(T0 + 6))
    );
    assert_eq!(c1.error, Some(error.clone()));
    let cancelled = h
        .cancel(
            T0 + 7,
            &[CancelItem {
                execution_id: "p".into(),
                error: error.clone(),
                include_self: true,
            }],
        )
        .await
        .unwrap();
    assert_eq!(cancelled, ["p"]);
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::Cancelled);
    assert!(!p.needs_cancel);
    assert!(
        h.cancel(
            T0 + 8,
            &[CancelItem {
                execution_id: "missing".into(),
                error,
                include_self: true,
            }]
        )
        .await
        .unwrap()
        .is_empty()
    );
}

/// [`Storage::claim_cancellations`] hands each owner only its own cancelled
/// runs, at most `limit`, each once, and clears `needs_cancel`.
pub async fn claim_cancellations_is_per_owner(h: Harness) {
    running(&*h, "ex1", T0, &["a", "b", "c"]).await;
    running(&*h, "ex2", T0, &["d"]).await;
    let items: Vec<CancelItem> = ["a", "b", "c", "d"]
        .iter()
        .map(|id| CancelItem {
            execution_id: (*id).into(),
            error: ExecutionError::cancelled("c"),
            include_self: true,
        })
        .collect();
    assert_eq!(h.cancel(T0 + 1, &items).await.unwrap().len(), 4);
    let first = h.claim_cancellations("ex1", 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let second = h.claim_cancellations("ex1", 10).await.unwrap();
    assert_eq!(second.len(), 1);
    let mut all = first.clone();
    all.extend(second);
    assert_eq!(sorted(all), ids(&["a", "b", "c"]));
    assert!(h.claim_cancellations("ex1", 10).await.unwrap().is_empty());
    assert_eq!(h.claim_cancellations("ex2", 10).await.unwrap(), ["d"]);
    assert!(!one(&*h, "a").await.needs_cancel);
}

/// [`Storage::expire_leases`] recovers runs whose lease ended before `now`
/// (not at it), at most `limit`: re-queued with attempt + 1 and `Task
/// expired` while the retry budget allows, failed otherwise; stats count
/// expired leases.
pub async fn expire_leases_with_and_without_retry_budget(h: Harness) {
    let mut budget = exec("budget", "t", T0);
    budget.retry_options.max_attempts = 1;
    budget.timeout_ms = 100;
    let mut none = exec("none", "t", T0);
    none.timeout_ms = 50;
    let mut long = exec("long", "t", T0);
    long.timeout_ms = 10_000;
    h.insert(&[budget, none, long]).await.unwrap();
    h.claim_ready("ex", T0, 10, 0, LEASE).await.unwrap();
    assert_eq!(h.stats(T0 + 101).await.unwrap().expired_leases, 2);
    // The lease is still valid at its deadline.
    assert!(
        h.expire_leases(T0 + 50, 10)
            .await
            .unwrap()
            .failed
            .is_empty()
    );
    let first = h.expire_leases(T0 + 101, 1).await.unwrap();
    assert_eq!(
        (first.requeued.len(), first.failed.clone()),
        (0, ids(&["none"]))
    );
    let second = h.expire_leases(T0 + 101, 10).await.unwrap();
    assert_eq!(
        (second.requeued.clone(), second.failed.len()),
        (ids(&["budget"]), 0)
    );
    let budget = one(&*h, "budget").await;
    assert_eq!(budget.status, ExecutionStatus::Ready);
    assert_eq!((budget.attempt, budget.start_at), (1, T0 + 101));
    assert_eq!(
        budget.error.as_ref().map(|e| e.message.as_str()),
        Some("Task expired")
    );
    assert_eq!((budget.executor_id, budget.expires_at), (None, None));
    let none = one(&*h, "none").await;
    assert_eq!(none.status, ExecutionStatus::Failed);
    assert_eq!(none.finished_at, Some(T0 + 101));
    assert_eq!(
        none.error.as_ref().map(|e| e.message.as_str()),
        Some("Task expired")
    );
    assert_eq!(status(&*h, "long").await, ExecutionStatus::Running);
    // The retry budget is spent by the second expiry.
    h.claim_ready("ex", T0 + 200, 10, 0, LEASE).await.unwrap();
    let third = h.expire_leases(T0 + 301, 10).await.unwrap();
    assert_eq!(third.failed, ["budget"]);
    assert_eq!(one(&*h, "budget").await.attempt, 1);
}

/// [`Storage::stats`] counts by task and status, reports the oldest ready
/// `start_at` and expired leases; [`Storage::delete_all`] deletes every row
/// and returns how many.
pub async fn stats_counts_and_deletes(h: Harness) {
    h.insert(&[
        exec("a", "alpha", T0 - 5),
        exec("b", "alpha", T0 - 7),
        exec("c", "beta", T0),
    ])
    .await
    .unwrap();
    h.claim_ready("ex", T0, 1, 0, LEASE).await.unwrap();
    let stats = h.stats(T0 + 5_000).await.unwrap();
    assert_eq!(
        stats.counts,
        vec![
            ("alpha".to_owned(), ExecutionStatus::Ready, 1),
            ("alpha".to_owned(), ExecutionStatus::Running, 1),
            ("beta".to_owned(), ExecutionStatus::Ready, 1),
        ]
    );
    assert_eq!(stats.oldest_ready_start_at, Some(T0 - 5));
    assert_eq!(stats.expired_leases, 1);
    assert_eq!(h.delete_all().await.unwrap(), 3);
    let stats = h.stats(T0).await.unwrap();
    assert!(stats.counts.is_empty());
    assert_eq!(stats.oldest_ready_start_at, None);
}

/// A run's finish announces [`StorageEvent::Changed`] (for waiting
/// handles) but not [`StorageEvent::CloseWork`]: the executor that wrote it
/// wakes its own closer, so the closers of other handles (other processes
/// on PostgreSQL) are not woken for it. A cancellation, which no run
/// follows up, announces both. Observed on a second handle of the same data
/// ([`Harness::reopen`]).
pub async fn finishes_announce_changes_and_cancellations_close_work(h: Harness) {
    let other = h.reopen().await;
    let mut theirs = other.subscribe();
    h.settle(&mut theirs).await;
    running(&*h, "ex", T0, &["a"]).await;
    assert_eq!(
        h.finish("ex", T0 + 1, &[completed("a", "1")])
            .await
            .unwrap(),
        ["a"]
    );
    // Everything the finish announced: until its `Changed` and for a while
    // after (longer than PostgreSQL's 50 ms notification interval, so that
    // a trailing notification would be seen too).
    let mut seen = Vec::new();
    let changed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let event = theirs.recv().await.unwrap();
            seen.push(event);
            if event == StorageEvent::Changed {
                break;
            }
        }
    })
    .await;
    assert!(changed.is_ok(), "no Changed after a finish: {seen:?}");
    let _ = tokio::time::timeout(std::time::Duration::from_millis(300), async {
        loop {
            seen.push(theirs.recv().await.unwrap());
        }
    })
    .await;
    assert!(
        !seen.contains(&StorageEvent::CloseWork),
        "a finish woke other closers: {seen:?}"
    );

    h.insert(&[exec("b", "t", T0)]).await.unwrap();
    assert_eq!(
        h.cancel(T0 + 2, &[cancel_self("b", "by user")])
            .await
            .unwrap(),
        ["b"]
    );
    let mut seen = Vec::new();
    let both = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while !(seen.contains(&StorageEvent::Changed) && seen.contains(&StorageEvent::CloseWork)) {
            seen.push(theirs.recv().await.unwrap());
        }
    })
    .await;
    assert!(
        both.is_ok(),
        "a cancellation did not announce Changed and CloseWork: {seen:?}"
    );
}

/// An insert sends [`StorageEvent::ReadyWork`] to subscribers of the
/// inserting handle and of a second handle on the same data
/// ([`Harness::reopen`]).
pub async fn events_wake_subscribers(h: Harness) {
    let other = h.reopen().await;
    let mut mine = h.subscribe();
    let mut theirs = other.subscribe();
    h.settle(&mut theirs).await;
    h.insert(&[exec("a", "t", T0)]).await.unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if mine.recv().await.unwrap() == StorageEvent::ReadyWork {
                break;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "no ReadyWork on the inserting handle");
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if theirs.recv().await.unwrap() == StorageEvent::ReadyWork {
                break;
            }
        }
    })
    .await;
    assert!(
        got.is_ok(),
        "no ReadyWork on a second handle of the same database"
    );
}

/// Appends the ids of `claimed` to `mine`, checking each is owned by
/// `executor`.
fn record_claims(claimed: Vec<Loaded>, executor: &str, mine: &mut Vec<String>) {
    for e in claimed {
        let e = e.unwrap();
        assert_eq!(e.executor_id.as_deref(), Some(executor));
        mine.push(e.execution_id);
    }
}

/// Every id the claiming `tasks` returned, each claimed by one of them only.
async fn claimed_once(tasks: Vec<tokio::task::JoinHandle<Vec<String>>>) -> HashSet<String> {
    let mut seen = HashSet::new();
    for t in tasks {
        for id in t.await.unwrap() {
            assert!(seen.insert(id.clone()), "{id} claimed twice");
        }
    }
    seen
}

/// Six concurrent claimers on two handles never receive the same row, and
/// together claim every row.
pub async fn concurrent_claimers_get_disjoint_rows(h: Harness) {
    let n = 300;
    let new: Vec<_> = (0..n).map(|i| exec(&format!("e{i:04}"), "t", T0)).collect();
    h.insert(&new).await.unwrap();
    let mut handles: Vec<Arc<dyn Storage>> = vec![Arc::clone(h.storage())];
    handles.push(h.reopen().await);
    let mut tasks = Vec::new();
    for w in 0..6 {
        let s = Arc::clone(&handles[w % handles.len()]);
        tasks.push(tokio::spawn(async move {
            let executor = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let claimed = s.claim_ready(&executor, T0, 7, 0, LEASE).await.unwrap();
                if claimed.is_empty() {
                    break;
                }
                record_claims(claimed, &executor, &mut mine);
            }
            mine
        }));
    }
    let seen = claimed_once(tasks).await;
    assert_eq!(seen.len(), n);
}

/// Eight concurrent workers finishing and closing 200 children of one
/// parent on two handles lose no countdown: the parent reaches 0 active
/// children exactly once.
pub async fn concurrent_closers_lose_no_countdown(h: Harness) {
    let n = 200u32;
    running(&*h, "ex", T0, &["p"]).await;
    let children: Vec<NewExecution> = (0..n)
        .map(|i| child("p", i, &format!("p_c{i:03}"), T0))
        .collect();
    h.wait_for_children(
        "ex",
        T0 + 1,
        &[WaitItem {
            execution_id: "p".into(),
            attempt: Some(0),
            run_output: "1".into(),
            children,
            finalize: None,
        }],
    )
    .await
    .unwrap();
    let mut handles: Vec<Arc<dyn Storage>> = vec![Arc::clone(h.storage())];
    handles.push(h.reopen().await);
    let mut tasks = Vec::new();
    for w in 0..8usize {
        let s = Arc::clone(&handles[w % handles.len()]);
        tasks.push(tokio::spawn(async move {
            let executor = format!("w{w}");
            let mut ready = Vec::new();
            let mut idle_rounds = 0;
            while idle_rounds < 3 {
                let claimed = s
                    .claim_ready(&executor, T0 + 2, 5, 60_000, LEASE)
                    .await
                    .unwrap();
                let items: Vec<FinishItem> = claimed
                    .into_iter()
                    .map(|e| completed(&e.unwrap().execution_id, "1"))
                    .collect();
                if !items.is_empty() {
                    let done = s.finish(&executor, T0 + 3, &items).await.unwrap();
                    assert_eq!(done.len(), items.len());
                }
                let outcome = s.close_finished(T0 + 4, 7).await.unwrap();
                ready.extend(outcome.parents_ready);
                if items.is_empty() && outcome.closed.is_empty() {
                    idle_rounds += 1;
                    tokio::task::yield_now().await;
                } else {
                    idle_rounds = 0;
                }
            }
            ready
        }));
    }
    let mut ready = Vec::new();
    for t in tasks {
        ready.extend(t.await.unwrap());
    }
    // Whatever is left (a closer may have stopped early) is closed now.
    loop {
        let outcome = h.close_finished(T0 + 5, 100).await.unwrap();
        ready.extend(outcome.parents_ready);
        if outcome.closed.is_empty() {
            break;
        }
    }
    assert_eq!(ready, ["p"], "the parent reaches 0 exactly once");
    let p = one(&*h, "p").await;
    assert_eq!(p.active_children_count, 0);
    assert_eq!(p.status, ExecutionStatus::WaitingForChildrenTasks);
    let children = h.get_children("p").await.unwrap();
    assert_eq!(children.len(), n as usize);
    assert!(children.into_iter().all(|c| {
        let c = c.unwrap();
        c.is_closed && c.status == ExecutionStatus::Completed
    }));
}

/// U+0000 in stored text: PostgreSQL cannot hold it in `text`/`jsonb`, so it
/// replaces a raw NUL with U+FFFD ([`Harness::nul_replacement`]); SQLite and
/// memory keep it. A NUL escaped
/// inside serialized JSON (an output) is kept by every backend. Either
/// way the write succeeds (it used to fail on PostgreSQL, leaving the
/// execution `running` until its lease expired).
pub async fn nul_characters_are_stored(h: Harness) {
    running(&*h, "ex", T0, &["a", "b", "c", "d"]).await;
    let replaced = |text: &str| match h.nul_replacement() {
        Some(replacement) => text.replace('\0', &replacement.to_string()),
        None => text.to_owned(),
    };
    let matched = h
        .finish(
            "ex",
            T0 + 1,
            &[failed("a", "bad\0byte"), completed("d", "\"x\\u0000y\"")],
        )
        .await
        .unwrap();
    assert_eq!(sorted(matched), ids(&["a", "d"]));
    let retried = h
        .retry(
            "ex",
            T0 + 1,
            &[RetryItem {
                execution_id: "b".into(),
                attempt: Some(0),
                error: ExecutionError::generic("flaky\0", true),
                start_at: T0 + 10,
            }],
        )
        .await
        .unwrap();
    assert_eq!(retried, ids(&["b"]));
    let cancelled = h
        .cancel(T0 + 1, &[cancel_self("c", "stop\0now")])
        .await
        .unwrap();
    assert_eq!(cancelled, ids(&["c"]));
    let a = one(&*h, "a").await;
    assert_eq!(a.status, ExecutionStatus::Failed);
    assert_eq!(a.error.map(|e| e.message), Some(replaced("bad\0byte")));
    let b = one(&*h, "b").await;
    assert_eq!(b.status, ExecutionStatus::Ready);
    assert_eq!(b.error.map(|e| e.message), Some(replaced("flaky\0")));
    let c = one(&*h, "c").await;
    assert_eq!(c.error.map(|e| e.message), Some(replaced("stop\0now")));
    let d = one(&*h, "d").await;
    assert_eq!(d.output.as_deref(), Some("\"x\\u0000y\""));
    let value: String = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
    assert_eq!(value, "x\0y");
}

/// [`Storage::children_outputs`] pages a parent's regular children in spawn order
/// (keyset on the index), never returns its finalize, and reports each
/// child's status and output.
pub async fn children_outputs_pages_in_spawn_order(h: Harness) {
    let children = parent_with_children(&*h, "p", 5).await;
    // Children 0, 2 and 4 complete; 1 fails; 3 is still running.
    let finishes = vec![
        completed(&children[0], "\"zero\""),
        failed(&children[1], "boom"),
        completed(&children[2], "2"),
        completed(&children[4], "[4]"),
    ];
    assert_eq!(
        h.finish("ex", T0 + 3, &finishes).await.unwrap().len(),
        finishes.len()
    );
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page: Vec<_> = h
            .children_outputs("p", after, 2)
            .await
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert!(page.len() <= 2, "{page:?}");
        let Some(last) = page.last() else { break };
        after = Some(last.index);
        pages.push(page);
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1]);
    let all: Vec<_> = pages.into_iter().flatten().collect();
    assert_eq!(
        all.iter().map(|c| c.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(
        all.iter()
            .map(|c| c.execution_id.as_str())
            .collect::<Vec<_>>(),
        children.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        all.iter().map(|c| c.status).collect::<Vec<_>>(),
        [
            ExecutionStatus::Completed,
            ExecutionStatus::Failed,
            ExecutionStatus::Completed,
            ExecutionStatus::Running,
            ExecutionStatus::Completed,
        ]
    );
    assert_eq!(all[0].output.as_deref(), Some("\"zero\""));
    assert_eq!(all[1].output, None);
    assert_eq!(all[4].output.as_deref(), Some("[4]"));
    // A page after the last index is empty; a parent without children too.
    assert!(
        h.children_outputs("p", Some(4), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        h.children_outputs("no_such_parent", None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A finalize (index 0 too) is never a regular child.
    running(&*h, "ex", T0, &["q"]).await;
    h.wait_for_children(
        "ex",
        T0 + 1,
        &[WaitItem {
            execution_id: "q".into(),
            attempt: Some(0),
            run_output: "1".into(),
            children: Vec::new(),
            finalize: Some(finalize_of("q", "q_f", T0)),
        }],
    )
    .await
    .unwrap();
    assert!(h.children_outputs("q", None, 10).await.unwrap().is_empty());
}

/// Rows in a large batch: more than two insert statements' worth (the SQL
/// backends split inserts into chunks of 2,000 rows).
const LARGE_BATCH: u32 = 4_321;

/// A large insert or wait whose last row is a duplicate changes nothing:
/// the chunks inserted before the failing one are undone with it, and the
/// parent stays running (never a waiting parent with missing children).
pub async fn large_batches_are_all_or_nothing(h: Harness) {
    // Not due yet: the claims below leave it alone.
    h.insert(&[exec("taken", "t", T0 + 60_000)]).await.unwrap();
    let mut batch: Vec<NewExecution> = (0..LARGE_BATCH)
        .map(|i| exec(&format!("b{i}"), "t", T0))
        .collect();
    batch.push(exec("taken", "t", T0));
    let err = h.insert(&batch).await.unwrap_err();
    assert!(
        matches!(&err, StorageError::DuplicateExecutionId { execution_id } if execution_id == "taken"),
        "{err:?}"
    );
    assert!(
        h.get(&ids(&["b0", "b2000", "b4320"]))
            .await
            .unwrap()
            .is_empty()
    );

    running(&*h, "ex", T0, &["p"]).await;
    let mut children: Vec<NewExecution> = (0..LARGE_BATCH)
        .map(|i| child("p", i, &format!("p_{i}"), T0))
        .collect();
    children.push(child("p", LARGE_BATCH, "taken", T0));
    let err = h
        .wait_for_children(
            "ex",
            T0 + 1,
            &[WaitItem {
                execution_id: "p".into(),
                attempt: Some(0),
                run_output: "1".into(),
                children,
                finalize: None,
            }],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::DuplicateExecutionId { .. }),
        "{err:?}"
    );
    assert_eq!(status(&*h, "p").await, ExecutionStatus::Running);
    assert!(h.get_children("p").await.unwrap().is_empty());

    // Without the duplicate, every child is inserted with the parent's
    // transition, in spawn order.
    let children: Vec<NewExecution> = (0..LARGE_BATCH)
        .map(|i| child("p", i, &format!("p_{i}"), T0))
        .collect();
    let matched = h
        .wait_for_children(
            "ex",
            T0 + 1,
            &[WaitItem {
                execution_id: "p".into(),
                attempt: Some(0),
                run_output: "1".into(),
                children,
                finalize: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(matched, ids(&["p"]));
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::WaitingForChildrenTasks);
    assert_eq!(
        (p.children_count, p.active_children_count),
        (LARGE_BATCH, LARGE_BATCH)
    );
    let stored = h.get_children("p").await.unwrap();
    assert_eq!(stored.len(), LARGE_BATCH as usize);
    assert!(
        stored
            .iter()
            .map(|c| c.as_ref().unwrap().parent.as_ref().unwrap().index)
            .eq(0..LARGE_BATCH)
    );
}

/// A new sleeping execution `id` of task `hook` under `key`, created at
/// `created_at`, with a 1 s deadline.
pub fn sleeping(id: &str, key: &str, created_at: Millis) -> NewExecution {
    NewExecution {
        sleeping_key: Some(key.to_owned()),
        ..exec(id, "hook", created_at)
    }
}

fn completed_wake(output: &str) -> Wake {
    Wake::Completed {
        output: output.to_owned(),
    }
}

/// A sleeping execution is inserted `sleeping` with the deadline
/// `created_at + timeout`, is never claimed, and a wake finishes it in one
/// guarded step (completed with the output, closable like any finished
/// execution); a second wake returns it unchanged, a failed wake stores
/// its error, and an unknown key (or another task's) finds nothing.
pub async fn sleeping_executions_are_woken_once(h: Harness) {
    h.insert(&[sleeping("s1", "key-1", T0), sleeping("s2", "key-2", T0)])
        .await
        .unwrap();
    let s1 = one(&*h, "s1").await;
    assert_eq!(s1.status, ExecutionStatus::Sleeping);
    assert_eq!(s1.sleeping_key.as_deref(), Some("key-1"));
    assert_eq!(s1.expires_at, Some(T0 + 1_000));
    assert!(
        h.claim_ready("ex", T0 + 500, 10, 0, LEASE)
            .await
            .unwrap()
            .is_empty()
    );

    let mut events = h.subscribe();
    let woken = h
        .wake("hook", "key-1", T0 + 10, &completed_wake("{\"paid\":true}"))
        .await
        .unwrap()
        .expect("a sleeping execution has the key");
    assert!(woken.woken);
    assert_eq!(woken.execution.execution_id, "s1");
    assert_eq!(woken.execution.status, ExecutionStatus::Completed);
    assert_eq!(woken.execution.output.as_deref(), Some("{\"paid\":true}"));
    assert_eq!(woken.execution.finished_at, Some(T0 + 10));
    assert_eq!(woken.execution.expires_at, None);
    // A top-level sleeping execution is closed by its wake.
    assert!(woken.execution.is_closed);
    assert_eq!(woken.execution.closed_at, Some(T0 + 10));
    assert_eq!(woken.execution, one(&*h, "s1").await);
    let changed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while events.recv().await.ok() != Some(StorageEvent::Changed) {}
    })
    .await;
    assert!(changed.is_ok(), "a wake announces Changed");

    // Idempotent: the finished execution comes back unchanged.
    let again = h
        .wake("hook", "key-1", T0 + 20, &completed_wake("\"other\""))
        .await
        .unwrap()
        .unwrap();
    assert!(!again.woken);
    assert_eq!(again.execution, woken.execution);

    let failed = h
        .wake(
            "hook",
            "key-2",
            T0 + 30,
            &Wake::Failed {
                error: ExecutionError::generic("card declined", false),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.execution.status, ExecutionStatus::Failed);
    assert_eq!(
        failed.execution.error.map(|e| e.message).as_deref(),
        Some("card declined")
    );
    assert_eq!(failed.execution.output, None);

    for (task, key) in [("hook", "nobody"), ("other_task", "key-1")] {
        assert_eq!(
            h.wake(task, key, T0 + 40, &completed_wake("1"))
                .await
                .unwrap(),
            None
        );
    }
    // Both were closed when they finished: nothing is left for the closer.
    assert!(one(&*h, "s2").await.is_closed);
    let closed = h.close_finished(T0 + 50, 10).await.unwrap();
    assert!(closed.closed.is_empty(), "{:?}", closed.closed);
}

/// Two sleeping executions never share a key, in one insert or across
/// inserts; once the first finished, the key is free again, and a wake
/// then finds the newest execution with it.
pub async fn sleeping_keys_are_unique_among_sleeping_executions(h: Harness) {
    h.insert(&[sleeping("a", "k", T0)]).await.unwrap();
    let err = h.insert(&[sleeping("b", "k", T0)]).await.unwrap_err();
    assert!(
        matches!(&err, StorageError::DuplicateSleepingKey { key } if key == "k"),
        "{err:?}"
    );
    let err = h
        .insert(&[sleeping("c", "twice", T0), sleeping("d", "twice", T0)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::DuplicateSleepingKey { .. }),
        "{err:?}"
    );
    assert!(h.get(&ids(&["b", "c", "d"])).await.unwrap().is_empty());

    h.wake("hook", "k", T0 + 1, &completed_wake("1"))
        .await
        .unwrap()
        .unwrap();
    h.insert(&[sleeping("e", "k", T0 + 2)]).await.unwrap();
    let woken = h
        .wake("hook", "k", T0 + 3, &completed_wake("2"))
        .await
        .unwrap()
        .unwrap();
    assert!(woken.woken);
    assert_eq!(woken.execution.execution_id, "e");
    assert_eq!(status(&*h, "a").await, ExecutionStatus::Completed);
}

/// A sleeping execution past its deadline is timed out by
/// [`Storage::expire_leases`] (`ExpireOutcome::timed_out`, not before the
/// deadline), after which a wake returns it unchanged; a cancelled one
/// cannot be woken or timed out either: whichever step comes first wins.
pub async fn sleeping_executions_time_out_and_cancel(h: Harness) {
    h.insert(&[sleeping("late", "k1", T0), sleeping("gone", "k2", T0)])
        .await
        .unwrap();
    let early = h.expire_leases(T0 + 1_000, 10).await.unwrap();
    assert!(early.timed_out.is_empty());
    let cancelled = h
        .cancel(T0 + 1, &[cancel_self("gone", "Task cancelled")])
        .await
        .unwrap();
    assert_eq!(cancelled, ids(&["gone"]));
    let outcome = h.expire_leases(T0 + 1_001, 10).await.unwrap();
    assert_eq!(outcome.timed_out, ids(&["late"]));
    assert!(outcome.requeued.is_empty() && outcome.failed.is_empty());
    let late = one(&*h, "late").await;
    assert_eq!(late.status, ExecutionStatus::TimedOut);
    assert_eq!(late.finished_at, Some(T0 + 1_001));
    assert_eq!(
        late.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::TimedOut)
    );
    assert_eq!((late.is_closed, late.closed_at), (true, Some(T0 + 1_001)));
    for (key, expected) in [
        ("k1", ExecutionStatus::TimedOut),
        ("k2", ExecutionStatus::Cancelled),
    ] {
        let found = h
            .wake("hook", key, T0 + 2_000, &completed_wake("1"))
            .await
            .unwrap()
            .unwrap();
        assert!(!found.woken);
        assert_eq!(found.execution.status, expected);
    }
    assert!(
        h.expire_leases(T0 + 5_000, 10)
            .await
            .unwrap()
            .timed_out
            .is_empty()
    );
}

/// Every page of `filter` with `limit` rows per page, following the
/// cursors; the ids in order (panics on a corrupt row).
async fn list_all(s: &dyn Storage, filter: &ListFilter, limit: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<ListCursor> = None;
    for _ in 0..100 {
        let page = s.list(filter, cursor.as_ref(), limit).await.unwrap();
        assert!(page.executions.len() <= limit as usize);
        out.extend(ok_ids(page.executions));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
    panic!("listing did not end after 100 pages: {out:?}");
}

/// [`Storage::list`] filters by task id, status, top-level only, parent,
/// created and finished time ranges; orders newest first (`created_at`
/// descending, then execution id descending); and pages through a cursor
/// without repeating or skipping a row, whatever the page size.
pub async fn list_filters_orders_and_pages(h: Harness) {
    // Roots r1..r5 created at T0+1..T0+5 (r4 and r5 at the same time:
    // the id breaks the tie), task `a` for odd ones; p has two children.
    let mut new: Vec<NewExecution> = (1..=5)
        .map(|i| {
            let task = if i % 2 == 1 { "a" } else { "b" };
            exec(&format!("r{i}"), task, T0 + i.min(4))
        })
        .collect();
    new.push(exec("p", "parent", T0 + 10));
    new.push(child("p", 0, "p_c0", T0 + 11));
    new.push(child("p", 1, "p_c1", T0 + 12));
    h.insert(&new).await.unwrap();
    // r1 runs and fails at T0 + 20.
    let claimed = h.claim_ready("ex", T0 + 1, 1, SLACK, LEASE).await.unwrap();
    assert_eq!(ok_ids(claimed), ["r1"]);
    let matched = h
        .finish("ex", T0 + 20, &[failed("r1", "no")])
        .await
        .unwrap();
    assert_eq!(matched, ["r1"]);

    let all = list_all(&*h, &ListFilter::new(), 100).await;
    assert_eq!(all, ["p_c1", "p_c0", "p", "r5", "r4", "r3", "r2", "r1"]);
    for limit in [1, 2, 3, 7, 8] {
        assert_eq!(
            list_all(&*h, &ListFilter::new(), limit).await,
            all,
            "limit {limit}"
        );
    }
    let first = h.list(&ListFilter::new(), None, 8).await.unwrap();
    assert!(first.next.is_some(), "a full page has a cursor");
    let last = h
        .list(&ListFilter::new(), first.next.as_ref(), 8)
        .await
        .unwrap();
    assert!(last.executions.is_empty() && last.next.is_none());
    assert!(
        h.list(&ListFilter::new(), None, 0)
            .await
            .unwrap()
            .executions
            .is_empty()
    );
    let page = h.list(&ListFilter::new(), None, 100).await.unwrap();
    assert!(page.next.is_none(), "a short page is the last one");

    let cases: Vec<(ListFilter, Vec<&str>)> = vec![
        (ListFilter::new().task_id("a"), vec!["r5", "r3", "r1"]),
        (
            ListFilter::new().root_only(true),
            vec!["p", "r5", "r4", "r3", "r2", "r1"],
        ),
        (ListFilter::new().parent("p"), vec!["p_c1", "p_c0"]),
        (ListFilter::new().parent("r1"), vec![]),
        (
            ListFilter::new().statuses([ExecutionStatus::Failed, ExecutionStatus::Completed]),
            vec!["r1"],
        ),
        (
            ListFilter::new()
                .statuses([ExecutionStatus::Ready])
                .task_id("b"),
            vec!["r4", "r2"],
        ),
        (
            ListFilter::new().created(Some(T0 + 2), Some(T0 + 4)),
            vec!["r3", "r2"],
        ),
        (
            ListFilter::new().created(Some(T0 + 11), None),
            vec!["p_c1", "p_c0"],
        ),
        (
            ListFilter::new().finished(Some(T0 + 20), Some(T0 + 21)),
            vec!["r1"],
        ),
        (ListFilter::new().finished(None, Some(T0 + 20)), vec![]),
        (
            ListFilter::new().finished(Some(T0), None).task_id("b"),
            vec![],
        ),
        (ListFilter::new().parent("p").root_only(true), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(list_all(&*h, &filter, 100).await, expected, "{filter:?}");
        assert_eq!(
            list_all(&*h, &filter, 1).await,
            expected,
            "{filter:?} by one"
        );
    }
    // Rows inserted after a page was read never shift the next page.
    let page = h.list(&ListFilter::new(), None, 3).await.unwrap();
    assert_eq!(ok_ids(page.executions), ["p_c1", "p_c0", "p"]);
    h.insert(&[exec("newest", "a", T0 + 100)]).await.unwrap();
    let next = h
        .list(&ListFilter::new(), page.next.as_ref(), 3)
        .await
        .unwrap();
    assert_eq!(ok_ids(next.executions), ["r5", "r4", "r3"]);
}

/// [`Storage::rerun`] puts a cancelled, failed or timed-out top-level
/// execution back to `ready` as if just enqueued (attempt 0, `start_at`
/// now, output, errors, lease and children counters cleared, input and
/// options kept) and deletes its previous subtree; the row can then be
/// claimed again.
pub async fn rerun_requeues_a_finished_root_and_deletes_its_subtree(h: Harness) {
    let children = parent_with_children(&*h, "p", 2).await;
    h.finish("ex", T0 + 5, &[completed(&children[0], "0")])
        .await
        .unwrap();
    let cancelled = h.cancel(T0 + 6, &[cancel_self("p", "stop")]).await.unwrap();
    assert_eq!(sorted(cancelled), sorted(ids(&["p", &children[1]])));
    let outcome = h.rerun(T0 + 50, "p").await.unwrap();
    assert_eq!(outcome.execution_id, "p");
    assert_eq!(outcome.deleted_descendants, 2);
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::Ready);
    assert_eq!((p.attempt, p.start_at, p.updated_at), (0, T0 + 50, T0 + 50));
    assert_eq!(
        (p.started_at, p.finished_at, p.expires_at),
        (None, None, None)
    );
    assert_eq!((p.children_count, p.active_children_count), (0, 0));
    assert!(p.error.is_none() && p.output.is_none() && p.run_output.is_none());
    assert!(p.executor_id.is_none() && !p.needs_cancel && !p.is_closed);
    assert!(p.finalize_execution_id.is_none() && p.children_errors.is_empty());
    assert_eq!(
        (
            p.waiting_for_children_started_at,
            p.waiting_for_finalize_started_at,
            p.closed_at
        ),
        (None, None, None),
        "the previous run's bookkeeping timestamps are cleared"
    );
    assert_eq!((p.input.as_str(), p.created_at), ("null", T0 - 10));
    assert!(h.get(&children).await.unwrap().is_empty());
    assert!(h.get_children("p").await.unwrap().is_empty());
    // Nothing is left for the closer; the new run is claimed like any other.
    assert!(
        h.close_finished(T0 + 51, 100)
            .await
            .unwrap()
            .closed
            .is_empty()
    );
    let claimed = h
        .claim_ready("ex2", T0 + 51, 10, SLACK, LEASE)
        .await
        .unwrap();
    assert_eq!(ok_ids(claimed), ["p"]);
    // A failed root (no children) is re-run too.
    running(&*h, "ex", T0 + 60, &["f"]).await;
    h.finish("ex", T0 + 61, &[failed("f", "boom")])
        .await
        .unwrap();
    assert!(one(&*h, "f").await.is_closed, "closed by its finish");
    let outcome = h.rerun(T0 + 62, "f").await.unwrap();
    assert_eq!(outcome.deleted_descendants, 0);
    let f = one(&*h, "f").await;
    assert_eq!(f.status, ExecutionStatus::Ready);
    assert_eq!((f.is_closed, f.closed_at), (false, None));
}

/// [`Storage::rerun`] refuses, changing nothing, an unknown id, a child, a
/// completed execution and an active one, each with its reason.
pub async fn rerun_refuses_what_it_cannot_retry(h: Harness) {
    let children = parent_with_children(&*h, "p", 1).await;
    h.insert(&[exec("done", "t", T0)]).await.unwrap();
    let claimed = h.claim_ready("ex", T0 + 3, 10, SLACK, LEASE).await.unwrap();
    assert_eq!(ok_ids(claimed), ["done"]);
    h.finish("ex", T0 + 4, &[completed("done", "1")])
        .await
        .unwrap();
    h.finish("ex", T0 + 4, &[failed(&children[0], "x")])
        .await
        .unwrap();
    let refusal = |result: Result<_, StorageError>| match result {
        Err(StorageError::RerunRefused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refusal(h.rerun(T0 + 5, "missing").await),
        RerunRefusal::NotFound
    );
    assert_eq!(
        refusal(h.rerun(T0 + 5, &children[0]).await),
        RerunRefusal::NotTopLevel {
            root_execution_id: Some("p".into())
        }
    );
    assert_eq!(
        refusal(h.rerun(T0 + 5, "done").await),
        RerunRefusal::Status(ExecutionStatus::Completed)
    );
    assert_eq!(
        refusal(h.rerun(T0 + 5, "p").await),
        RerunRefusal::Status(ExecutionStatus::WaitingForChildrenTasks)
    );
    let message = h.rerun(T0 + 5, "done").await.unwrap_err().to_string();
    assert!(
        message.contains("done") && message.contains("completed"),
        "{message}"
    );
    // Nothing changed.
    assert_eq!(status(&*h, "done").await, ExecutionStatus::Completed);
    assert_eq!(status(&*h, &children[0]).await, ExecutionStatus::Failed);
    assert_eq!(one(&*h, "p").await.children_count, 1);
}

/// Cutoffs for every finished status at `before`.
fn prune_all_before(before: Millis) -> Vec<PruneCutoff> {
    ExecutionStatus::ALL
        .into_iter()
        .filter(|s| s.is_finished())
        .map(|status| PruneCutoff {
            status,
            finished_before: before,
        })
        .collect()
}

/// A cancellation of `id` and its subtree, itself included.
fn cancel_self(id: &str, message: &str) -> CancelItem {
    CancelItem {
        execution_id: id.into(),
        error: ExecutionError::cancelled(message),
        include_self: true,
    }
}

/// Closes every finished execution (at `now`).
async fn close_all(s: &dyn Storage, now: Millis) {
    while !s.close_finished(now, 1000).await.unwrap().closed.is_empty() {}
}

/// `singles` completed top-level executions `{prefix}_s{i}` and `trees`
/// cancelled trees `{prefix}_t{i}` of one root and `k` children each, all
/// finished by `T0 + 2` and closed: `singles + trees` roots holding
/// `singles + trees * (1 + k)` executions.
async fn finished_trees(s: &dyn Storage, prefix: &str, singles: usize, trees: usize, k: u32) {
    let single_ids: Vec<String> = (0..singles).map(|i| format!("{prefix}_s{i}")).collect();
    let tree_ids: Vec<String> = (0..trees).map(|i| format!("{prefix}_t{i}")).collect();
    let new: Vec<NewExecution> = single_ids
        .iter()
        .chain(&tree_ids)
        .map(|id| exec(id, "t", T0 - 10))
        .collect();
    s.insert(&new).await.unwrap();
    let executor = format!("{prefix}_ex");
    let claimed = s
        .claim_ready(&executor, T0, 10_000, SLACK, LEASE)
        .await
        .unwrap();
    assert_eq!(claimed.len(), new.len());
    let done: Vec<FinishItem> = single_ids.iter().map(|id| completed(id, "1")).collect();
    assert_eq!(
        s.finish(&executor, T0 + 1, &done).await.unwrap().len(),
        singles
    );
    let waits: Vec<WaitItem> = tree_ids
        .iter()
        .map(|root| WaitItem {
            execution_id: root.clone(),
            run_output: "1".into(),
            attempt: Some(0),
            children: (0..k)
                .map(|i| child(root, i, &format!("{root}_c{i}"), T0))
                .collect(),
            finalize: None,
        })
        .collect();
    assert_eq!(
        s.wait_for_children(&executor, T0 + 1, &waits)
            .await
            .unwrap()
            .len(),
        trees
    );
    let cancels: Vec<CancelItem> = tree_ids
        .iter()
        .map(|root| CancelItem {
            execution_id: root.clone(),
            error: ExecutionError::cancelled("stop"),
            include_self: true,
        })
        .collect();
    s.cancel(T0 + 2, &cancels).await.unwrap();
    close_all(s, T0 + 3).await;
}

/// [`Storage::prune`] deletes whole finished, closed trees (the root and
/// every descendant, grandchildren included) and nothing else: a tree whose
/// root is still active, a closed root with a descendant not yet closed,
/// and a root re-run meanwhile are kept; a dry run counts the same trees
/// and deletes nothing.
pub async fn prune_deletes_only_whole_finished_closed_trees(h: Harness) {
    // p: a cancelled tree of three levels (p, p_c0 waiting for its own
    // child g, p_c1), all closed.
    let children = parent_with_children(&*h, "p", 2).await;
    let grandchild = NewExecution {
        root: Some(ExecutionRef {
            task_id: "t".into(),
            execution_id: "p".into(),
        }),
        ..child(&children[0], 0, "g", T0 + 2)
    };
    let matched = h
        .wait_for_children(
            "ex",
            T0 + 3,
            &[WaitItem {
                execution_id: children[0].clone(),
                run_output: "1".into(),
                attempt: Some(0),
                children: vec![grandchild],
                finalize: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(matched, [children[0].clone()]);
    let cancel = |id: &str| cancel_self(id, "stop");
    h.cancel(T0 + 4, &[cancel("p")]).await.unwrap();
    close_all(&*h, T0 + 5).await;
    // a: an active root (its child still runs).
    let active = parent_with_children(&*h, "a", 1).await;
    // r: a cancelled root without children, re-run before the prune.
    running(&*h, "ex", T0 + 8, &["r"]).await;
    h.cancel(T0 + 9, &[cancel("r")]).await.unwrap();
    close_all(&*h, T0 + 9).await;
    h.rerun(T0 + 10, "r").await.unwrap();
    // q: a closed root whose child is cancelled but not closed yet.
    let unclosed = parent_with_children(&*h, "q", 1).await;
    h.cancel(T0 + 6, &[cancel("q")]).await.unwrap();
    let closed = h.close_finished(T0 + 7, 1).await.unwrap().closed;
    assert_eq!(closed, ["q"], "the root is closed first (oldest id)");

    let cutoffs = prune_all_before(T0 + 1_000);
    let dry = h.prune(&cutoffs, 100, None, true).await.unwrap();
    assert_eq!(
        dry,
        PruneOutcome {
            roots: 1,
            executions: 4,
            next: None,
        },
        "p, p_c0, p_c1 and g"
    );
    assert_eq!(status(&*h, "g").await, ExecutionStatus::Cancelled);
    assert_eq!(h.prune(&cutoffs, 100, None, true).await.unwrap(), dry);
    let pruned = h.prune(&cutoffs, 100, None, false).await.unwrap();
    assert_eq!(pruned, dry);
    let mut gone = ids(&["p", "g"]);
    gone.extend(children.iter().cloned());
    assert!(h.get(&gone).await.unwrap().is_empty());
    assert!(h.get_children("p").await.unwrap().is_empty());
    let kept = [
        vec!["a".to_owned(), "q".to_owned(), "r".to_owned()],
        active,
        unclosed.clone(),
    ]
    .concat();
    assert_eq!(h.get(&kept).await.unwrap().len(), kept.len());
    assert_eq!(
        h.prune(&cutoffs, 100, None, false).await.unwrap(),
        PruneOutcome::default()
    );
    // Once its child is closed, q's tree goes too.
    close_all(&*h, T0 + 11).await;
    let pruned = h.prune(&cutoffs, 100, None, false).await.unwrap();
    assert_eq!(
        pruned,
        PruneOutcome {
            roots: 1,
            executions: 2,
            next: None,
        }
    );
    assert!(h.get(&unclosed).await.unwrap().is_empty());
    // Active statuses in the cutoffs are ignored; a limit of 0 does nothing.
    let active_cutoff = [PruneCutoff {
        status: ExecutionStatus::Ready,
        finished_before: Millis::MAX,
    }];
    assert_eq!(
        h.prune(&active_cutoff, 100, None, false).await.unwrap(),
        PruneOutcome::default()
    );
    assert_eq!(status(&*h, "r").await, ExecutionStatus::Ready);
}

/// [`Storage::prune`] takes each status's own cutoff (roots finished
/// strictly before it), the oldest finish first, and at most `limit` roots
/// per call, the dry run included.
pub async fn prune_honours_per_status_cutoffs_and_the_limit(h: Harness) {
    for (i, id) in ["c0", "c1", "c2", "c3", "c4"].iter().enumerate() {
        running(&*h, "ex", T0 + 10 * i as Millis, &[id]).await;
        h.finish("ex", T0 + 10 * i as Millis + 1, &[completed(id, "1")])
            .await
            .unwrap();
    }
    running(&*h, "ex", T0 + 100, &["f"]).await;
    h.finish("ex", T0 + 101, &[failed("f", "boom")])
        .await
        .unwrap();
    close_all(&*h, T0 + 200).await;
    let cutoffs = |completed_before, failed_before| {
        [
            PruneCutoff {
                status: ExecutionStatus::Completed,
                finished_before: completed_before,
            },
            PruneCutoff {
                status: ExecutionStatus::Failed,
                finished_before: failed_before,
            },
        ]
    };
    let one_root = PruneOutcome {
        roots: 1,
        executions: 1,
        next: None,
    };
    let two_roots = PruneOutcome {
        roots: 2,
        executions: 2,
        next: None,
    };
    // A full batch says where the pass goes on; the counts are the same.
    let counts = |o: PruneOutcome| PruneOutcome { next: None, ..o };
    // c0 finished at T0 + 1: not strictly before T0 + 1.
    assert_eq!(
        h.prune(&cutoffs(T0 + 1, T0), 10, None, false)
            .await
            .unwrap(),
        PruneOutcome::default()
    );
    assert_eq!(
        h.prune(&cutoffs(T0 + 1_000, T0), 2, None, true)
            .await
            .unwrap(),
        two_roots
    );
    let full = h
        .prune(&cutoffs(T0 + 1_000, T0), 2, None, false)
        .await
        .unwrap();
    assert!(full.next.is_some(), "a full batch has a next position");
    assert_eq!(counts(full), two_roots);
    assert!(h.get(&ids(&["c0", "c1"])).await.unwrap().is_empty());
    assert_eq!(h.get(&ids(&["c2", "c3", "c4"])).await.unwrap().len(), 3);
    // c2 (T0 + 21) only: c3 finished at T0 + 31.
    assert_eq!(
        h.prune(&cutoffs(T0 + 31, T0 + 101), 10, None, false)
            .await
            .unwrap(),
        one_root
    );
    assert_eq!(status(&*h, "c3").await, ExecutionStatus::Completed);
    assert_eq!(status(&*h, "f").await, ExecutionStatus::Failed);
    // The failure's own cutoff.
    assert_eq!(
        h.prune(&cutoffs(T0, T0 + 102), 10, None, false)
            .await
            .unwrap(),
        one_root
    );
    assert!(h.get(&ids(&["f"])).await.unwrap().is_empty());
    assert_eq!(
        h.prune(&cutoffs(T0 + 1_000, T0 + 1_000), 10, None, false)
            .await
            .unwrap(),
        two_roots
    );
    assert!(h.get(&ids(&["c3", "c4"])).await.unwrap().is_empty());
}

/// Several pruners at once (over two handles where the backend has them)
/// delete every eligible tree exactly once: their counts add up to the
/// trees there were, and the rows that were not eligible are all still
/// there.
pub async fn concurrent_pruners_delete_each_tree_once(h: Harness) {
    finished_trees(&*h, "x", 60, 30, 3).await;
    // Not eligible: an active tree.
    let active = parent_with_children(&*h, "a", 2).await;
    let mut handles: Vec<Arc<dyn Storage>> = vec![Arc::clone(h.storage())];
    handles.push(h.reopen().await);
    let mut tasks = Vec::new();
    for w in 0..6usize {
        let s = Arc::clone(&handles[w % handles.len()]);
        tasks.push(tokio::spawn(async move {
            let cutoffs = prune_all_before(T0 + 1_000);
            let mut total = PruneOutcome::default();
            // Passes of batches until a pass finds nothing.
            let mut after = None;
            loop {
                let outcome = s.prune(&cutoffs, 7, after, false).await.unwrap();
                assert!(outcome.roots <= 7);
                assert_eq!(outcome.next.is_some(), outcome.roots == 7);
                if outcome.roots == 0 && after.is_none() {
                    break;
                }
                after = outcome.next;
                total.add(outcome);
                tokio::task::yield_now().await;
            }
            total
        }));
    }
    let mut total = PruneOutcome::default();
    for t in tasks {
        total.add(t.await.unwrap());
    }
    // A pruner may stop while another still holds a batch; whatever is left
    // is pruned now, and counted.
    total.add(
        h.prune(&prune_all_before(T0 + 1_000), 1_000, None, false)
            .await
            .unwrap(),
    );
    assert_eq!(
        total,
        PruneOutcome {
            roots: 90,
            executions: 60 + 30 * 4,
            next: None,
        }
    );
    let kept = [vec!["a".to_owned()], active].concat();
    assert_eq!(h.get(&kept).await.unwrap().len(), 3);
    let stats = h.stats(T0 + 1_000).await.unwrap();
    let rows: u64 = stats.counts.iter().map(|(_, _, n)| n).sum();
    assert_eq!(rows, 3, "only the active tree is left");
}

/// A retention pass ([`Storage::prune`] batch after batch, each after the
/// previous one's [`PruneOutcome::next`]) moves forward through the cutoffs
/// in order and through each status by finish time: a full batch gives the
/// position, a short one ends the pass (`None`), a dry run counts after the
/// position, and a tree that became eligible behind the position is left
/// to the next pass, which starts over.
pub async fn prune_passes_resume_after_their_cursor(h: Harness) {
    for (i, id) in ["c0", "c1", "c2", "c3", "c4"].iter().enumerate() {
        let at = T0 + 10 * i as Millis;
        running(&*h, "ex", at, &[id]).await;
        h.finish("ex", at + 1, &[completed(id, "1")]).await.unwrap();
    }
    running(&*h, "ex", T0, &["f"]).await;
    h.finish("ex", T0 + 2, &[failed("f", "boom")])
        .await
        .unwrap();
    close_all(&*h, T0 + 200).await;
    let cutoffs = [
        PruneCutoff {
            status: ExecutionStatus::Completed,
            finished_before: T0 + 1_000,
        },
        PruneCutoff {
            status: ExecutionStatus::Failed,
            finished_before: T0 + 1_000,
        },
    ];
    let first = h.prune(&cutoffs, 2, None, false).await.unwrap();
    assert_eq!((first.roots, first.executions), (2, 2));
    assert!(h.get(&ids(&["c0", "c1"])).await.unwrap().is_empty());
    let Some(after) = first.next else {
        panic!("a full batch has a next position: {first:?}")
    };
    // `late` finished (T0 + 5) before the position (c1, T0 + 11) but is
    // closed only now: eligible, behind the pass.
    running(&*h, "ex", T0 + 3, &["late"]).await;
    h.finish("ex", T0 + 5, &[completed("late", "1")])
        .await
        .unwrap();
    close_all(&*h, T0 + 201).await;
    let dry = h.prune(&cutoffs, 10, Some(after), true).await.unwrap();
    assert_eq!(
        dry,
        PruneOutcome {
            roots: 4,
            executions: 4,
            next: None,
        },
        "c2, c3, c4 and then f: the failed cutoff from its start"
    );
    let second = h.prune(&cutoffs, 2, Some(after), false).await.unwrap();
    assert_eq!(second.roots, 2);
    assert!(h.get(&ids(&["c2", "c3"])).await.unwrap().is_empty());
    let third = h.prune(&cutoffs, 2, second.next, false).await.unwrap();
    assert_eq!(third.roots, 2, "c4, then f of the next cutoff");
    assert!(h.get(&ids(&["c4", "f"])).await.unwrap().is_empty());
    assert!(third.next.is_some());
    let last = h.prune(&cutoffs, 2, third.next, false).await.unwrap();
    assert_eq!(last, PruneOutcome::default(), "the pass is over");
    assert_eq!(status(&*h, "late").await, ExecutionStatus::Completed);
    // The next pass starts over and finds it.
    assert_eq!(
        h.prune(&cutoffs, 2, None, false).await.unwrap(),
        PruneOutcome {
            roots: 1,
            executions: 1,
            next: None,
        }
    );
    assert!(h.get(&ids(&["late"])).await.unwrap().is_empty());
    // A position of a status the cutoffs no longer name starts over too.
    running(&*h, "ex", T0, &["z"]).await;
    h.finish("ex", T0 + 1, &[completed("z", "1")])
        .await
        .unwrap();
    close_all(&*h, T0 + 202).await;
    let failed_only = [cutoffs[1]];
    assert_eq!(
        h.prune(&failed_only, 2, third.next, false)
            .await
            .unwrap()
            .roots,
        0,
        "f was the last failure"
    );
    assert_eq!(
        h.prune(&cutoffs[..1], 2, third.next, false)
            .await
            .unwrap()
            .roots,
        1,
        "z: the completed cutoff from its start"
    );
}

/// Every transition that finishes a top-level execution without children
/// or finalize closes it in the same step, at its finish (`is_closed`,
/// `closed_at = finished_at`): `finish` in every final status, a
/// cancellation, lease expiry once the retry budget is spent, a wake and a
/// sleeping timeout. The closer then has nothing left to do for them, and
/// retention sees them as closed roots at once. Re-queued rows stay
/// unclosed (docs/design.md, "Closing").
pub async fn childless_top_level_executions_close_at_finish(h: Harness) {
    running(&*h, "ex", T0, &["a", "b", "c", "x"]).await;
    let cancelled_run = FinishItem {
        execution_id: "c".into(),
        attempt: Some(0),
        status: ExecutionStatus::Cancelled,
        run_output: None,
        output: None,
        error: Some(ExecutionError::cancelled("stop")),
    };
    let matched = h
        .finish(
            "ex",
            T0 + 5,
            &[completed("a", "1"), failed("b", "boom"), cancelled_run],
        )
        .await
        .unwrap();
    assert_eq!(sorted(matched), ids(&["a", "b", "c"]));
    let cancelled = h
        .cancel(T0 + 6, &[cancel_self("x", "by user")])
        .await
        .unwrap();
    assert_eq!(cancelled, ["x"]);
    // Lease expiry: `none` has no retry left (failed), `budget` has one
    // (re-queued, so not finished and not closed).
    let mut none = exec("none", "t", T0);
    none.timeout_ms = 50;
    let mut budget = exec("budget", "t", T0);
    budget.timeout_ms = 50;
    budget.retry_options.max_attempts = 1;
    h.insert(&[none, budget]).await.unwrap();
    h.claim_ready("ex", T0 + 10, 10, 0, LEASE).await.unwrap();
    let expired = h.expire_leases(T0 + 70, 10).await.unwrap();
    assert_eq!(
        (expired.requeued.clone(), expired.failed.clone()),
        (ids(&["budget"]), ids(&["none"]))
    );
    // Sleeping executions: one woken, one timed out.
    h.insert(&[sleeping("w", "key-w", T0), sleeping("z", "key-z", T0)])
        .await
        .unwrap();
    let woken = h
        .wake("hook", "key-w", T0 + 20, &completed_wake("true"))
        .await
        .unwrap()
        .expect("a sleeping execution has the key");
    assert!(woken.woken);
    assert!(
        woken.execution.is_closed,
        "the wake's row is returned closed"
    );
    assert_eq!(woken.execution.closed_at, Some(T0 + 20));
    let timed_out = h.expire_leases(T0 + 1_001, 10).await.unwrap().timed_out;
    assert_eq!(timed_out, ["z"]);

    for (id, at) in [
        ("a", T0 + 5),
        ("b", T0 + 5),
        ("c", T0 + 5),
        ("x", T0 + 6),
        ("none", T0 + 70),
        ("w", T0 + 20),
        ("z", T0 + 1_001),
    ] {
        let e = one(&*h, id).await;
        assert!(e.status.is_finished(), "{id}: {}", e.status);
        assert!(e.is_closed, "{id} is closed by its finish");
        assert_eq!(
            (e.finished_at, e.closed_at),
            (Some(at), Some(at)),
            "{id}: closed_at is its finish"
        );
    }
    // A cancelled run keeps its owner and flag though closed.
    let x = one(&*h, "x").await;
    assert!(x.needs_cancel);
    assert_eq!(x.executor_id.as_deref(), Some("ex"));
    let budget = one(&*h, "budget").await;
    assert_eq!(budget.status, ExecutionStatus::Ready);
    assert!(!budget.is_closed);
    assert_eq!(budget.closed_at, None);

    // Nothing left for the closer.
    let outcome = h.close_finished(T0 + 2_000, 100).await.unwrap();
    assert!(outcome.closed.is_empty(), "{:?}", outcome.closed);
    assert!(outcome.newly_finished.is_empty());
    assert!(outcome.parents_ready.is_empty());
    // Retention finds them through the closed-roots index at once.
    let dry = h
        .prune(&prune_all_before(T0 + 10_000), 100, None, true)
        .await
        .unwrap();
    assert_eq!(
        dry,
        PruneOutcome {
            roots: 7,
            executions: 7,
            next: None,
        }
    );
}

/// A finished child, finalize or parent is not closed by the transition
/// that finished it: its parent's counters, errors and status, and its own
/// subtree, are the closer's work. Children finished by `finish`, by a
/// cancellation of their parent, and a parent completed by
/// `advance_parents` all stay unclosed until `close_finished`, which
/// closes them at its own time (docs/design.md, "Closing").
pub async fn children_and_parents_are_closed_by_the_closer(h: Harness) {
    let children = parent_with_children(&*h, "p", 2).await;
    let results: Vec<FinishItem> = children.iter().map(|id| completed(id, "0")).collect();
    h.finish("ex", T0 + 10, &results).await.unwrap();
    for id in &children {
        let c = one(&*h, id).await;
        assert_eq!(c.status, ExecutionStatus::Completed);
        assert!(!c.is_closed, "{id}: a child is left to the closer");
        assert_eq!(c.closed_at, None);
    }
    assert_eq!(one(&*h, "p").await.active_children_count, 2);
    let outcome = h.close_finished(T0 + 11, 100).await.unwrap();
    assert_eq!(sorted(outcome.closed), sorted(children.clone()));
    assert_eq!(outcome.parents_ready, ["p"]);
    assert_eq!(one(&*h, "p").await.active_children_count, 0);
    let advanced = h
        .advance_parents(
            T0 + 12,
            &[AdvanceItem {
                execution_id: "p".into(),
                action: Advance::Complete {
                    output: "[0,0]".into(),
                },
            }],
        )
        .await
        .unwrap();
    assert_eq!(advanced, ["p"]);
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::Completed);
    assert!(
        !p.is_closed,
        "a parent with children goes through the closer"
    );
    assert_eq!(h.close_finished(T0 + 13, 100).await.unwrap().closed, ["p"]);
    assert_eq!(one(&*h, "p").await.closed_at, Some(T0 + 13));

    // A sleeping child woken, and a cancelled parent's children.
    let waiting = parent_with_children(&*h, "q", 1).await;
    let mut sleeper = child("q", 1, "q_s", T0);
    sleeper.task_id = "hook".into();
    sleeper.sleeping_key = Some("key-q".into());
    h.insert(&[sleeper]).await.unwrap();
    let woken = h
        .wake("hook", "key-q", T0 + 20, &completed_wake("1"))
        .await
        .unwrap()
        .expect("the sleeping child has the key");
    assert!(woken.woken);
    assert!(
        !woken.execution.is_closed,
        "a woken child is left to the closer"
    );
    h.cancel(T0 + 21, &[cancel_self("q", "stop")])
        .await
        .unwrap();
    for id in ["q", waiting[0].as_str(), "q_s"] {
        let e = one(&*h, id).await;
        assert!(e.status.is_finished(), "{id}");
        assert!(!e.is_closed, "{id} is left to the closer");
    }
    close_all(&*h, T0 + 30).await;
    for id in ["q", waiting[0].as_str(), "q_s"] {
        assert_eq!(one(&*h, id).await.closed_at, Some(T0 + 30), "{id}");
    }
}
