//! `Shared<T>`: one feature record behind a reference count, so that copying a dataset (what a
//! catch-up patches, what a snapshot keeps) copies pointers rather than 200,000 polygons.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A record shared between datasets. Reads go through `Deref`; a write through `DerefMut`
/// copies the record first when another dataset shares it (copy on write), so a change to one
/// dataset never shows in another.
pub struct Shared<T>(Arc<Record<T>>);

/// The value, and whether it passed the checks of its own fields (`model::validate`).
struct Record<T> {
    value: T,
    checked: AtomicBool,
}

impl<T: Clone> Clone for Record<T> {
    /// A copy is made to be written: it is not checked.
    fn clone(&self) -> Self {
        Record {
            value: self.value.clone(),
            checked: AtomicBool::new(false),
        }
    }
}

impl<T> Shared<T> {
    pub fn new(value: T) -> Shared<T> {
        Shared(Arc::new(Record {
            value,
            checked: AtomicBool::new(false),
        }))
    }

    /// Whether `a` and `b` are the same record (not merely equal ones): a record a catch-up did
    /// not touch is the same in both datasets, which settles a comparison without reading it.
    pub fn same(a: &Shared<T>, b: &Shared<T>) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// Whether this record passed the checks of its own fields before. A record never changes
    /// (a write goes to a copy, which is unchecked), so a write validates only the records it
    /// brings and those it reads anew, not the 200,000 others every dataset shares.
    pub fn checked(&self) -> bool {
        // A cache of a function of the (immutable) value: no ordering with other memory needed.
        self.0.checked.load(Ordering::Relaxed)
    }

    /// Note that this record passed the checks of its own fields.
    pub fn mark_checked(&self) {
        self.0.checked.store(true, Ordering::Relaxed);
    }
}

impl<T: Default> Default for Shared<T> {
    fn default() -> Self {
        Shared::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.value.fmt(f)
    }
}

/// Equal records; the same record is equal without reading it.
impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Shared::same(self, other) || self.0.value == other.0.value
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
        &self.0.value
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        let record = Arc::make_mut(&mut self.0);
        // About to change: its checks no longer hold.
        *record.checked.get_mut() = false;
        &mut record.value
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
        &self.0.value
    }
}

impl<T> std::borrow::Borrow<T> for Shared<T> {
    fn borrow(&self) -> &T {
        &self.0.value
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

    #[test]
    fn a_written_record_is_unchecked_and_the_other_keeps_its_mark() {
        let mut a = vec![Shared::new(String::from("丹阳"))];
        a[0].mark_checked();
        let mut b = a.clone();
        assert!(b[0].checked(), "the same record");
        b[0].push('市');
        assert!(!b[0].checked(), "a copy, changed");
        assert!(a[0].checked());
        // Written in place (no other dataset holds it): unchecked too.
        a[0].push('市');
        assert!(!a[0].checked());
    }
}
