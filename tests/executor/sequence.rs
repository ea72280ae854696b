//! Sequential tasks (T25, X9, X11) and the n + 1 execution count.

use crate::common::{Counter, Factory, start};
use durable_execution::model::ExecutionStatus;
use durable_execution::{
    FinalizeInput, ParentOutput, ParentTask, Sequence, Task, TaskContext, TaskError,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// T25: string → number → boolean, n + 1 executions, previous output as input.
pub async fn chain_passes_outputs(factory: Factory) {
    let storage = factory("chain_passes_outputs").await;
    let calls = Counter::new();
    let c = calls.clone();
    let to_number = Task::new("number", move |_ctx: TaskContext, s: String| {
        let c = c.clone();
        async move {
            c.hit();
            Ok::<_, TaskError>(s.parse::<f64>()?)
        }
    });
    let c = calls.clone();
    let trim = Task::new("string", move |_ctx: TaskContext, s: String| {
        let c = c.clone();
        async move {
            c.hit();
            Ok::<_, TaskError>(s.trim().to_owned())
        }
    });
    let c = calls.clone();
    let is_big = Task::new("boolean", move |_ctx: TaskContext, x: f64| {
        let c = c.clone();
        async move {
            c.hit();
            Ok::<_, TaskError>(x > 10.0)
        }
    });
    let chain = Sequence::new("seq", &trim).then(&to_number).then(&is_big);
    assert_eq!(chain.len(), 3);
    assert_eq!(chain.id(), "seq");
    let executor = start(&storage, |b| b.register(&chain));
    let handle = executor.enqueue(&chain, " 10.5 ".to_owned()).await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert!(done.output::<bool>().unwrap());
    assert_eq!(calls.get(), 3);
    let children = handle.children().await.unwrap();
    assert_eq!(
        children
            .iter()
            .map(|c| c.task_id.as_str())
            .collect::<Vec<_>>(),
        vec!["string", "number", "boolean"]
    );
    assert_eq!(done.children_count, 3);
    let done = executor
        .enqueue(&chain, "9.5".to_owned())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert!(!done.output::<bool>().unwrap());
    assert_eq!(calls.get(), 6);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A failing step fails the sequence; later steps never run.
pub async fn failing_step_fails_sequence(factory: Factory) {
    let storage = factory("failing_step_fails_sequence").await;
    let calls = Counter::new();
    let first = Task::new("first", |_ctx: TaskContext, s: String| async move {
        Ok::<_, TaskError>(s)
    });
    let parse = Task::new("parse", |_ctx: TaskContext, s: String| async move {
        s.parse::<i64>()
            .map_err(|e| TaskError::non_retryable(e.to_string()))
    });
    let c = calls.clone();
    let last = Task::new("last", move |_ctx: TaskContext, n: i64| {
        let c = c.clone();
        async move {
            c.hit();
            Ok::<_, TaskError>(n + 1)
        }
    });
    let chain = Sequence::new("seq", &first).then(&parse).then(&last);
    let executor = start(&storage, |b| b.register(&chain));
    let handle = executor.enqueue(&chain, "abc".to_owned()).await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::ChildrenTasksFailed);
    assert_eq!(done.children_errors.len(), 1);
    assert_eq!(done.children_errors[0].task_id, "parse");
    assert_eq!(done.children_errors[0].index, 1);
    assert_eq!(calls.get(), 0);
    assert_eq!(handle.children().await.unwrap().len(), 2);
    let ok = executor
        .enqueue(&chain, "41".to_owned())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(ok.output::<i64>().unwrap(), 42);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Acc {
    parts: Vec<String>,
}

fn step(id: &'static str) -> Task<Acc, Acc> {
    Task::new(id, move |_ctx: TaskContext, mut acc: Acc| async move {
        acc.parts.push(format!("{id}_output"));
        Ok::<_, TaskError>(acc)
    })
}

/// X9/X11: a sequence of simple tasks, and a sequence of parents with
/// children and finalize.
pub async fn sequences_of_tasks_and_parents(factory: Factory) {
    let storage = factory("sequences_of_tasks_and_parents").await;
    let (a, b, c) = (step("a"), step("b"), step("c"));
    let abc = Sequence::new("abc", &a).then(&b).then(&c);
    let leaf = Task::new("leaf", |_ctx: TaskContext, name: String| async move {
        Ok::<_, TaskError>(format!("{name}_output"))
    });
    let merge = Task::new(
        "merge",
        |_ctx: TaskContext, input: FinalizeInput<Acc, String, String>| async move {
            let mut acc = input.input;
            acc.parts.push(input.output);
            acc.parts.extend(input.children);
            Ok::<_, TaskError>(acc)
        },
    );
    let make_parent = |id: &'static str| {
        let leaf = leaf.clone();
        ParentTask::new(id, move |_ctx: TaskContext, _acc: Acc| {
            let leaf = leaf.clone();
            async move {
                Ok::<_, TaskError>(
                    ParentOutput::new(format!("{id}_output"))
                        .children([leaf.child(format!("{id}1")), leaf.child(format!("{id}2"))]),
                )
            }
        })
        .finalize(&merge)
    };
    let (pa, pb) = (make_parent("pa"), make_parent("pb"));
    let parents = Sequence::new("parents", &pa).then(&pb);
    let executor = start(&storage, |b| {
        b.register(&abc).register(&parents).register(&leaf)
    });
    let done = executor
        .enqueue(&abc, Acc::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(
        done.output::<Acc>().unwrap().parts,
        vec!["a_output", "b_output", "c_output"]
    );
    let done = executor
        .enqueue(&parents, Acc::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(
        done.output::<Acc>().unwrap().parts,
        vec![
            "pa_output",
            "pa1_output",
            "pa2_output",
            "pb_output",
            "pb1_output",
            "pb2_output"
        ]
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}
