//! Cost Explorer groups → cost classes, and month-to-date / daily sums. Pure.
use crate::config::Config;
use crate::domain::path::{PathId, Side};
use crate::model::update::{CostClass, DailyCost};
use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days of daily figures shown (today included).
pub const DAILY_DAYS: u64 = 14;

/// How the bill is grouped: by `SERVICE`, or by a cost allocation tag whose values are path ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    Service,
    Tag(String),
}

impl Grouping {
    pub fn from_config(cfg: &Config) -> Grouping {
        match cfg
            .aws
            .as_ref()
            .and_then(|a| a.cost_tag.clone())
            .filter(|t| !t.trim().is_empty())
        {
            Some(t) => Grouping::Tag(t.trim().to_string()),
            None => Grouping::Service,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Grouping::Service => "SERVICE".into(),
            Grouping::Tag(t) => format!("TAG:{t}"),
        }
    }
}

/// One group's cost on one day, as Cost Explorer gave it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub date: NaiveDate,
    /// The group key: a SERVICE name, or `tag$value`.
    pub key: String,
    pub usd: f64,
}

/// SERVICE → class. AgentCore: Amazon Bedrock, Amazon Bedrock AgentCore, and the Marketplace
/// lines Claude models are billed under ("Claude Haiku 4.5 (Amazon Bedrock Edition)"), so
/// anything naming Bedrock. EKS: EC2 compute, EC2-Other (EBS, NAT, data transfer) and the EKS
/// control plane.
pub fn classify_service(name: &str) -> CostClass {
    let l = name.trim().to_ascii_lowercase();
    if l.contains("bedrock") || l.contains("agentcore") {
        CostClass::Agentcore
    } else if l == "amazon elastic compute cloud - compute"
        || l == "ec2 - other"
        || l.contains("elastic container service for kubernetes")
        || l.contains("elastic kubernetes service")
    {
        CostClass::Eks
    } else {
        CostClass::Other
    }
}

/// `tag$value` → the class of the path whose id is the value; untagged or unknown → other.
pub fn classify_tag(key: &str, cfg: &Config) -> CostClass {
    let value = key.split_once('$').map_or(key, |(_, v)| v).trim();
    match cfg.path(&PathId::from(value)) {
        Some(p) => match p.kind {
            Side::Agentcore => CostClass::Agentcore,
            Side::Eks => CostClass::Eks,
        },
        None => CostClass::Other,
    }
}

pub fn classify(key: &str, grouping: &Grouping, cfg: &Config) -> CostClass {
    match grouping {
        Grouping::Service => classify_service(key),
        Grouping::Tag(_) => classify_tag(key, cfg),
    }
}

/// The request's period for `today` (UTC): from the earlier of the month's first day and 13
/// days ago, to tomorrow (exclusive, so today's partial figures are in).
pub fn period(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = today.with_day(1).unwrap_or(today);
    let back = today
        .checked_sub_days(Days::new(DAILY_DAYS - 1))
        .unwrap_or(today);
    let end = today.checked_add_days(Days::new(1)).unwrap_or(today);
    (first.min(back), end)
}

/// Month-to-date by class (every class present, zero included) and the last 14 days by class,
/// oldest first, as of `today`.
pub fn summarize(
    rows: &[Row],
    grouping: &Grouping,
    cfg: &Config,
    today: NaiveDate,
) -> (BTreeMap<CostClass, f64>, Vec<DailyCost>) {
    let first = today.with_day(1).unwrap_or(today);
    let back = today
        .checked_sub_days(Days::new(DAILY_DAYS - 1))
        .unwrap_or(today);
    let classes = [CostClass::Agentcore, CostClass::Eks, CostClass::Other];
    let mut mtd: BTreeMap<CostClass, f64> = classes.iter().map(|c| (*c, 0.0)).collect();
    let mut days: BTreeMap<(NaiveDate, CostClass), f64> = BTreeMap::new();
    let mut d = back;
    while d <= today {
        for c in classes {
            days.insert((d, c), 0.0);
        }
        match d.checked_add_days(Days::new(1)) {
            Some(n) => d = n,
            None => break,
        }
    }
    for r in rows.iter().filter(|r| r.usd.is_finite()) {
        let c = classify(&r.key, grouping, cfg);
        if r.date >= first && r.date <= today {
            *mtd.entry(c).or_insert(0.0) += r.usd;
        }
        if let Some(v) = days.get_mut(&(r.date, c)) {
            *v += r.usd;
        }
    }
    let daily = days
        .into_iter()
        .map(|((date, class), usd)| DailyCost { date, class, usd })
        .collect();
    (mtd, daily)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn services() {
        for s in [
            "Amazon Bedrock",
            "Amazon Bedrock AgentCore",
            "Claude Haiku 4.5 (Amazon Bedrock Edition)",
            "Claude Sonnet 4.5 (Amazon Bedrock Edition)",
        ] {
            assert_eq!(classify_service(s), CostClass::Agentcore, "{s}");
        }
        for s in [
            "Amazon Elastic Compute Cloud - Compute",
            "EC2 - Other",
            "Amazon Elastic Container Service for Kubernetes",
        ] {
            assert_eq!(classify_service(s), CostClass::Eks, "{s}");
        }
        for s in [
            "Amazon Simple Storage Service",
            "AmazonCloudWatch",
            "Tax",
            "",
        ] {
            assert_eq!(classify_service(s), CostClass::Other, "{s}");
        }
    }

    #[test]
    fn tags_name_paths() {
        let cfg = Config::demo();
        assert_eq!(classify_tag("hybrid-path$eks-qwen3", &cfg), CostClass::Eks);
        assert_eq!(
            classify_tag("hybrid-path$agentcore-sonnet", &cfg),
            CostClass::Agentcore
        );
        assert_eq!(classify_tag("hybrid-path$", &cfg), CostClass::Other);
        assert_eq!(classify_tag("hybrid-path$nope", &cfg), CostClass::Other);
    }

    #[test]
    fn periods() {
        assert_eq!(period(d("2026-11-25")), (d("2026-11-01"), d("2026-11-26")));
        // Early in the month the 14 days reach back into the previous one.
        assert_eq!(period(d("2026-11-03")), (d("2026-10-21"), d("2026-11-04")));
        assert_eq!(period(d("2026-12-31")), (d("2026-12-01"), d("2027-01-01")));
    }

    #[test]
    fn month_to_date_and_daily() {
        let cfg = Config::demo();
        let rows = vec![
            Row {
                date: d("2026-10-31"),
                key: "Amazon Bedrock".into(),
                usd: 100.0,
            },
            Row {
                date: d("2026-11-01"),
                key: "Amazon Bedrock".into(),
                usd: 1.5,
            },
            Row {
                date: d("2026-11-01"),
                key: "Claude Haiku 4.5 (Amazon Bedrock Edition)".into(),
                usd: 2.25,
            },
            Row {
                date: d("2026-11-02"),
                key: "EC2 - Other".into(),
                usd: 4.0,
            },
            Row {
                date: d("2026-11-02"),
                key: "Amazon Simple Storage Service".into(),
                usd: 0.5,
            },
        ];
        let (mtd, daily) = summarize(&rows, &Grouping::Service, &cfg, d("2026-11-03"));
        assert_eq!(mtd[&CostClass::Agentcore], 3.75);
        assert_eq!(mtd[&CostClass::Eks], 4.0);
        assert_eq!(mtd[&CostClass::Other], 0.5);
        assert_eq!(daily.len(), 14 * 3);
        assert_eq!(daily[0].date, d("2026-10-21"));
        let oct31: f64 = daily
            .iter()
            .filter(|x| x.date == d("2026-10-31"))
            .map(|x| x.usd)
            .sum();
        assert_eq!(oct31, 100.0, "in the daily bars, not in the month");
    }
}
