//! Executor options, enqueue options and the validation rules shared by
//! task definitions, enqueue overrides and child overrides.

use super::error::ExecutorError;
use crate::model::{ExecutionStatus, Millis, RetryOptions};
use crate::storage::PruneCutoff;
use std::time::Duration;

/// Options of an [`Executor`](super::Executor). Build them with
/// [`ExecutorOptions::builder`]; [`ExecutorOptions::default`] gives the
/// defaults listed on each builder method.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExecutorOptions {
    /// Lease slack added to an execution's timeout when it is claimed: the
    /// timeout bound of the lease (`expires_at`), which holds even while
    /// heartbeats succeed.
    pub lease_slack: Duration,
    /// The heartbeat lease: a running execution whose owner has not
    /// extended it for this long is recovered (docs/design.md, "Leases and
    /// fencing").
    pub lease: Duration,
    /// How often the owner extends the lease of its running executions
    /// (one batched storage call per round); `None`: a third of
    /// [`lease`](Self::lease).
    pub heartbeat_interval: Option<Duration>,
    /// Idle sleep of the background loops (jittered ±25 %).
    pub poll_interval: Duration,
    /// Maximum number of executions running in this executor at once.
    pub max_concurrent_executions: usize,
    /// Maximum number of executions claimed per storage call.
    pub max_batch: u32,
    /// Whether [`Executor::enqueue`](super::Executor::enqueue) and
    /// [`Executor::enqueue_many`](super::Executor::enqueue_many) of a
    /// started executor with free slots claim with the insert's own
    /// commit (docs/design.md, "Claiming at enqueue").
    pub claim_at_enqueue: bool,
    /// Maximum number of finished executions closed per storage call.
    pub close_batch: u32,
    /// Maximum number of runner results written per storage call.
    pub write_batch: usize,
    /// Maximum serialized size (UTF-8 bytes) of an input or output.
    pub max_payload_bytes: usize,
    /// Maximum number of children one parent run may spawn.
    pub max_children: usize,
    /// First delay of the error backoff of the background loops.
    pub error_backoff_base: Duration,
    /// Largest delay of the error backoff of the background loops.
    pub error_backoff_cap: Duration,
    /// Fallback polling interval of [`ExecutionHandle::wait`](super::ExecutionHandle::wait)
    /// when no storage event arrives.
    pub wait_poll_interval: Duration,
    /// How often the `durable_executions` gauge is sampled from
    /// [`Storage::stats`](crate::storage::Storage::stats) (feature
    /// `metrics`, see [`crate::metrics`]); `None`: never.
    pub metrics_interval: Option<Duration>,
    /// Retention: how long finished executions are kept before the
    /// background pruner deletes their trees; `None`: never pruned (see
    /// [`RetentionPolicy`] and `docs/design.md`, "Retention").
    pub retention: Option<RetentionPolicy>,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        Self {
            lease_slack: Duration::from_secs(300),
            lease: Duration::from_secs(30),
            heartbeat_interval: None,
            poll_interval: Duration::from_millis(500),
            max_concurrent_executions: 1000,
            max_batch: 256,
            claim_at_enqueue: true,
            close_batch: 512,
            write_batch: 2048,
            max_payload_bytes: 1024 * 1024,
            max_children: 1000,
            error_backoff_base: Duration::from_millis(100),
            error_backoff_cap: Duration::from_secs(10),
            wait_poll_interval: Duration::from_secs(1),
            metrics_interval: None,
            retention: Some(RetentionPolicy::default()),
        }
    }
}

impl ExecutorOptions {
    /// A builder starting from the defaults.
    pub fn builder() -> ExecutorOptionsBuilder {
        ExecutorOptionsBuilder {
            options: Self::default(),
        }
    }

    /// The effective heartbeat interval: [`heartbeat_interval`](Self::heartbeat_interval),
    /// or a third of the lease.
    pub fn effective_heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval.unwrap_or(self.lease / 3)
    }

    pub(crate) fn validate(&self) -> Result<(), ExecutorError> {
        fn check(ok: bool, option: &'static str, message: &str) -> Result<(), ExecutorError> {
            if ok {
                Ok(())
            } else {
                Err(ExecutorError::InvalidExecutorOption {
                    option,
                    message: message.to_owned(),
                })
            }
        }
        let interval = |d: Duration| !d.is_zero() && d <= MAX_INTERVAL;
        check(
            interval(self.poll_interval),
            "poll_interval",
            "must be positive and at most 1 hour",
        )?;
        check(
            interval(self.wait_poll_interval),
            "wait_poll_interval",
            "must be positive and at most 1 hour",
        )?;
        check(
            self.metrics_interval.is_none_or(interval),
            "metrics_interval",
            "must be positive and at most 1 hour",
        )?;
        check(
            self.lease_slack.as_millis() <= MAX_DURATION_MS,
            "lease_slack",
            "must be at most 2147483647 ms (about 24 days)",
        )?;
        check(
            self.lease >= MIN_LEASE && self.lease.as_millis() <= MAX_DURATION_MS,
            "lease",
            "must be at least 30 ms and at most 2147483647 ms (about 24 days)",
        )?;
        check(
            self.heartbeat_interval
                .is_none_or(|i| !i.is_zero() && i < self.lease),
            "heartbeat_interval",
            "must be positive and shorter than the lease",
        )?;
        check(
            (1..=1_000_000).contains(&self.max_concurrent_executions),
            "max_concurrent_executions",
            "must be between 1 and 1000000",
        )?;
        check(
            (1..=100_000).contains(&self.max_batch),
            "max_batch",
            "must be between 1 and 100000",
        )?;
        check(
            (1..=100_000).contains(&self.close_batch),
            "close_batch",
            "must be between 1 and 100000",
        )?;
        check(
            (1..=100_000).contains(&self.write_batch),
            "write_batch",
            "must be between 1 and 100000",
        )?;
        check(
            (1024..=64 * 1024 * 1024).contains(&self.max_payload_bytes),
            "max_payload_bytes",
            "must be between 1 KiB and 64 MiB",
        )?;
        check(
            (1..=100_000).contains(&self.max_children),
            "max_children",
            "must be between 1 and 100000",
        )?;
        if let Some(retention) = &self.retention {
            check(
                interval(retention.interval),
                "retention.interval",
                "must be positive and at most 1 hour",
            )?;
            check(
                (1..=100_000).contains(&retention.batch),
                "retention.batch",
                "must be between 1 and 100000",
            )?;
        }
        check(
            !self.error_backoff_base.is_zero()
                && self.error_backoff_cap >= self.error_backoff_base
                && self.error_backoff_cap <= MAX_INTERVAL,
            "error_backoff",
            "base must be positive and not above the cap, and the cap at most 1 hour",
        )
    }
}

/// Builder of [`ExecutorOptions`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ExecutorOptionsBuilder {
    options: ExecutorOptions,
}

impl ExecutorOptionsBuilder {
    /// Lease slack added to the timeout of a claimed execution (default
    /// 5 min): the timeout bound of the lease. An execution is recovered
    /// after `timeout + lease_slack` even if its owner keeps extending its
    /// heartbeat lease (a run stuck in blocking code); a crashed executor's
    /// executions are recovered sooner, by the heartbeat
    /// [`lease`](Self::lease).
    pub fn lease_slack(mut self, value: Duration) -> Self {
        self.options.lease_slack = value;
        self
    }

    /// The heartbeat lease (default 30 s, at least 30 ms): the owner of a
    /// running execution extends it every
    /// [`heartbeat_interval`](Self::heartbeat_interval) (one batched storage
    /// call for all its runs), and any executor recovers a running
    /// execution whose lease was not extended for this long, whatever the
    /// task's timeout: a crashed executor's executions are recovered within
    /// about one lease. A run whose lease could not be extended in time
    /// (the storage was unreachable for a whole lease) is treated as lost:
    /// its cancellation token fires and its result is dropped. Shorter
    /// recovers sooner but tolerates shorter storage outages without
    /// losing runs; 30 s rides out a database restart or failover.
    pub fn lease(mut self, value: Duration) -> Self {
        self.options.lease = value;
        self
    }

    /// How often the lease of this executor's running executions is
    /// extended (default: a third of [`lease`](Self::lease), so that two
    /// heartbeats in a row can fail before a run is lost). Must be shorter
    /// than the lease.
    pub fn heartbeat_interval(mut self, value: Duration) -> Self {
        self.options.heartbeat_interval = Some(value);
        self
    }

    /// Idle sleep of the background loops (default 500 ms). Storage events
    /// wake the loops earlier; this is the fallback. It is also the latency
    /// with which a run hosted here notices a cancellation made by another
    /// executor (cancellations made through this executor's handles, and
    /// cascades found by its closer, are noticed at once).
    pub fn poll_interval(mut self, value: Duration) -> Self {
        self.options.poll_interval = value;
        self
    }

    /// Maximum concurrently running executions (default 1000).
    pub fn max_concurrent_executions(mut self, value: usize) -> Self {
        self.options.max_concurrent_executions = value;
        self
    }

    /// Maximum executions claimed per storage call (default 256).
    pub fn max_batch(mut self, value: u32) -> Self {
        self.options.max_batch = value;
        self
    }

    /// Whether enqueues claim (default `true`): a started executor with
    /// free slots that enqueues (through [`Executor::enqueue`](super::Executor::enqueue)
    /// or [`Executor::enqueue_many`](super::Executor::enqueue_many)) claims,
    /// with the insert's own commit, the executions it inserts (as many as
    /// it has free slots), unless older ones are ready and due: new work
    /// never goes ahead of older work (see
    /// [`Storage::insert_and_claim`](crate::storage::Storage::insert_and_claim)).
    /// Such a run starts after one commit
    /// instead of two (the insert's, then a claim's), and no other executor
    /// is woken for it; everything else about it is an ordinary claim
    /// (lease, heartbeat, fencing). Turn it off to leave every execution to
    /// the claimers of all executors alike, for example in a process that
    /// enqueues much and should run little.
    pub fn claim_at_enqueue(mut self, value: bool) -> Self {
        self.options.claim_at_enqueue = value;
        self
    }

    /// Maximum finished executions closed per storage call (default 512).
    pub fn close_batch(mut self, value: u32) -> Self {
        self.options.close_batch = value;
        self
    }

    /// Maximum runner results written per storage call (default 2048).
    pub fn write_batch(mut self, value: usize) -> Self {
        self.options.write_batch = value;
        self
    }

    /// Maximum serialized size of inputs and outputs (default 1 MiB).
    pub fn max_payload_bytes(mut self, value: usize) -> Self {
        self.options.max_payload_bytes = value;
        self
    }

    /// Maximum children per parent run (default 1000).
    pub fn max_children(mut self, value: usize) -> Self {
        self.options.max_children = value;
        self
    }

    /// Error backoff of the background loops (default 100 ms doubling up to 10 s).
    pub fn error_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.options.error_backoff_base = base;
        self.options.error_backoff_cap = cap;
        self
    }

    /// Fallback polling interval of handle waits (default 1 s).
    pub fn wait_poll_interval(mut self, value: Duration) -> Self {
        self.options.wait_poll_interval = value;
        self
    }

    /// How often the `durable_executions` gauge (executions per task and
    /// status) is sampled from the storage's stats, with the `metrics`
    /// feature (default: never; zero: never). Each sample is one
    /// [`Storage::stats`](crate::storage::Storage::stats) call, a scan of
    /// the table's status index: a few seconds to a minute is typical, and
    /// one executor per storage is enough (every executor samples the same
    /// storage-wide counts). See [`crate::metrics`].
    pub fn metrics_interval(mut self, value: Duration) -> Self {
        self.options.metrics_interval = (!value.is_zero()).then_some(value);
        self
    }

    /// Retention of finished executions (default
    /// [`RetentionPolicy::default`]: completed trees kept 7 days, every
    /// other finished status 30 days, checked every 5 minutes). `None`
    /// turns the background pruning off. See `docs/design.md`, "Retention".
    ///
    /// ```
    /// use durable_execution::{ExecutionStatus, ExecutorOptions, RetentionPolicy};
    /// use std::time::Duration;
    ///
    /// let hour = Duration::from_secs(3600);
    /// let options = ExecutorOptions::builder()
    ///     .retention(
    ///         RetentionPolicy::keep_for(7 * 24 * hour)
    ///             .keep(ExecutionStatus::Completed, 24 * hour)
    ///             .keep_forever(ExecutionStatus::Failed),
    ///     )
    ///     .build()?;
    /// let off = ExecutorOptions::builder().retention(None).build()?;
    /// assert!(off.retention.is_none());
    /// # let _ = options;
    /// # Ok::<(), durable_execution::ExecutorError>(())
    /// ```
    pub fn retention(mut self, value: impl Into<Option<RetentionPolicy>>) -> Self {
        self.options.retention = value.into();
        self
    }

    /// Validates and returns the options.
    pub fn build(self) -> Result<ExecutorOptions, ExecutorError> {
        self.options.validate()?;
        Ok(self.options)
    }
}

/// Per-execution overrides of a task's defaults, used by
/// [`Executor::enqueue_with`](super::Executor::enqueue_with),
/// [`Executor::prepare`](super::Executor::prepare) and child tasks. Every
/// override is validated like the task definition.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
#[must_use]
pub struct EnqueueOptions {
    /// Replaces the task's timeout.
    pub timeout: Option<Duration>,
    /// Replaces the task's retry options.
    pub retry: Option<RetryOptions>,
    /// Replaces the task's delay before the first run.
    pub sleep_before_run: Option<Duration>,
    /// The key of an execution of a sleeping task (required for one,
    /// refused for any other task); see
    /// [`SleepingTask`](super::SleepingTask).
    pub sleeping_key: Option<String>,
}

impl EnqueueOptions {
    /// No override.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key of an execution of a sleeping task (1–255 characters).
    pub fn sleeping_key(mut self, key: impl Into<String>) -> Self {
        self.sleeping_key = Some(key.into());
        self
    }

    /// Overrides the timeout.
    pub fn timeout(mut self, value: Duration) -> Self {
        self.timeout = Some(value);
        self
    }

    /// Overrides the retry options.
    pub fn retry(mut self, value: RetryOptions) -> Self {
        self.retry = Some(value);
        self
    }

    /// Overrides the delay before the first run.
    pub fn sleep_before_run(mut self, value: Duration) -> Self {
        self.sleep_before_run = Some(value);
        self
    }
}

/// Longest accepted timeout, sleep, retry delay or lease slack (about 24
/// days, so that timestamps and timers never overflow).
const MAX_DURATION_MS: u128 = 2_147_483_647;

/// Shortest accepted heartbeat lease.
const MIN_LEASE: Duration = Duration::from_millis(30);

/// Longest accepted poll interval or error backoff cap of the background
/// loops (their jitter multiplies it: a bound keeps that arithmetic finite).
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Checks the task id rules (docs/design.md, "Task ids and options").
pub(crate) fn validate_task_id(task_id: &str) -> Result<(), ExecutorError> {
    let message = if task_id.is_empty() {
        Some("Task id cannot be empty")
    } else if task_id.len() > 255 {
        Some("Task id cannot be longer than 255 characters")
    } else if !task_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Some("Task id can only contain alphanumeric characters and underscores")
    } else {
        None
    };
    match message {
        Some(message) => Err(ExecutorError::InvalidTaskId {
            task_id: task_id.to_owned(),
            message,
        }),
        None => Ok(()),
    }
}

/// Checks retry options: at most 1000 retries, multiplier ≥ 0.1 (and ≤ 1000),
/// jitter within `0..=1`, `max_delay_ms ≥ base_delay_ms`.
pub(crate) fn validate_retry_options(
    task_id: &str,
    options: &RetryOptions,
) -> Result<(), ExecutorError> {
    let problem = if options.max_attempts > 1000 {
        Some(format!(
            "max_attempts must be at most 1000, got {}",
            options.max_attempts
        ))
    } else if let Some(m) = options
        .delay_multiplier
        .filter(|m| !(m.is_finite() && (0.1..=1000.0).contains(m)))
    {
        Some(format!(
            "delay_multiplier must be between 0.1 and 1000, got {m}"
        ))
    } else if let Some(j) = options
        .jitter
        .filter(|j| !(j.is_finite() && (0.0..=1.0).contains(j)))
    {
        Some(format!("jitter must be between 0 and 1, got {j}"))
    } else if let Some(delay) = [options.base_delay_ms, options.max_delay_ms]
        .into_iter()
        .flatten()
        .find(|ms| u128::from(*ms) > MAX_DURATION_MS)
    {
        Some(format!(
            "retry delays must be at most {MAX_DURATION_MS} ms, got {delay} ms"
        ))
    } else if let (Some(base), Some(max)) = (options.base_delay_ms, options.max_delay_ms) {
        (max < base).then(|| {
            format!("max_delay_ms ({max}) must not be smaller than base_delay_ms ({base})")
        })
    } else {
        None
    };
    match problem {
        Some(message) => Err(ExecutorError::InvalidOptions {
            task_id: task_id.to_owned(),
            what: "retry options",
            message,
        }),
        None => Ok(()),
    }
}

/// Checks a timeout: at least 1 ms, at most ≈ 24 days. Returns milliseconds.
pub(crate) fn validate_timeout(task_id: &str, timeout: Duration) -> Result<u64, ExecutorError> {
    let ms = timeout.as_millis();
    if ms == 0 || ms > MAX_DURATION_MS {
        return Err(ExecutorError::InvalidOptions {
            task_id: task_id.to_owned(),
            what: "timeout value",
            message: format!("must be between 1 ms and {MAX_DURATION_MS} ms, got {ms} ms"),
        });
    }
    Ok(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Checks a sleep before the first run: at most ≈ 24 days. Returns milliseconds.
pub(crate) fn validate_sleep(task_id: &str, sleep: Duration) -> Result<u64, ExecutorError> {
    let ms = sleep.as_millis();
    if ms > MAX_DURATION_MS {
        return Err(ExecutorError::InvalidOptions {
            task_id: task_id.to_owned(),
            what: "sleep before run",
            message: format!("must be at most {MAX_DURATION_MS} ms, got {ms} ms"),
        });
    }
    Ok(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// The effective options of one execution, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Effective {
    pub(crate) timeout_ms: u64,
    pub(crate) retry: RetryOptions,
    pub(crate) sleep_ms: u64,
}

/// Applies validated overrides to a task's defaults.
pub(crate) fn effective_options(
    task_id: &str,
    timeout: Duration,
    retry: &RetryOptions,
    sleep: Duration,
    overrides: &EnqueueOptions,
) -> Result<Effective, ExecutorError> {
    let timeout_ms = validate_timeout(task_id, overrides.timeout.unwrap_or(timeout))?;
    let retry = overrides.retry.clone().unwrap_or_else(|| retry.clone());
    validate_retry_options(task_id, &retry)?;
    let sleep_ms = validate_sleep(task_id, overrides.sleep_before_run.unwrap_or(sleep))?;
    Ok(Effective {
        timeout_ms,
        retry,
        sleep_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), ExecutorError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn metrics_interval_is_off_by_default_and_when_zero() {
        assert_eq!(ExecutorOptions::default().metrics_interval, None);
        let zero = ExecutorOptions::builder().metrics_interval(Duration::ZERO);
        assert_eq!(zero.build().ok().and_then(|o| o.metrics_interval), None);
        let second = ExecutorOptions::builder().metrics_interval(Duration::from_secs(1));
        assert_eq!(
            second.build().ok().and_then(|o| o.metrics_interval),
            Some(Duration::from_secs(1))
        );
        let too_long = ExecutorOptions::builder().metrics_interval(Duration::from_secs(7200));
        assert!(too_long.build().is_err());
    }

    #[test]
    fn task_ids_follow_the_rules() {
        assert!(validate_task_id("valid_id").is_ok());
        assert!(validate_task_id("A1_b2").is_ok());
        assert_eq!(message(validate_task_id("")), "Task id cannot be empty");
        assert_eq!(
            message(validate_task_id(&"a".repeat(256))),
            "Task id cannot be longer than 255 characters"
        );
        assert!(validate_task_id(&"a".repeat(255)).is_ok());
        for bad in [
            "invalid-id",
            "invalid id",
            "$invalid_id",
            "invalid_id ",
            "é",
        ] {
            assert_eq!(
                message(validate_task_id(bad)),
                "Task id can only contain alphanumeric characters and underscores"
            );
        }
    }

    #[test]
    fn retry_options_are_bounded() {
        let ok = RetryOptions {
            max_attempts: 1000,
            base_delay_ms: Some(10),
            delay_multiplier: Some(0.1),
            max_delay_ms: Some(10),
            jitter: Some(1.0),
        };
        assert!(validate_retry_options("t", &ok).is_ok());
        let cases = [
            RetryOptions {
                max_attempts: 1001,
                ..Default::default()
            },
            RetryOptions {
                delay_multiplier: Some(0.05),
                ..Default::default()
            },
            RetryOptions {
                delay_multiplier: Some(f64::NAN),
                ..Default::default()
            },
            RetryOptions {
                jitter: Some(1.5),
                ..Default::default()
            },
            RetryOptions {
                jitter: Some(-0.1),
                ..Default::default()
            },
            RetryOptions {
                base_delay_ms: Some(100),
                max_delay_ms: Some(99),
                ..Default::default()
            },
        ];
        for case in cases {
            let m = message(validate_retry_options("test", &case));
            assert!(
                m.starts_with("Invalid retry options for task test: "),
                "{m}"
            );
        }
    }

    #[test]
    fn timeouts_and_sleeps_are_bounded() {
        assert!(validate_timeout("t", Duration::ZERO).is_err());
        assert_eq!(
            validate_timeout("t", Duration::from_millis(1)).ok(),
            Some(1)
        );
        assert!(
            validate_timeout("test", Duration::from_secs(100 * 24 * 3600))
                .err()
                .is_some_and(|e| e
                    .to_string()
                    .starts_with("Invalid timeout value for task test"))
        );
        assert_eq!(validate_sleep("t", Duration::ZERO).ok(), Some(0));
        assert!(validate_sleep("t", Duration::from_secs(100 * 24 * 3600)).is_err());
    }

    #[test]
    fn overrides_replace_defaults_and_are_validated() {
        let retry = RetryOptions::default();
        let effective = effective_options(
            "t",
            Duration::from_millis(10),
            &retry,
            Duration::ZERO,
            &EnqueueOptions::new().timeout(Duration::from_secs(1)),
        );
        assert_eq!(effective.ok().map(|e| e.timeout_ms), Some(1000));
        assert!(
            effective_options(
                "t",
                Duration::from_millis(10),
                &retry,
                Duration::ZERO,
                &EnqueueOptions::new().timeout(Duration::ZERO),
            )
            .is_err()
        );
    }

    #[test]
    fn executor_options_validate_ranges() {
        assert!(ExecutorOptions::builder().build().is_ok());
        assert!(ExecutorOptions::builder().max_batch(0).build().is_err());
        assert!(
            ExecutorOptions::builder()
                .max_payload_bytes(10)
                .build()
                .is_err()
        );
        assert!(
            ExecutorOptions::builder()
                .poll_interval(Duration::ZERO)
                .build()
                .is_err()
        );
    }

    /// Durations too long for the background loops' arithmetic (jitter is a
    /// float multiplication, deadlines are `now + duration`) are refused
    /// with the option's name instead of panicking a loop later.
    #[test]
    fn huge_durations_are_refused_by_name() {
        let option_of = |builder: ExecutorOptionsBuilder| match builder.build() {
            Err(ExecutorError::InvalidExecutorOption { option, .. }) => option,
            other => panic!("expected an invalid option, got {other:?}"),
        };
        let max = Duration::MAX;
        assert_eq!(
            option_of(ExecutorOptions::builder().poll_interval(max)),
            "poll_interval"
        );
        assert_eq!(
            option_of(ExecutorOptions::builder().wait_poll_interval(max)),
            "wait_poll_interval"
        );
        assert_eq!(
            option_of(ExecutorOptions::builder().lease_slack(max)),
            "lease_slack"
        );
        assert_eq!(option_of(ExecutorOptions::builder().lease(max)), "lease");
        assert_eq!(
            option_of(ExecutorOptions::builder().lease(Duration::from_millis(29))),
            "lease"
        );
        assert_eq!(
            option_of(ExecutorOptions::builder().heartbeat_interval(Duration::ZERO)),
            "heartbeat_interval"
        );
        assert_eq!(
            option_of(
                ExecutorOptions::builder()
                    .lease(Duration::from_secs(2))
                    .heartbeat_interval(Duration::from_secs(2))
            ),
            "heartbeat_interval"
        );
        let options = ExecutorOptions::builder()
            .lease(Duration::from_millis(900))
            .build()
            .unwrap_or_default();
        assert_eq!(
            options.effective_heartbeat_interval(),
            Duration::from_millis(300)
        );
        assert_eq!(
            option_of(ExecutorOptions::builder().error_backoff(Duration::from_millis(1), max)),
            "error_backoff"
        );
        assert_eq!(
            option_of(ExecutorOptions::builder().error_backoff(max, max)),
            "error_backoff"
        );
        // The bounds themselves are accepted.
        assert!(
            ExecutorOptions::builder()
                .poll_interval(MAX_INTERVAL)
                .wait_poll_interval(MAX_INTERVAL)
                .error_backoff(MAX_INTERVAL, MAX_INTERVAL)
                .lease_slack(Duration::from_millis(2_147_483_647))
                .build()
                .is_ok()
        );
        let retry = RetryOptions {
            base_delay_ms: Some(u64::MAX),
            ..Default::default()
        };
        assert!(
            message(validate_retry_options("t", &retry)).contains("retry delays must be at most")
        );
        let retry = RetryOptions {
            max_delay_ms: Some(u64::MAX),
            ..Default::default()
        };
        assert!(validate_retry_options("t", &retry).is_err());
        assert!(
            effective_options(
                "t",
                Duration::MAX,
                &RetryOptions::default(),
                Duration::ZERO,
                &EnqueueOptions::new(),
            )
            .is_err()
        );
    }
}

/// How long finished executions are kept: the executor's background pruner
/// ([`ExecutorOptionsBuilder::retention`]) deletes a whole tree once its
/// top-level execution finished longer ago than the age of its final
/// status and every execution of the tree is finished and closed
/// ([`Storage::prune`](crate::storage::Storage::prune); see
/// `docs/design.md`, "Retention"). The CLI does the same on demand
/// (`durable prune`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// The age of each finished status; a status missing here is kept
    /// forever.
    pub ages: Vec<(ExecutionStatus, Duration)>,
    /// How often the pruner runs (default 5 minutes, jittered ±25 %). A
    /// round deletes batches until one comes back short.
    pub interval: Duration,
    /// Trees (top-level executions) deleted per storage call, each call one
    /// short transaction (default 200: a few milliseconds, so that a write
    /// of the task load never waits long behind one; see
    /// `docs/benchmarks.md`, "Retention").
    pub batch: u32,
    /// After each full batch the pruner rests `rest` times as long as the
    /// batch took before the next one (default 2: busy at most a third of
    /// the time), so that a large backlog never monopolises the database
    /// (on SQLite, its one writer) against the task load; 0 runs the
    /// batches back to back.
    pub rest: u32,
}

impl Default for RetentionPolicy {
    /// Completed trees kept 7 days; `failed`, `timed_out`,
    /// `children_tasks_failed`, `finalize_task_failed` and `cancelled` ones
    /// 30 days (failures are what an operator comes back to look at).
    fn default() -> Self {
        const DAY: Duration = Duration::from_secs(24 * 3600);
        Self::keep_for(30 * DAY).keep(ExecutionStatus::Completed, 7 * DAY)
    }
}

impl RetentionPolicy {
    /// Every finished status kept for `age`.
    pub fn keep_for(age: Duration) -> Self {
        Self {
            ages: ExecutionStatus::ALL
                .into_iter()
                .filter(|s| s.is_finished())
                .map(|s| (s, age))
                .collect(),
            interval: Duration::from_secs(300),
            batch: 200,
            rest: 2,
        }
    }

    /// Trees whose root finished in `status` are kept for `age` (an
    /// active status is ignored: it is never pruned).
    #[must_use]
    pub fn keep(mut self, status: ExecutionStatus, age: Duration) -> Self {
        if status.is_finished() {
            self.ages.retain(|(s, _)| *s != status);
            self.ages.push((status, age));
        }
        self
    }

    /// Trees whose root finished in `status` are never pruned.
    #[must_use]
    pub fn keep_forever(mut self, status: ExecutionStatus) -> Self {
        self.ages.retain(|(s, _)| *s != status);
        self
    }

    /// How often the pruner runs (default 5 minutes).
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Trees deleted per storage call (default 1,000).
    #[must_use]
    pub fn batch(mut self, batch: u32) -> Self {
        self.batch = batch;
        self
    }

    /// Rest between full batches, as a multiple of the time the last batch
    /// took (default 2; 0: back to back). See [`RetentionPolicy::rest`].
    #[must_use]
    pub fn rest(mut self, rest: u32) -> Self {
        self.rest = rest;
        self
    }

    /// The cutoffs at `now`, one per status kept for a while.
    pub fn cutoffs(&self, now: Millis) -> Vec<PruneCutoff> {
        self.ages
            .iter()
            .map(|(status, age)| {
                PruneCutoff::older_than(
                    *status,
                    now,
                    u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
                )
            })
            .collect()
    }
}
