//! `Shared<T>`: one feature record behind a reference count, so that copying a dataset (what a
//! catch-up patches, what a snapshot keeps) copies pointers rather than 200,000 polygons.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A record shared between datasets. Reads go through `Deref`; a write through `DerefMut`
/// copies the record first when another dataset shares it (copy on write), so a change to one
/// dataset never shows in another.
#[derive(Debug, Default)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Shared<T> {
        Shared(Arc::new(value))
    }

    /// Whether `a` and `b` are the same record (not merely equal ones): a record a catch-up did
    /// not touch is the same in both datasets, which settles a comparison without reading it.
    pub fn same(a: &Shared<T>, b: &Shared<T>) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

/// Equal records; the same record is equal without reading it.
impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Shared::same(self, other) || *self.0 == *other.0
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

/// Each record of `records`, to be shared.
pub fn share<T>(records: Vec<T>) -> Vec<Shared<T>> {
    records.into_iter().map(Shared::new).collect()
}

/// Copies of `records`, apart from any dataset.
pub fn unshare<T: Clone>(records: &[Shared<T>]) -> Vec<T> {
    records.iter().map(|r| T::clone(r)).collect()
}

impl<T> AsRef<T> for Shared<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

impl<T> std::borrow::Borrow<T> for Shared<T> {
    fn borrow(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::Shared;

    #[test]
    fn a_write_to_a_shared_record_leaves_the_other_dataset_as_it_was() {
        let a = vec![Shared::new(String::from("丹阳"))];
        let mut b = a.clone();
        assert!(Shared::same(&a[0], &b[0]));
        b[0].push('市');
        assert_eq!((a[0].as_str(), b[0].as_str()), ("丹阳", "丹阳市"));
        assert!(!Shared::same(&a[0], &b[0]));
    }
}
