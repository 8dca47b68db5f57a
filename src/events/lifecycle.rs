//! An event's life, from one table (`RULES`): which step may be taken from which state, by whom
//! (the staff holding the case, the unit it was dispatched to, or the reporter), and where it
//! leads. Escalation (上报) moves the case to the level above (village → town → city); return
//! (退回) sends it back down: an escalated case to the level it came from, a dispatched one back
//! to its dispatcher, a handled one back to its handler.

use super::model::Case;

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Reported,
    /// 签收
    Accepted,
    /// 派遣
    Dispatched,
    /// 处置
    Handled,
    /// 办结
    Closed,
    Evaluated,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Reported,
        Status::Accepted,
        Status::Dispatched,
        Status::Handled,
        Status::Closed,
        Status::Evaluated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Accepted => "accepted",
            Status::Dispatched => "dispatched",
            Status::Handled => "handled",
            Status::Closed => "closed",
            Status::Evaluated => "evaluated",
        }
    }

    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A step: the report itself, then the transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Report,
    Accept,
    Dispatch,
    Handle,
    Close,
    Evaluate,
    Escalate,
    Return,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::Report,
        Action::Accept,
        Action::Dispatch,
        Action::Handle,
        Action::Close,
        Action::Evaluate,
        Action::Escalate,
        Action::Return,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Report => "report",
            Action::Accept => "accept",
            Action::Dispatch => "dispatch",
            Action::Handle => "handle",
            Action::Close => "close",
            Action::Evaluate => "evaluate",
            Action::Escalate => "escalate",
            Action::Return => "return",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The transitions a caller may ask for (`report` is `POST /events`).
    pub fn transitions() -> impl Iterator<Item = Action> {
        Action::ALL.into_iter().filter(|a| *a != Action::Report)
    }
}

/// Who may take a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// Staff (city, town or village accounts) whose area holds the case's holder.
    Holder,
    /// The unit the case is dispatched to (its grid worker, village or town staff, alliance).
    Assignee,
    /// The holder's staff or the reporter through the evaluation link.
    HolderOrReporter,
}

/// One line of the table.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub from: Status,
    pub action: Action,
    pub by: By,
    pub to: Status,
}

const fn rule(from: Status, action: Action, by: By, to: Status) -> Rule {
    Rule {
        from,
        action,
        by,
        to,
    }
}

/// Every step allowed: anything else is refused with 409.
pub const RULES: &[Rule] = &[
    rule(
        Status::Reported,
        Action::Accept,
        By::Holder,
        Status::Accepted,
    ),
    rule(
        Status::Reported,
        Action::Escalate,
        By::Holder,
        Status::Reported,
    ),
    rule(
        Status::Reported,
        Action::Return,
        By::Holder,
        Status::Reported,
    ),
    rule(
        Status::Accepted,
        Action::Dispatch,
        By::Holder,
        Status::Dispatched,
    ),
    rule(
        Status::Accepted,
        Action::Escalate,
        By::Holder,
        Status::Reported,
    ),
    rule(
        Status::Accepted,
        Action::Return,
        By::Holder,
        Status::Reported,
    ),
    rule(
        Status::Dispatched,
        Action::Handle,
        By::Assignee,
        Status::Handled,
    ),
    rule(
        Status::Dispatched,
        Action::Return,
        By::Assignee,
        Status::Accepted,
    ),
    rule(Status::Handled, Action::Close, By::Holder, Status::Closed),
    rule(
        Status::Handled,
        Action::Return,
        By::Holder,
        Status::Dispatched,
    ),
    rule(
        Status::Closed,
        Action::Evaluate,
        By::HolderOrReporter,
        Status::Evaluated,
    ),
];

/// The rule for `action` from `from`, if any.
pub fn rule_for(from: Status, action: Action) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.from == from && r.action == action)
}

/// The capacities in which a caller acts on one case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capacity {
    /// Staff whose area holds the case's holder.
    pub holder: bool,
    /// The unit the case is dispatched to.
    pub assignee: bool,
    /// The reporter, through the evaluation link.
    pub reporter: bool,
}

/// What a transition asks for besides its action.
#[derive(Clone, Debug, Default)]
pub struct Ask {
    pub to: Option<String>,
    pub note: Option<String>,
    pub rating: Option<u8>,
}

/// Why a step is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not from this state (409).
    State(String),
    /// Not by this caller (403).
    Role(String),
    /// A field of the transition is missing or wrong (422): the field and the fix.
    Field(&'static str, String),
}

/// The level of a unit code: 6 digits the county (city), 9 a town, 12 a village, 15 a grid.
pub fn level_name(code: &str) -> &'static str {
    match code.len() {
        6 => "city",
        9 => "town",
        12 => "village",
        15 => "grid",
        _ => "unit",
    }
}

/// The level above a holder (`None` at the city).
fn above(holder: &str) -> Option<&str> {
    match holder.len() {
        12 => Some(&holder[..9]),
        9 => Some(&holder[..6]),
        _ => None,
    }
}

/// The level below a holder on the way to the case's home (`None` at home).
fn below(case: &Case) -> Option<String> {
    let home = case.event.home();
    (case.holder.len() < home.len()).then(|| {
        let next = match case.holder.len() {
            6 => 9,
            _ => 12,
        };
        home[..next.min(home.len())].to_string()
    })
}

/// The steps `capacity` may take on `case` now, as a worklist offers them: those `decide` allows
/// once the step's own fields (a note, a target, a rating) are given, which the caller fills in.
pub fn offered(case: &Case, capacity: Capacity) -> Vec<Action> {
    let ask = Ask {
        to: Some(case.holder.clone()),
        note: Some("·".into()),
        rating: Some(5),
    };
    Action::transitions()
        .filter(|&a| {
            matches!(
                decide(case, a, capacity, &ask),
                Ok(()) | Err(Refusal::Field(..))
            )
        })
        .collect()
}

/// Whether `action` may be taken on `case` by a caller acting in `capacity`, with `ask`.
pub fn decide(case: &Case, action: Action, capacity: Capacity, ask: &Ask) -> Result<(), Refusal> {
    let status = case.status;
    let Some(rule) = rule_for(status, action) else {
        let allowed: Vec<&str> = RULES
            .iter()
            .filter(|r| r.from == status)
            .map(|r| r.action.name())
            .collect();
        let hint = if allowed.is_empty() {
            "no step is left".to_string()
        } else {
            format!(
                "from {} the steps are {}",
                status.name(),
                allowed.join(", ")
            )
        };
        return Err(Refusal::State(format!(
            "event {} is {}: it cannot {} now ({hint})",
            case.event.id,
            status.name(),
            action.name()
        )));
    };
    let may = match rule.by {
        By::Holder => capacity.holder,
        By::Assignee => capacity.assignee,
        By::HolderOrReporter => capacity.holder || capacity.reporter,
    };
    if !may {
        let who = match rule.by {
            By::Holder => format!(
                "the staff holding it ({} {}: city, town or village accounts whose area holds it)",
                level_name(&case.holder),
                case.holder
            ),
            By::Assignee => format!(
                "the unit it is dispatched to ({})",
                case.assignee.as_deref().unwrap_or("none")
            ),
            By::HolderOrReporter => "the staff holding it or its reporter".to_string(),
        };
        return Err(Refusal::Role(format!(
            "only {who} may {} event {}",
            action.name(),
            case.event.id
        )));
    }
    match action {
        Action::Escalate if above(&case.holder).is_none() => {
            return Err(Refusal::State(format!(
                "event {} is held by the {} already: there is no level above",
                case.event.id,
                level_name(&case.holder)
            )));
        }
        Action::Return
            if rule.by == By::Holder && rule.to == Status::Reported && below(case).is_none() =>
        {
            return Err(Refusal::State(format!(
                "event {} is held at its home level ({}): there is no level below to return it to; dispatch it instead",
                case.event.id, case.holder
            )));
        }
        _ => {}
    }
    let note = ask.note.as_deref().map(str::trim).unwrap_or("");
    let needs_note = matches!(action, Action::Handle | Action::Escalate | Action::Return);
    if needs_note && note.is_empty() {
        return Err(Refusal::Field(
            "note",
            format!(
                "{} needs a note saying {}",
                action.name(),
                match action {
                    Action::Handle => "what was done",
                    _ => "why",
                }
            ),
        ));
    }
    if action == Action::Dispatch && ask.to.as_deref().is_none_or(str::is_empty) {
        return Err(Refusal::Field(
            "to",
            "dispatch needs the unit to send it to: a grid, village or town code, or member:ID"
                .into(),
        ));
    }
    if action == Action::Evaluate && !ask.rating.is_some_and(|r| (1..=5).contains(&r)) {
        return Err(Refusal::Field(
            "rating",
            "evaluate needs a rating from 1 (poor) to 5 (excellent)".into(),
        ));
    }
    Ok(())
}

/// The status and holder after `action` (already allowed by `decide`).
pub fn next_holder(case: &Case, action: Action) -> (Status, String) {
    let status = rule_for(case.status, action).map_or(case.status, |r| r.to);
    let holder = match action {
        Action::Escalate => above(&case.holder).unwrap_or(&case.holder).to_string(),
        Action::Return if status == Status::Reported => {
            below(case).unwrap_or_else(|| case.holder.clone())
        }
        _ => case.holder.clone(),
    };
    (status, holder)
}

#[cfg(test)]
mod tests;
