//! The result writer: results of many runs are written with one storage
//! call per kind (finish, retry, wait for children) per batch.

use super::runner::{fail_item, non_retryable};
use super::*;

pub(super) async fn writer_loop(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<WriterMessage>) {
    let mut buffer = Vec::with_capacity(inner.options.write_batch);
    loop {
        let received = tokio::select! {
            n = rx.recv_many(&mut buffer, inner.options.write_batch) => n,
            () = inner.stop_loops.cancelled() => 0,
        };
        if received == 0 {
            break;
        }
        let mut completions = Vec::with_capacity(buffer.len());
        let mut barriers = Vec::new();
        for message in buffer.drain(..) {
            match message {
                WriterMessage::Done(completion) => completions.push(completion),
                WriterMessage::Barrier(ack) => barriers.push(ack),
            }
        }
        write_batch(&inner, &mut completions).await;
        {
            let mut running = lock(&inner.running);
            for completion in &completions {
                Inner::forget_run(&mut running, &completion.execution_id, &completion.run);
            }
        }
        // Dropping the completions releases their permits.
        drop(completions);
        inner.wake_claimer.notify_one();
        inner.wake_closer.notify_one();
        inner.run_finished.notify_waiters();
        for ack in barriers {
            let _ = ack.send(());
        }
    }
}

async fn write_batch(inner: &Inner, completions: &mut [Completion]) {
    let mut finishes = Vec::new();
    let mut retries = Vec::new();
    let mut waits = Vec::new();
    for completion in completions.iter_mut() {
        match std::mem::replace(&mut completion.write, Write::Nothing) {
            Write::Finish(item) => finishes.push(item),
            Write::Retry(item) => retries.push(item),
            Write::Wait(item) => waits.push(item),
            Write::Nothing => {}
        }
    }
    let (finish_failed, retry_failed, wait_failed) = tokio::join!(
        write_finishes(inner, finishes),
        write_retries(inner, retries),
        write_waits(inner, waits),
    );
    // Parents whose children could not be stored fail with the reason.
    let mut fallback: Vec<FinishItem> = wait_failed
        .into_iter()
        .map(|(item, error)| {
            fail_item(
                &item.execution_id,
                non_retryable(format!(
                    "Cannot store the children of execution {}: {error}",
                    item.execution_id
                )),
            )
        })
        .collect();
    fallback.extend(finish_failed);
    if !fallback.is_empty() {
        let _ = write_finishes_individually(inner, fallback).await;
    }
    for item in retry_failed {
        tracing::error!(execution_id = %item.execution_id, "giving up on writing a retry; the lease will recover the execution");
    }
}

/// Writes finishes in one call; returns the items that could not be written
/// because of a non-transient error (after isolating them).
async fn write_finishes(inner: &Inner, items: Vec<FinishItem>) -> Vec<FinishItem> {
    if items.is_empty() {
        return Vec::new();
    }
    match retrying(inner, "finish", || {
        inner
            .storage
            .finish(&inner.executor_id, now_millis(), &items)
    })
    .await
    {
        Ok(_) => Vec::new(),
        Err(error) => {
            tracing::warn!(error = %error, count = items.len(), "batched finish failed; writing one by one");
            write_finishes_individually(inner, items).await
        }
    }
}

async fn write_finishes_individually(inner: &Inner, items: Vec<FinishItem>) -> Vec<FinishItem> {
    let mut failed = Vec::new();
    for item in items {
        let one = std::slice::from_ref(&item);
        if let Err(error) = retrying(inner, "finish", || {
            inner.storage.finish(&inner.executor_id, now_millis(), one)
        })
        .await
        {
            tracing::error!(execution_id = %item.execution_id, error = %error, "cannot write the result; the lease will recover the execution");
            failed.push(item);
        }
    }
    // Already logged; nothing else can be done with them here.
    let _ = &failed;
    Vec::new()
}

async fn write_retries(inner: &Inner, items: Vec<RetryItem>) -> Vec<RetryItem> {
    if items.is_empty() {
        return Vec::new();
    }
    match retrying(inner, "retry", || {
        inner
            .storage
            .retry(&inner.executor_id, now_millis(), &items)
    })
    .await
    {
        Ok(_) => Vec::new(),
        Err(error) => {
            tracing::warn!(error = %error, count = items.len(), "batched retry failed; writing one by one");
            let mut failed = Vec::new();
            for item in items {
                let one = std::slice::from_ref(&item);
                if let Err(error) = retrying(inner, "retry", || {
                    inner.storage.retry(&inner.executor_id, now_millis(), one)
                })
                .await
                {
                    tracing::error!(execution_id = %item.execution_id, error = %error, "cannot write a retry");
                    failed.push(item);
                }
            }
            failed
        }
    }
}

async fn write_waits(inner: &Inner, items: Vec<WaitItem>) -> Vec<(WaitItem, StorageError)> {
    if items.is_empty() {
        return Vec::new();
    }
    match retrying(inner, "wait_for_children", || {
        inner
            .storage
            .wait_for_children(&inner.executor_id, now_millis(), &items)
    })
    .await
    {
        Ok(_) => Vec::new(),
        Err(error) => {
            tracing::warn!(error = %error, count = items.len(), "batched wait_for_children failed; writing one by one");
            let mut failed = Vec::new();
            for item in items {
                let one = std::slice::from_ref(&item);
                if let Err(error) = retrying(inner, "wait_for_children", || {
                    inner
                        .storage
                        .wait_for_children(&inner.executor_id, now_millis(), one)
                })
                .await
                {
                    failed.push((item, error));
                }
            }
            failed
        }
    }
}
