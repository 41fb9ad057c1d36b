//! Long-polls waiting in memory: agents waiting for a snapshot request for their device, and
//! specialists waiting for a request to be done. Whoever changes the store wakes the waiters on
//! that key after the commit; a woken waiter looks at the store again.
//!
//! A waiter listens before it looks, so a change committed between its look and its wait still
//! wakes it. While waiting it holds no database connection, only one map entry per key (shared
//! by the waiters on that key, removed with the last of them) and its own timer.
//!
//! With several replicas on PostgreSQL, [`follow`] wakes this replica's waiters on the changes
//! the other replicas commit.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

use crate::store::{Change, changes};

#[derive(Debug, Default)]
pub struct Waiters {
    /// Keyed by device id: agents polling for requests.
    devices: Registry,
    /// Keyed by snapshot request id: callers waiting for it to be done.
    requests: Registry,
    /// Set at shutdown: every wait ends at once, so polls answer instead of being cut off.
    closing: AtomicBool,
    closed: Notify,
}

impl Waiters {
    /// Wakes the agent polling for `device_id`: a request was created for it.
    pub fn request_created(&self, device_id: Uuid) {
        self.devices.wake(device_id);
    }

    /// Wakes those waiting for request `request_id`: a snapshot may have answered it.
    pub fn request_done(&self, request_id: Uuid) {
        self.requests.wake(request_id);
    }

    /// Wakes every waiter to look again: changes may have been missed (see
    /// [`Change::Resync`]).
    pub fn wake_all(&self) {
        self.devices.wake_all();
        self.requests.wake_all();
    }

    /// Ends every wait now and every later one at once (the server is shutting down).
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.closed.notify_waiters();
    }

    /// Runs `look` until it finds something, again each time a request is created for
    /// `device_id`, until `deadline`. `None` when nothing was found by then.
    pub async fn for_device<T, E, F>(
        &self,
        device_id: Uuid,
        deadline: Instant,
        look: impl FnMut() -> F,
    ) -> Result<Option<T>, E>
    where
        F: Future<Output = Result<Option<T>, E>>,
    {
        self.watch(&self.devices, device_id, deadline, look).await
    }

    /// Runs `look` until it finds something, again each time request `request_id` may have
    /// been done, until `deadline`. `None` when nothing was found by then.
    pub async fn for_request<T, E, F>(
        &self,
        request_id: Uuid,
        deadline: Instant,
        look: impl FnMut() -> F,
    ) -> Result<Option<T>, E>
    where
        F: Future<Output = Result<Option<T>, E>>,
    {
        self.watch(&self.requests, request_id, deadline, look).await
    }

    /// How many keys have waiters (devices, requests).
    pub fn waiting_keys(&self) -> (usize, usize) {
        (self.devices.len(), self.requests.len())
    }

    async fn watch<T, E, F>(
        &self,
        registry: &Registry,
        key: Uuid,
        deadline: Instant,
        mut look: impl FnMut() -> F,
    ) -> Result<Option<T>, E>
    where
        F: Future<Output = Result<Option<T>, E>>,
    {
        let registration = registry.register(key);
        let expired = tokio::time::sleep_until(deadline);
        tokio::pin!(expired);
        loop {
            // Listen first: a wake from here on reaches these futures even before they are
            // polled, so nothing committed after the look below can be missed.
            let woken = registration.notify.notified();
            let closed = self.closed.notified();
            tokio::pin!(woken, closed);
            woken.as_mut().enable();
            closed.as_mut().enable();
            if let Some(found) = look().await? {
                return Ok(Some(found));
            }
            if self.closing.load(Ordering::SeqCst) {
                return Ok(None);
            }
            tokio::select! {
                () = &mut woken => {}
                () = &mut closed => return Ok(None),
                () = &mut expired => return Ok(None),
            }
        }
    }
}

/// Wakes the waiters of this replica on the changes other replicas made, until the store or
/// the waiters are gone.
pub async fn follow(mut changes: changes::Receiver, waiters: Weak<Waiters>) {
    while let Some(change) = changes.recv().await {
        let Some(waiters) = waiters.upgrade() else {
            return;
        };
        match change {
            Change::RequestCreated { device_id } => waiters.request_created(device_id),
            Change::RequestDone { request_id } => waiters.request_done(request_id),
            Change::Resync => waiters.wake_all(),
            // The store forgot the agent's key itself.
            Change::AgentRevoked { .. } => {}
        }
    }
}

/// The waiters on each key, sharing one [`Notify`] per key.
#[derive(Debug, Default)]
struct Registry {
    slots: Mutex<HashMap<Uuid, Slot>>,
}

#[derive(Debug)]
struct Slot {
    notify: Arc<Notify>,
    waiters: usize,
}

impl Registry {
    fn register(&self, key: Uuid) -> Registration<'_> {
        // Nothing panics while holding the lock, so a poisoned map is still consistent.
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(key).or_insert_with(|| Slot {
            notify: Arc::default(),
            waiters: 0,
        });
        slot.waiters += 1;
        Registration {
            registry: self,
            key,
            notify: slot.notify.clone(),
        }
    }

    fn wake(&self, key: Uuid) {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(&key) {
            slot.notify.notify_waiters();
        }
    }

    fn wake_all(&self) {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        for slot in slots.values() {
            slot.notify.notify_waiters();
        }
    }

    fn len(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One waiter on a key; dropping it (the poll ended, answered or cancelled) removes the key's
/// entry with its last waiter.
#[derive(Debug)]
struct Registration<'a> {
    registry: &'a Registry,
    key: Uuid,
    notify: Arc<Notify>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut slots = self
            .registry
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Entry::Occupied(mut slot) = slots.entry(self.key) {
            slot.get_mut().waiters -= 1;
            if slot.get().waiters == 0 {
                slot.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    fn soon(millis: u64) -> Instant {
        Instant::now() + Duration::from_millis(millis)
    }

    #[tokio::test]
    async fn a_wake_between_look_and_wait_is_not_lost() {
        let waiters = Waiters::default();
        let device = Uuid::now_v7();
        let looks = AtomicUsize::new(0);
        // The first look finds nothing and, before the wait starts, the request arrives.
        let found = waiters
            .for_device(device, soon(5_000), || {
                let look = looks.fetch_add(1, Ordering::SeqCst);
                if look == 0 {
                    waiters.request_created(device);
                }
                async move { Ok::<_, ()>((look > 0).then_some(look)) }
            })
            .await;
        assert_eq!(found, Ok(Some(1)));
        assert_eq!(waiters.waiting_keys(), (0, 0));
    }

    #[tokio::test]
    async fn waits_end_at_the_deadline_and_leave_no_entry() {
        let waiters = Waiters::default();
        let started = Instant::now();
        let found = waiters
            .for_request(Uuid::now_v7(), soon(50), || async {
                Ok::<Option<()>, ()>(None)
            })
            .await;
        assert_eq!(found, Ok(None));
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(waiters.waiting_keys(), (0, 0));
    }

    #[tokio::test]
    async fn entries_are_shared_per_key_and_removed_with_the_last_waiter() {
        let waiters = Waiters::default();
        let device = Uuid::now_v7();
        let first = waiters.devices.register(device);
        let second = waiters.devices.register(device);
        let other = waiters.devices.register(Uuid::now_v7());
        assert!(Arc::ptr_eq(&first.notify, &second.notify));
        assert_eq!(waiters.waiting_keys(), (2, 0));
        drop(first);
        assert_eq!(waiters.waiting_keys(), (2, 0));
        drop((second, other));
        assert_eq!(waiters.waiting_keys(), (0, 0));
    }

    #[tokio::test]
    async fn closing_ends_waits_now_and_later() {
        let waiters = Waiters::default();
        let nothing = || async { Ok::<Option<()>, ()>(None) };
        let started = Instant::now();
        let (waited, ()) = tokio::join!(
            waiters.for_device(Uuid::now_v7(), soon(5_000), nothing),
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                waiters.close();
            }
        );
        assert_eq!(waited, Ok(None));
        let later = waiters
            .for_device(Uuid::now_v7(), soon(5_000), nothing)
            .await;
        assert_eq!(later, Ok(None));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
