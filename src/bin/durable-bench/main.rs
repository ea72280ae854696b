//! Placeholder replaced by the benchmark program.
fn main() {}
