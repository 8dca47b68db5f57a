use super::*;
use crate::events::Severity;
use crate::events::model::{Event, Source, Step};

/// The lifecycle as the issue states it, written as a grid independently of `RULES`: per state,
/// per action (accept, dispatch, handle, close, evaluate, escalate, return), who may take it:
/// `H` the holder's staff, `A` the assignee, `HR` the holder's staff or the reporter, `-` nobody.
const EXPECTED: &str = "
reported    H  -  -  -  -   H  H
accepted    -  H  -  -  -   H  H
dispatched  -  -  A  -  -   -  A
handled     -  -  -  H  -   -  H
closed      -  -  -  -  HR  -  -
evaluated   -  -  -  -  -   -  -
";

const COLUMNS: [Action; 7] = [
    Action::Accept,
    Action::Dispatch,
    Action::Handle,
    Action::Close,
    Action::Evaluate,
    Action::Escalate,
    Action::Return,
];

fn event() -> Event {
    Event {
        id: 7,
        reported_at_ms: 0,
        lon: 119.6,
        lat: 32.0,
        category: "dispute".into(),
        severity: Severity::Yellow,
        source: Source::Hotline,
        text: "t".into(),
        address: None,
        reporter: None,
        town: "321181100".into(),
        village: Some("321181100001".into()),
        grid: Some("321181100001002".into()),
        post: None,
        post_offers_service: false,
        near_boundary: Vec::new(),
        deadline_ms: 24 * 3_600_000,
        evaluation_sha256: None,
    }
}

fn step(case: &Case, action: Action) -> Step {
    Step {
        seq: 0,
        event_id: case.event.id,
        n: case.next_n(),
        action,
        at_ms: 1_000 * i64::from(case.next_n()),
        actor: "t".into(),
        to: (action == Action::Dispatch).then(|| "321181100001002".into()),
        note: Some("why".into()),
        rating: (action == Action::Evaluate).then_some(4),
    }
}

/// A full ask for any action.
fn ask() -> Ask {
    Ask {
        to: Some("321181100001002".into()),
        note: Some("a reason".into()),
        rating: Some(4),
    }
}

const EVERYONE: Capacity = Capacity {
    holder: true,
    assignee: true,
    reporter: true,
};

/// Take `actions` from a new case, each allowed to a caller in every capacity.
fn walk(actions: &[Action]) -> Case {
    let e = event();
    let report = Step {
        seq: 0,
        event_id: e.id,
        n: 0,
        action: Action::Report,
        at_ms: 0,
        actor: "public".into(),
        to: None,
        note: None,
        rating: None,
    };
    let mut case = Case::new(e, report);
    for &a in actions {
        decide(&case, a, EVERYONE, &ask()).unwrap_or_else(|r| panic!("{a:?}: {r:?}"));
        let s = step(&case, a);
        case.apply(s);
    }
    case
}

/// A case in `status`, held by the town (so escalating and returning down are both possible).
fn case_in(status: Status) -> Case {
    let mut path = vec![Action::Escalate];
    path.extend(match status {
        Status::Reported => vec![],
        Status::Accepted => vec![Action::Accept],
        Status::Dispatched => vec![Action::Accept, Action::Dispatch],
        Status::Handled => vec![Action::Accept, Action::Dispatch, Action::Handle],
        Status::Closed => vec![
            Action::Accept,
            Action::Dispatch,
            Action::Handle,
            Action::Close,
        ],
        Status::Evaluated => vec![
            Action::Accept,
            Action::Dispatch,
            Action::Handle,
            Action::Close,
            Action::Evaluate,
        ],
    });
    let case = walk(&path);
    assert_eq!(case.status, status);
    assert_eq!(case.holder, "321181100");
    case
}

#[test]
fn every_step_from_every_state_by_every_capacity_follows_the_table() {
    let capacities: Vec<Capacity> = (0..8)
        .map(|bits| Capacity {
            holder: bits & 1 != 0,
            assignee: bits & 2 != 0,
            reporter: bits & 4 != 0,
        })
        .collect();
    let mut checked = 0;
    for line in EXPECTED.lines().filter(|l| !l.trim().is_empty()) {
        let mut cells = line.split_whitespace();
        let status = Status::parse(cells.next().unwrap()).unwrap();
        let case = case_in(status);
        for (action, who) in COLUMNS.iter().zip(cells) {
            for &cap in &capacities {
                let got = decide(&case, *action, cap, &ask());
                let may = match who {
                    "-" => None,
                    "H" => Some(cap.holder),
                    "A" => Some(cap.assignee),
                    "HR" => Some(cap.holder || cap.reporter),
                    other => panic!("unknown cell {other}"),
                };
                match may {
                    None => assert!(
                        matches!(got, Err(Refusal::State(_))),
                        "{status:?} {action:?} {cap:?}: {got:?}"
                    ),
                    Some(false) => assert!(
                        matches!(got, Err(Refusal::Role(_))),
                        "{status:?} {action:?} {cap:?}: {got:?}"
                    ),
                    Some(true) => assert_eq!(got, Ok(()), "{status:?} {action:?} {cap:?}"),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6 * 7 * 8);
    // And the table has no rule the grid lacks: one rule per non-empty cell.
    let cells = EXPECTED
        .split_whitespace()
        .filter(|c| ["H", "A", "HR"].contains(c))
        .count();
    assert_eq!(RULES.len(), cells);
}

#[test]
fn escalation_climbs_to_the_city_and_return_comes_back_down() {
    let mut case = walk(&[]);
    assert_eq!(case.holder, "321181100001");
    for (holder, status) in [
        ("321181100", Status::Reported),
        ("321181", Status::Reported),
    ] {
        let s = step(&case, Action::Escalate);
        case.apply(s);
        assert_eq!((case.holder.as_str(), case.status), (holder, status));
    }
    // The city has no level above.
    assert!(matches!(
        decide(&case, Action::Escalate, EVERYONE, &ask()),
        Err(Refusal::State(m)) if m.contains("no level above")
    ));
    for holder in ["321181100", "321181100001"] {
        decide(&case, Action::Return, EVERYONE, &ask()).unwrap();
        let s = step(&case, Action::Return);
        case.apply(s);
        assert_eq!(case.holder, holder);
        assert_eq!(case.status, Status::Reported);
    }
    // Home: nothing below to return to.
    assert!(matches!(
        decide(&case, Action::Return, EVERYONE, &ask()),
        Err(Refusal::State(m)) if m.contains("no level below")
    ));
}

#[test]
fn a_dispatched_case_returned_goes_back_to_its_dispatcher_and_a_handled_one_to_its_handler() {
    let mut case = walk(&[Action::Accept, Action::Dispatch]);
    assert_eq!(case.assignee.as_deref(), Some("321181100001002"));
    let s = step(&case, Action::Return);
    case.apply(s);
    assert_eq!(case.status, Status::Accepted);
    assert_eq!(case.assignee, None);
    for a in [Action::Dispatch, Action::Handle, Action::Return] {
        let s = step(&case, a);
        case.apply(s);
    }
    assert_eq!(case.status, Status::Dispatched);
    assert_eq!(case.assignee.as_deref(), Some("321181100001002"));
    assert_eq!(case.holder, "321181100001");
}

#[test]
fn missing_fields_are_named() {
    let accepted = walk(&[Action::Accept]);
    let none = Ask::default();
    assert!(matches!(
        decide(&accepted, Action::Dispatch, EVERYONE, &none),
        Err(Refusal::Field("to", _))
    ));
    assert!(matches!(
        decide(&accepted, Action::Escalate, EVERYONE, &none),
        Err(Refusal::Field("note", _))
    ));
    let closed = walk(&[
        Action::Accept,
        Action::Dispatch,
        Action::Handle,
        Action::Close,
    ]);
    for rating in [None, Some(0), Some(6)] {
        let ask = Ask {
            rating,
            ..Ask::default()
        };
        assert!(matches!(
            decide(&closed, Action::Evaluate, EVERYONE, &ask),
            Err(Refusal::Field("rating", _))
        ));
    }
}

#[test]
fn deadlines_and_overdue_follow_the_clock() {
    let open = walk(&[Action::Accept]);
    let deadline = open.event.deadline_ms;
    assert!(!open.overdue_at(deadline));
    assert!(open.overdue_at(deadline + 1));
    assert_eq!(open.on_time(), None);
    // Closed at step 4 (4 s): on time; a closed case is never overdue.
    let closed = walk(&[
        Action::Accept,
        Action::Dispatch,
        Action::Handle,
        Action::Close,
    ]);
    assert_eq!(closed.closed_ms, Some(4_000));
    assert_eq!(closed.on_time(), Some(true));
    assert!(!closed.overdue_at(deadline * 10));
}

#[test]
fn a_worklist_is_offered_what_each_capacity_may_take_by_hand() {
    use Action::*;
    let holder = Capacity {
        holder: true,
        ..Capacity::default()
    };
    let assignee = Capacity {
        assignee: true,
        ..Capacity::default()
    };
    // At home (the village): nothing below to return it to.
    let reported = walk(&[]);
    assert_eq!(offered(&reported, holder), [Accept, Escalate]);
    assert_eq!(offered(&reported, assignee), []);
    // Held by the town: it may be returned down.
    assert_eq!(
        offered(&case_in(Status::Reported), holder),
        [Accept, Escalate, Return]
    );
    let dispatched = case_in(Status::Dispatched);
    assert_eq!(offered(&dispatched, assignee), [Handle, Return]);
    assert_eq!(offered(&dispatched, holder), []);
    assert_eq!(offered(&case_in(Status::Handled), holder), [Close, Return]);
    assert_eq!(offered(&case_in(Status::Handled), assignee), []);
    assert_eq!(offered(&case_in(Status::Closed), holder), [Evaluate]);
    assert_eq!(offered(&case_in(Status::Evaluated), holder), []);
}
