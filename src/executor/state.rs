//! Shared application state: values registered once on the
//! [`ExecutorBuilder`](super::ExecutorBuilder) and read by type from every
//! run's [`TaskContext`](super::TaskContext).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

/// Values keyed by their type, each behind an `Arc`.
#[derive(Default)]
pub(crate) struct StateMap {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    /// Type names, for `Debug`.
    names: Vec<&'static str>,
}

impl StateMap {
    /// Adds `value` (replacing an earlier value of the same type).
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        if self.values.insert(TypeId::of::<T>(), value).is_none() {
            self.names.push(std::any::type_name::<T>());
        }
    }

    /// The value of type `T`, if one was added.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.values
            .get(&TypeId::of::<T>())
            .cloned()
            .and_then(|value| value.downcast::<T>().ok())
    }
}

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_by_type() {
        let mut state = StateMap::default();
        state.insert(Arc::new(7_u32));
        state.insert(Arc::new(String::from("a")));
        state.insert(Arc::new(String::from("b")));
        assert_eq!(state.get::<u32>().as_deref(), Some(&7));
        assert_eq!(
            state.get::<String>().as_deref().map(String::as_str),
            Some("b")
        );
        assert!(state.get::<u64>().is_none());
        assert_eq!(format!("{state:?}"), "[\"u32\", \"alloc::string::String\"]");
    }
}
