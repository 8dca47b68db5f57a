//! The event desk: one writer thread per server takes reports and transitions from a queue,
//! decides each transition against the case as it stands (so of two steps asked at once, the
//! second is judged after the first), writes everything waiting in one store transaction (group
//! commit: a burst of reports costs one commit, not one each), then applies what was stored to
//! the book and answers. A 201 is only sent after the commit. The follower brings in other
//! replicas' entries (`catch_up`); entries reach `subscribe`rs (the event stream) in log order.
//!
//! Knows nothing of HTTP: `http::events` parses requests and words the refusals.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use tokio::sync::{broadcast, oneshot};

use crate::events::lifecycle::{Ask, Capacity, Refusal, decide};
use crate::events::{Action, Book, Case, Categories, Clock, Entry, Event, Step};
use crate::store::Store;
use crate::{Error, StoreFailure};

/// Entries one transaction writes at most.
const MAX_BATCH: usize = 512;
/// Requests waiting at most; beyond, a report is refused (503) rather than queued without end.
const MAX_QUEUED: usize = 20_000;
/// Entries one read of the log returns at most (a server far behind reads in turns). Small, so
/// PostgreSQL reads them by the primary key even on stale statistics (with 20,000, it chose to
/// scan the whole table, and every read grew with the log).
const READ_BATCH: usize = 2_000;

/// In which capacities the caller acts on a case, decided by the writer on the case as it stands;
/// or why the step cannot be taken on it whoever asks (a dispatch target outside the holder's
/// area).
pub type CapacityOf = Box<dyn Fn(&Case) -> Result<Capacity, Refusal> + Send>;

/// What the desk is asked to do.
pub enum Request {
    /// A new event, routed and checked.
    Report(Box<Event>, String),
    /// A step on event `event_id` by `actor`.
    Step {
        event_id: u64,
        action: Action,
        ask: Ask,
        actor: String,
        capacity: CapacityOf,
    },
}

/// Why the desk did not store a request.
#[derive(Debug)]
pub enum DeskError {
    /// No such event.
    NotFound(u64),
    /// The lifecycle refused the step.
    Refused(Refusal),
    /// Another server took a step on the case first: read it again.
    Conflict(String),
    /// Too many requests waiting.
    Busy,
    /// The store failed; nothing was written (or, `Uncertain`, perhaps it was).
    Store(Error),
}

type Reply = oneshot::Sender<Result<Entry, DeskError>>;

/// What the writer thread and the handlers share.
struct Shared {
    store: Arc<dyn Store>,
    book: RwLock<Book>,
    clock: Arc<dyn Clock>,
    categories: Arc<Categories>,
    stream: broadcast::Sender<Arc<Entry>>,
}

/// The desk of one server.
pub struct Desk {
    shared: Arc<Shared>,
    queue: SyncSender<(Request, Reply)>,
}

impl Desk {
    /// Read the whole event log into a new book and start the writer (it ends with the desk).
    pub fn start(
        store: Arc<dyn Store>,
        categories: Categories,
        clock: Arc<dyn Clock>,
    ) -> crate::Result<Desk> {
        let (stream, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            store,
            book: RwLock::new(Book::default()),
            clock,
            categories: Arc::new(categories),
            stream,
        });
        shared.catch_up()?;
        let (queue, requests) = sync_channel(MAX_QUEUED);
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("event-desk".into())
            .spawn(move || writer.run(requests))
            .map_err(|e| Error::store(writer_name(), e))?;
        Ok(Desk { shared, queue })
    }

    /// Ask for a report or a step; the answer comes once it is stored (or refused).
    pub async fn submit(&self, request: Request) -> Result<Entry, DeskError> {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send((request, reply)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(DeskError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(DeskError::Store(Error::store(
                    writer_name(),
                    "the event writer has stopped",
                )));
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(DeskError::Store(Error::store(
                writer_name(),
                "the event writer stopped before answering",
            )))
        })
    }

    /// The book, for reading.
    pub fn book(&self) -> RwLockReadGuard<'_, Book> {
        self.shared.book()
    }

    pub fn now_ms(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    pub fn categories(&self) -> &Categories {
        &self.shared.categories
    }

    /// Bring in the entries other servers wrote; how many.
    pub fn catch_up(&self) -> crate::Result<usize> {
        self.shared.catch_up()
    }

    /// Every entry applied from now on, in log order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Entry>> {
        self.shared.stream.subscribe()
    }
}

fn writer_name() -> &'static str {
    "event desk"
}

impl Shared {
    fn book(&self) -> RwLockReadGuard<'_, Book> {
        self.book.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Apply entries read from the log to the book and pass the new ones to the stream, under
    /// the book's lock, so subscribers get them in sequence order whichever thread applies.
    fn apply(&self, entries: Vec<Entry>) -> usize {
        let mut book = self.book.write().unwrap_or_else(|e| e.into_inner());
        let applied = book.apply(entries);
        for entry in &applied {
            let _ = self.stream.send(Arc::new(entry.clone()));
        }
        applied.len()
    }

    fn catch_up(&self) -> crate::Result<usize> {
        let mut total = 0;
        loop {
            let after = self.book().last_seq();
            let entries = self.store.events_since(after, READ_BATCH)?;
            let n = entries.len();
            total += self.apply(entries);
            if n < READ_BATCH {
                return Ok(total);
            }
        }
    }

    fn run(&self, requests: Receiver<(Request, Reply)>) {
        while let Ok(first) = requests.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let started = std::time::Instant::now();
            let size = batch.len();
            if let Err(e) = self.catch_up() {
                tracing::warn!(error = %e, "event desk: could not read the log before writing");
            }
            let read = started.elapsed();
            self.write(batch);
            tracing::debug!(
                size,
                read_us = read.as_micros() as u64,
                total_us = started.elapsed().as_micros() as u64,
                "event batch"
            );
        }
    }

    /// Decide every request of `batch`, write the accepted ones in one transaction, answer all.
    fn write(&self, batch: Vec<(Request, Reply)>) {
        let now_ms = self.clock.now_ms();
        let mut entries: Vec<Entry> = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        // Cases as this batch leaves them, so two steps on one case in one batch follow each other.
        let mut moved: HashMap<u64, Case> = HashMap::new();
        for (request, reply) in batch {
            match self.prepare(request, now_ms, &mut moved) {
                Ok(entry) => {
                    entries.push(entry);
                    replies.push(reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if entries.is_empty() {
            return;
        }
        match self.store.append_events(&entries) {
            Ok(stored) => {
                self.caught_up_after_commit(&stored);
                for (reply, entry) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(entry));
                }
            }
            // One entry the store refused (another server took a step first, a value it cannot
            // hold) must not sink the others: write them one by one. Never after an uncertain
            // commit or an unreachable store.
            Err(Error::Store {
                failure: StoreFailure::Rejected | StoreFailure::Failed,
                ..
            }) if entries.len() > 1 => {
                // A step decided on top of an earlier step of the same case that failed cannot
                // stand either.
                let mut failed: std::collections::HashSet<u64> = Default::default();
                for (reply, entry) in replies.into_iter().zip(entries) {
                    let event = entry.step.event_id;
                    let answer = if entry.event.is_none() && failed.contains(&event) {
                        Err(DeskError::Conflict(format!(
                            "event {event}: an earlier step asked at the same moment failed; read it again"
                        )))
                    } else {
                        self.write_one(entry)
                    };
                    if answer.is_err() && event != 0 {
                        failed.insert(event);
                    }
                    let _ = reply.send(answer);
                }
            }
            Err(e) if entries.len() == 1 => {
                let entry = entries.pop().expect("one entry");
                let answer = self.refused(entry, e);
                if let Some(reply) = replies.pop() {
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                let _ = reply_all(replies, &e);
            }
        }
    }

    /// Read the log after a commit (ours and whatever another server committed before it), rather
    /// than applying what we stored: applying ours alone would move the book past an entry of
    /// another server committed between our last read and our commit, and skip it for good.
    /// When that read fails (the store went away just after), what was stored is applied, so
    /// the answer can show it.
    fn caught_up_after_commit(&self, stored: &[Entry]) {
        if let Err(e) = self.catch_up() {
            tracing::warn!(error = %e, "event desk: could not read the log after a commit");
            self.apply(stored.to_vec());
        }
    }

    fn write_one(&self, entry: Entry) -> Result<Entry, DeskError> {
        match self.store.append_events(std::slice::from_ref(&entry)) {
            Ok(mut stored) => {
                self.caught_up_after_commit(&stored);
                stored.pop().ok_or_else(|| {
                    DeskError::Store(Error::store(writer_name(), "the store stored nothing"))
                })
            }
            Err(e) => self.refused(entry, e),
        }
    }

    /// The answer to one entry the store refused: a step's refusal by the store is another
    /// server's step on the same case (409, read it again); anything else the store's error.
    fn refused(&self, entry: Entry, e: Error) -> Result<Entry, DeskError> {
        match e {
            Error::Store {
                failure: StoreFailure::Rejected,
                message,
                ..
            } if entry.event.is_none() => {
                let _ = self.catch_up();
                Err(DeskError::Conflict(format!(
                    "event {} changed meanwhile (another server took a step on it): read it again ({message})",
                    entry.step.event_id
                )))
            }
            e => Err(DeskError::Store(e)),
        }
    }

    /// The entry a request writes, or why it is refused.
    fn prepare(
        &self,
        request: Request,
        now_ms: i64,
        moved: &mut HashMap<u64, Case>,
    ) -> Result<Entry, DeskError> {
        match request {
            Request::Report(event, actor) => Ok(Entry::report(*event, &actor)),
            Request::Step {
                event_id,
                action,
                ask,
                actor,
                capacity,
            } => {
                let mut case = match moved.remove(&event_id) {
                    Some(case) => case,
                    None => self
                        .book()
                        .get(event_id)
                        .cloned()
                        .ok_or(DeskError::NotFound(event_id))?,
                };
                let outcome = capacity(&case).and_then(|c| decide(&case, action, c, &ask));
                let entry = outcome.map(|()| Entry {
                    step: Step {
                        seq: 0,
                        event_id,
                        n: case.next_n(),
                        action,
                        at_ms: now_ms,
                        actor,
                        to: ask.to.filter(|_| action == Action::Dispatch),
                        note: ask.note.map(|n| n.trim().to_string()),
                        rating: ask.rating,
                    },
                    event: None,
                });
                if let Ok(entry) = &entry {
                    case.apply(entry.step.clone());
                }
                moved.insert(event_id, case);
                entry.map_err(DeskError::Refused)
            }
        }
    }
}

/// Answer every request with (a copy of) the store's error.
fn reply_all(replies: Vec<Reply>, e: &Error) -> usize {
    let (path, failure, message) = match e {
        Error::Store {
            path,
            failure,
            message,
        } => (path.clone(), *failure, message.clone()),
        other => (
            writer_name().to_string(),
            StoreFailure::Failed,
            other.to_string(),
        ),
    };
    tracing::warn!(error = %e, requests = replies.len(), "event desk: a write failed");
    let n = replies.len();
    for reply in replies {
        let _ = reply.send(Err(DeskError::Store(Error::store_failure(
            path.clone(),
            failure,
            message.clone(),
        ))));
    }
    n
}
