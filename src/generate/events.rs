//! A year of synthetic events for the sample: one report per 20 residents a year, placed at
//! buildings weighted by their residents (so where people live), with categories by season
//! (floods in the plum rains and typhoon months, fires and epidemics in winter, sanitation in
//! summer), severities mostly blue, and each case taken through its life as the lifecycle allows:
//! accepted within the hour, sometimes escalated and returned, dispatched to its grid, handled
//! (most before the deadline, some late), closed and often evaluated. Cases whose steps would fall
//! after the year's end stop where the year leaves them, so the last days hold open and overdue
//! cases. Routed by the same `events::route` as a live report. Deterministic (our own RNG).

use geo::Point;

use super::rng::Rng;
use crate::events::intake::{Report, intake};
use crate::events::lifecycle::{Ask, Capacity, decide};
use crate::events::{Action, Case, Categories, Entry, Event, Reporter, Severity, Source, Step};
use crate::index::Snapshot;
use crate::model::buildings;

/// 2025-12-01T00:00:00+08:00: the sample's year starts here and ends a year later.
pub const YEAR_START_MS: i64 = 1_764_518_400_000;
pub const YEAR_MS: i64 = 365 * 86_400_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// Residents per report a year.
const RESIDENTS_PER_EVENT: u64 = 20;

/// Relative weight of a category in a month (0 = December, the year's first).
fn weight(category: &str, month: usize) -> f64 {
    let summer = matches!(month, 6..=9); // June to September
    let winter = matches!(month, 0..=3); // December to March
    match category {
        "dispute" => 18.0,
        "hazard" => 10.0,
        "sanitation" => {
            if summer {
                18.0
            } else {
                10.0
            }
        }
        "livelihood" => 14.0,
        "hardship" => {
            if winter {
                9.0
            } else {
                5.0
            }
        }
        "policy" => 8.0,
        "civility" => 6.0,
        "flood" => {
            if summer {
                9.0
            } else {
                0.3
            }
        }
        "fire" => {
            if winter {
                4.0
            } else {
                1.0
            }
        }
        "epidemic" => {
            if winter {
                3.0
            } else {
                0.5
            }
        }
        _ => 3.0,
    }
}

const TEXTS: &[(&str, &[&str])] = &[
    (
        "dispute",
        &[
            "邻里因噪音发生争执",
            "宅基地边界纠纷",
            "楼上漏水引发邻里矛盾",
            "家庭赡养纠纷",
        ],
    ),
    (
        "hazard",
        &[
            "楼道堆放杂物堵塞通道",
            "电动车在楼道充电",
            "路边井盖缺失",
            "老旧电线裸露",
        ],
    ),
    (
        "sanitation",
        &[
            "垃圾清运不及时",
            "河道漂浮垃圾",
            "小区绿化带被占用种菜",
            "公厕卫生差",
        ],
    ),
    (
        "livelihood",
        &["路灯不亮", "小区停水未通知", "公交站台损坏", "道路坑洼积水"],
    ),
    (
        "hardship",
        &[
            "独居老人需要上门照料",
            "困难家庭申请临时救助",
            "残疾人出行困难",
        ],
    ),
    (
        "policy",
        &["咨询医保缴费政策", "咨询养老金领取", "咨询惠农补贴申报"],
    ),
    (
        "civility",
        &["建议开展文明劝导", "志愿服务活动报名", "移风易俗宣传需求"],
    ),
    ("flood", &["低洼处积水倒灌", "河堤出现渗水", "排水沟堵塞"]),
    (
        "fire",
        &["厂房附近焚烧秸秆", "消防通道被占用", "楼道灭火器过期"],
    ),
    ("epidemic", &["发热病人就诊需求", "集中居住点消杀需求"]),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "朱", "马", "胡", "郭",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
    "秀英",
];

fn texts(category: &str) -> &'static [&'static str] {
    TEXTS
        .iter()
        .find(|(c, _)| *c == category)
        .map_or(&["其他问题"][..], |(_, t)| t)
}

/// Every capacity: the generator takes only steps the lifecycle allows from the state reached.
const ANYONE: Capacity = Capacity {
    holder: true,
    assignee: true,
    reporter: true,
};

/// The year of `snap`'s events (the shipped categories) in a book, numbered as a store would
/// number them: what tests and benchmarks of statistics read.
pub fn year_book(snap: &Snapshot) -> crate::events::Book {
    let mut entries = year(snap, &Categories::shipped());
    for (i, e) in entries.iter_mut().enumerate() {
        e.step.seq = i as u64 + 1;
    }
    let mut book = crate::events::Book::default();
    book.apply(entries);
    book
}

/// The reports and steps of the sample's year, in time order of their reports, each step after
/// the one before. Events carry provisional ids (1, 2, … in report order) which their steps
/// name; the store gives the real ids (`sample::load_events`).
pub fn year(snap: &Snapshot, categories: &Categories) -> Vec<Entry> {
    let people = buildings::all(snap.dataset());
    let total: u64 = people.iter().map(|b| b.residents).sum();
    if total == 0 || categories.categories.is_empty() {
        return Vec::new();
    }
    let mut rng = Rng::named("events/year");
    // Cumulative residents, to draw buildings weighted by them.
    let mut cumulative = Vec::with_capacity(people.len());
    let mut acc = 0;
    for b in &people {
        acc += b.residents;
        cumulative.push(acc);
    }
    let count = (total / RESIDENTS_PER_EVENT) as usize;
    let mut times: Vec<i64> = (0..count)
        .map(|_| {
            let day = rng.int(0, 364) as i64;
            // Mostly in the day (07-21 h China time), some at night.
            let minute = if rng.unit() < 0.9 {
                rng.int(7 * 60, 21 * 60) as i64
            } else {
                rng.int(0, 24 * 60 - 1) as i64
            };
            YEAR_START_MS + day * 86_400_000 + minute * MINUTE_MS + rng.int(0, 59_999) as i64
        })
        .collect();
    times.sort_unstable();
    let year_end = YEAR_START_MS + YEAR_MS;
    let mut cases: Vec<(Case, Vec<Step>)> = Vec::with_capacity(count);
    for (i, &at) in times.iter().enumerate() {
        let target = rng.int(1, total);
        let b = &people[cumulative.partition_point(|&c| c < target)];
        // A few metres from the building's point (still in the county: routing checks).
        let p = Point::new(
            b.at.x() + rng.range(-0.0001, 0.0001),
            b.at.y() + rng.range(-0.0001, 0.0001),
        );
        let month = ((at - YEAR_START_MS) / (YEAR_MS / 12)).clamp(0, 11) as usize;
        let weights: Vec<f64> = categories
            .categories
            .iter()
            .map(|c| weight(&c.id, month))
            .collect();
        let mut draw = rng.unit() * weights.iter().sum::<f64>();
        let mut k = 0;
        while k + 1 < weights.len() && draw >= weights[k] {
            draw -= weights[k];
            k += 1;
        }
        let category = &categories.categories[k];
        let urgent = matches!(category.id.as_str(), "fire" | "flood" | "epidemic");
        let s = rng.unit();
        let severity = if s < if urgent { 0.35 } else { 0.06 } {
            Severity::Red
        } else if s < 0.4 {
            Severity::Yellow
        } else {
            Severity::Blue
        };
        let source = match rng.unit() {
            x if x < 0.45 => Source::GridWorker,
            x if x < 0.80 => Source::Hotline,
            x if x < 0.95 || !urgent => Source::Public,
            _ => Source::Sensor,
        };
        let reporter = matches!(source, Source::Hotline | Source::Public).then(|| Reporter {
            name: Some(format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))),
            phone: Some(format!(
                "1{}{:08}",
                rng.pick(&["35", "38", "39", "51", "58", "87"]),
                rng.int(0, 99_999_999)
            )),
        });
        let report = Report {
            at: Some(p),
            category: category.id.clone(),
            severity: severity.name().to_string(),
            source: source.name().to_string(),
            text: rng.pick(texts(&category.id)).to_string(),
            address: None,
            reporter_name: reporter.as_ref().and_then(|r| r.name.clone()),
            reporter_phone: reporter.and_then(|r| r.phone),
        };
        // Routed and checked as a live report is; a point outside the county is skipped.
        let Ok(mut event) = intake(snap, categories, report, at) else {
            continue;
        };
        event.id = i as u64 + 1;
        let report = step(&event, 0, Action::Report, at, "sample", None, None, None);
        let mut case = Case::new(event, report);
        let mut steps = Vec::new();
        let plan = life(&mut rng, &case, year_end);
        for (action, at, to, note, rating) in plan {
            let ask = Ask {
                to: to.clone(),
                note: note.clone(),
                rating,
            };
            if decide(&case, action, ANYONE, &ask).is_err() {
                break;
            }
            let s = step(
                &case.event,
                case.next_n(),
                action,
                at,
                "sample",
                to,
                note,
                rating,
            );
            case.apply(s.clone());
            steps.push(s);
        }
        cases.push((case, steps));
    }
    let mut entries = Vec::new();
    for (case, steps) in cases {
        entries.push(Entry {
            step: case.steps[0].clone(),
            event: Some(case.event),
        });
        entries.extend(steps.into_iter().map(|s| Entry {
            step: s,
            event: None,
        }));
    }
    entries
}

type Planned = (Action, i64, Option<String>, Option<String>, Option<u8>);

/// The steps a case takes after its report, each with its time; cut at `year_end`.
fn life(rng: &mut Rng, case: &Case, year_end: i64) -> Vec<Planned> {
    let e = &case.event;
    let span = e.deadline_ms - e.reported_at_ms;
    let mut t = e.reported_at_ms;
    let mut plan: Vec<Planned> = Vec::new();
    let mut at = |rng: &mut Rng, lo: i64, hi: i64| {
        t += lo + (rng.unit() * (hi - lo) as f64) as i64;
        t
    };
    if rng.unit() < 0.05 {
        plan.push((
            Action::Escalate,
            at(rng, 5 * MINUTE_MS, 40 * MINUTE_MS),
            None,
            Some("需镇街协调".into()),
            None,
        ));
        plan.push((
            Action::Return,
            at(rng, 10 * MINUTE_MS, 60 * MINUTE_MS),
            None,
            Some("属村(社区)职责，退回处置".into()),
            None,
        ));
    }
    plan.push((
        Action::Accept,
        at(rng, 2 * MINUTE_MS, 45 * MINUTE_MS),
        None,
        None,
        None,
    ));
    let to = e.grid.clone().unwrap_or_else(|| e.home().to_string());
    plan.push((
        Action::Dispatch,
        at(rng, MINUTE_MS, 20 * MINUTE_MS),
        Some(to),
        None,
        None,
    ));
    // Most handled well inside the deadline, some late.
    let late = rng.unit() < 0.07;
    let handle_after = if late {
        span + (rng.unit() * span as f64) as i64
    } else {
        ((0.15 + 0.7 * rng.unit()) * span as f64) as i64
    };
    plan.push((
        Action::Handle,
        at(rng, handle_after / 2, handle_after),
        None,
        Some("已现场处置".into()),
        None,
    ));
    plan.push((
        Action::Close,
        at(rng, 5 * MINUTE_MS, 30 * MINUTE_MS),
        None,
        None,
        None,
    ));
    if rng.unit() < 0.6 {
        let rating = match rng.unit() {
            x if x < 0.55 => 5,
            x if x < 0.85 => 4,
            x if x < 0.95 => 3,
            _ => 2,
        };
        plan.push((
            Action::Evaluate,
            at(rng, HOUR_MS, 48 * HOUR_MS),
            None,
            None,
            Some(rating),
        ));
    }
    // Times only grow, so what remains is a prefix of the case's life.
    plan.retain(|p| p.1 < year_end);
    plan
}

#[allow(clippy::too_many_arguments)]
fn step(
    event: &Event,
    n: u32,
    action: Action,
    at_ms: i64,
    actor: &str,
    to: Option<String>,
    note: Option<String>,
    rating: Option<u8>,
) -> Step {
    Step {
        seq: 0,
        event_id: event.id,
        n,
        action,
        at_ms,
        actor: actor.to_string(),
        to,
        note,
        rating,
    }
}
