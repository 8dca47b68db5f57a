//! What kinds of problems an event can report, and how long each severity may take
//! (`geodata/events.toml`): parsed and checked, with every mistake named by its line.

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

use crate::model::Service;

/// The file shipped with gridmap.
pub const SHIPPED_TEXT: &str = include_str!("../../geodata/events.toml");

/// How urgent an event is: its deadline follows from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Red,
    Yellow,
    Blue,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Red, Severity::Yellow, Severity::Blue];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Red => "red",
            Severity::Yellow => "yellow",
            Severity::Blue => "blue",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One kind of problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    /// What a report sends: `dispute`.
    pub id: String,
    /// Its Chinese name: 矛盾纠纷.
    pub label: String,
    /// The line of work (条口) that handles it.
    pub line: String,
    /// The grid-post service that fits it, if one does.
    pub service: Option<Service>,
}

/// The categories and deadlines of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct Categories {
    pub categories: Vec<Category>,
    /// Hours from report to closure for red, yellow and blue events.
    pub deadline_h: [u32; 3],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    deadlines: Spanned<RawDeadlines>,
    #[serde(default)]
    category: Vec<Spanned<RawCategory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadlines {
    red_h: u32,
    yellow_h: u32,
    blue_h: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: String,
    label: String,
    line: String,
    service: Option<String>,
}

impl Categories {
    /// The shipped categories (`geodata/events.toml`).
    pub fn shipped() -> Categories {
        Categories::parse(SHIPPED_TEXT, "geodata/events.toml")
            .expect("the shipped events.toml is valid (tested)")
    }

    /// Parse a categories file; the error names the file, the line and the fix.
    pub fn parse(text: &str, source: &str) -> Result<Categories, String> {
        let line_of = |at: usize| crate::model::declared::line_of(text, at);
        let file: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start)).unwrap_or(0);
            format!("{source}, line {line}: {}", e.message())
        })?;
        let deadlines_at = line_of(file.deadlines.span().start);
        let d = file.deadlines.into_inner();
        let deadline_h = [d.red_h, d.yellow_h, d.blue_h];
        if deadline_h.contains(&0) || !(d.red_h <= d.yellow_h && d.yellow_h <= d.blue_h) {
            return Err(format!(
                "{source}, line {deadlines_at}: deadlines must be whole hours above 0 with red_h <= yellow_h <= blue_h (got {}, {}, {})",
                d.red_h, d.yellow_h, d.blue_h
            ));
        }
        let mut seen = BTreeSet::new();
        let mut categories = Vec::new();
        for raw in file.category {
            let line = line_of(raw.span().start);
            let c = raw.into_inner();
            let id_ok = !c.id.is_empty()
                && c.id
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            if !id_ok {
                return Err(format!(
                    "{source}, line {line}: category id '{}' must be lowercase letters, digits or _",
                    c.id
                ));
            }
            if !seen.insert(c.id.clone()) {
                return Err(format!(
                    "{source}, line {line}: category '{}' is declared twice",
                    c.id
                ));
            }
            let service = match c.service.as_deref() {
                None => None,
                Some(name) => Some(Service::parse(name).ok_or_else(|| {
                    format!(
                        "{source}, line {line}: category '{}': service '{name}' is unknown; use policy, mediation, relief or civility, or leave it out",
                        c.id
                    )
                })?),
            };
            categories.push(Category {
                id: c.id,
                label: c.label,
                line: c.line,
                service,
            });
        }
        if categories.is_empty() {
            return Err(format!("{source}: no [[category]]; declare at least one"));
        }
        Ok(Categories {
            categories,
            deadline_h,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Every category, in the file's order.
    pub fn all(&self) -> &[Category] {
        &self.categories
    }

    /// The ids, for messages: "dispute, hazard, …".
    pub fn ids(&self) -> String {
        let ids: Vec<&str> = self.categories.iter().map(|c| c.id.as_str()).collect();
        ids.join(", ")
    }

    /// Hours an event of `severity` has from its report to its closure.
    pub fn deadline_h(&self, severity: Severity) -> u32 {
        self.deadline_h[severity as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_has_the_issues_categories() {
        let c = Categories::shipped();
        for (id, label, service) in [
            ("dispute", "矛盾纠纷", Some(Service::Mediation)),
            ("hazard", "安全隐患", None),
            ("sanitation", "环境卫生", None),
            ("livelihood", "民生诉求", Some(Service::Relief)),
            ("hardship", "困难帮扶", Some(Service::Relief)),
            ("policy", "政策咨询", Some(Service::Policy)),
            ("civility", "文明新风", Some(Service::Civility)),
        ] {
            let got = c.get(id).unwrap_or_else(|| panic!("{id}"));
            assert_eq!((got.label.as_str(), got.service), (label, service));
        }
        assert_eq!(
            Severity::ALL.map(|s| c.deadline_h(s)),
            [2, 24, 72],
            "red 2 h, yellow 24 h, blue 72 h"
        );
    }

    #[test]
    fn a_bad_file_names_the_line_and_the_fix() {
        let good = "[deadlines]\nred_h = 2\nyellow_h = 24\nblue_h = 72\n\n[[category]]\nid = \"dispute\"\nlabel = \"矛盾纠纷\"\nline = \"政法综治\"\nservice = \"mediation\"\n";
        assert!(Categories::parse(good, "t.toml").is_ok());
        let e = Categories::parse(&good.replace("mediation", "therapy"), "t.toml").unwrap_err();
        assert!(
            e.starts_with("t.toml, line 6: category 'dispute': service 'therapy' is unknown"),
            "{e}"
        );
        let e = Categories::parse(
            &format!("{good}{}", &good[good.find("[[").unwrap()..]),
            "t.toml",
        )
        .unwrap_err();
        assert!(
            e.contains("line 11: category 'dispute' is declared twice"),
            "{e}"
        );
        let e = Categories::parse(&good.replace("red_h = 2", "red_h = 0"), "t.toml").unwrap_err();
        assert!(
            e.contains("line 1: deadlines must be whole hours above 0"),
            "{e}"
        );
        let e = Categories::parse(
            &good.replace("id = \"dispute\"", "id = \"Dispute\""),
            "t.toml",
        )
        .unwrap_err();
        assert!(e.contains("must be lowercase"), "{e}");
        let e = Categories::parse(&good.replace("line = ", "lines = "), "t.toml").unwrap_err();
        assert!(e.contains("unknown field `lines`"), "{e}");
        // An error inside Chinese text names its line (and does not cut a character in two).
        let e = Categories::parse(&good.replace("\"矛盾纠纷\"", "矛盾纠纷"), "t.toml").unwrap_err();
        assert!(e.starts_with("t.toml, line 8:"), "{e}");
    }
}
