//! An event as stored: what was reported and where it was routed at intake (`Event`, written
//! once), and every step of its life (`Step`, appended, never changed). Its state (`Case`) is the
//! fold of its steps: nothing about a case is stored that its steps do not say.

use super::Severity;
use super::lifecycle::{Action, Status, next_holder};

/// Who reported the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    GridWorker,
    Hotline,
    Public,
    Sensor,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::GridWorker,
        Source::Hotline,
        Source::Public,
        Source::Sensor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Source::GridWorker => "grid_worker",
            Source::Hotline => "hotline",
            Source::Public => "public",
            Source::Sensor => "sensor",
        }
    }

    pub fn parse(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The person who reported it (personal data: staff of the event's area see it, nobody else).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reporter {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// What was reported and where it went at intake. Written once.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The store's id (0 until stored).
    pub id: u64,
    /// Unix milliseconds.
    pub reported_at_ms: i64,
    /// WGS84.
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub severity: Severity,
    pub source: Source,
    pub text: String,
    pub address: Option<String>,
    pub reporter: Option<Reporter>,
    pub town: String,
    pub village: Option<String>,
    /// The grid responsible; `None` in a gap between grids.
    pub grid: Option<String>,
    /// The post to help.
    pub post: Option<u64>,
    /// Whether `post` offers the category's service (else it is the nearest of any kind).
    pub post_offers_service: bool,
    /// Other grids within 30 m: routed to `grid`, flagged for confirmation.
    pub near_boundary: Vec<String>,
    /// When it must be closed (Unix milliseconds), from its severity.
    pub deadline_ms: i64,
    /// The SHA-256 (hex) of the reporter's evaluation link, if one was given out.
    pub evaluation_sha256: Option<String>,
}

impl Event {
    /// The most specific unit holding the event's point: its grid, else its village, else town.
    pub fn unit(&self) -> &str {
        self.grid
            .as_deref()
            .or(self.village.as_deref())
            .unwrap_or(&self.town)
    }

    /// Where a new case is held: the village (staff of the level above see and may act too).
    pub fn home(&self) -> &str {
        self.village.as_deref().unwrap_or(&self.town)
    }
}

/// One step of an event's life. Appended, never changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The store's sequence number over all events' steps (0 until stored): followers read
    /// "everything after N".
    pub seq: u64,
    pub event_id: u64,
    /// The step's number within its event: 0 is the report, then 1, 2, …; the store refuses a
    /// second step with the same number, so two replicas cannot both move a case from one state.
    pub n: u32,
    pub action: Action,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The account's name; `reporter` for the reporter's evaluation, `public` for a report
    /// without an account.
    pub actor: String,
    /// Dispatch: the unit code (or `member:ID`) the case goes to.
    pub to: Option<String>,
    pub note: Option<String>,
    /// Evaluate: 1-5.
    pub rating: Option<u8>,
}

/// One entry of the event log: a step, with the event when the step is its report.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub step: Step,
    pub event: Option<Event>,
}

impl Entry {
    /// The report of a new event by `actor`, at the event's time (ids come from the store).
    pub fn report(event: Event, actor: &str) -> Entry {
        Entry {
            step: Step {
                seq: 0,
                event_id: event.id,
                n: 0,
                action: Action::Report,
                at_ms: event.reported_at_ms,
                actor: actor.to_string(),
                to: None,
                note: None,
                rating: None,
            },
            event: Some(event),
        }
    }
}

/// An event and where its life stands: the fold of its steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub event: Event,
    pub steps: Vec<Step>,
    pub status: Status,
    /// The unit whose staff hold the case (accept, dispatch, close, escalate): a village, town,
    /// or the county's code once escalated to the city.
    pub holder: String,
    /// The unit (or `member:ID`) it is dispatched to, while it is.
    pub assignee: Option<String>,
    /// When it was closed (Unix milliseconds).
    pub closed_ms: Option<i64>,
    pub rating: Option<u8>,
}

impl Case {
    /// A case just reported.
    pub fn new(event: Event, report: Step) -> Case {
        let holder = event.home().to_string();
        Case {
            event,
            steps: vec![report],
            status: Status::Reported,
            holder,
            assignee: None,
            closed_ms: None,
            rating: None,
        }
    }

    /// Apply a step the lifecycle allowed (the store's steps are replayed through here).
    pub fn apply(&mut self, step: Step) {
        let (status, holder) = next_holder(self, step.action);
        self.status = status;
        self.holder = holder;
        match step.action {
            Action::Dispatch => self.assignee = step.to.clone(),
            Action::Close => self.closed_ms = Some(step.at_ms),
            Action::Evaluate => self.rating = step.rating,
            Action::Escalate => self.assignee = None,
            Action::Return if self.status != Status::Dispatched => self.assignee = None,
            _ => {}
        }
        self.steps.push(step);
    }

    /// The number the next step takes.
    pub fn next_n(&self) -> u32 {
        self.steps.last().map_or(0, |s| s.n + 1)
    }

    /// Still to be closed.
    pub fn open(&self) -> bool {
        !matches!(self.status, Status::Closed | Status::Evaluated)
    }

    /// Open past its deadline at `now_ms`.
    pub fn overdue_at(&self, now_ms: i64) -> bool {
        self.open() && now_ms > self.event.deadline_ms
    }

    /// Closed by its deadline (`None` while open).
    pub fn on_time(&self) -> Option<bool> {
        self.closed_ms.map(|c| c <= self.event.deadline_ms)
    }
}

/// Where "now" comes from: the system clock in a server, a hand-set one in tests (deadlines are
/// tested without sleeping).
pub trait Clock: Send + Sync {
    /// Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock that stands still until moved.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn at(ms: i64) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicI64::new(ms))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
