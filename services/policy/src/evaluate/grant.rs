//! Limits across grants, the granted period and the amount: the part of a
//! rule's evaluation that comes after its conditions hold.

use super::*;

impl Eval<'_> {
    // --- limits across grants ---

    pub(super) fn history_limits(&mut self) {
        let r = self.rule;
        let mine: Vec<_> = self.facts.prior_grants.iter().filter(|g| g.programme == r.programme).collect();
        if r.limits.one_time {
            let detail = match mine.first() {
                Some(g) => format!("one-time (一次性): {} already granted on {}", r.programme, g.granted_on),
                None => format!("one-time (一次性): no earlier grant of {}", r.programme),
            };
            self.check("one_time", mine.is_empty(), detail);
        }
        if let Some(n) = r.limits.max_grants {
            self.check(
                "max_grants",
                (mine.len() as u32) < n,
                format!("{} earlier grants of {}; at most {n} in total", mine.len(), r.programme),
            );
        }
        if !r.limits.excludes.is_empty() {
            let hit = self.facts.prior_grants.iter().find(|g| r.limits.excludes.contains(&g.programme));
            let detail = match hit {
                Some(g) => format!("{} was granted on {}; the two exclude each other", g.programme, g.granted_on),
                None => format!("no grant of {}", r.limits.excludes.join(", ")),
            };
            self.check("excludes", hit.is_none(), detail);
        }
        if let Some(n) = r.limits.max_public_welfare_placements {
            match &self.facts.person {
                Some(p) => self.check(
                    "max_public_welfare_placements",
                    p.public_welfare_placements <= n,
                    format!(
                        "{} public-welfare placements in total, this one included; at most {n} (累计安置不超过{n}次)",
                        p.public_welfare_placements
                    ),
                ),
                None => self.check("max_public_welfare_placements", false, "person facts not supplied".into()),
            }
        }
        // remaining months, for "policy finds people" (evaluate checks the period itself)
    }

    // --- period ---

    /// The period granted, checking month limits. `None` (with a failed
    /// check) when the request's period is unusable.
    pub(super) fn period(&mut self, req: &GrantRequest) -> Option<DateRange> {
        let r = self.rule;
        if r.nature == Nature::Entitlement {
            return self.entitlement_period();
        }
        if !r.is_periodic() {
            return DateRange::new(req.on, req.on).ok();
        }
        let Some(period) = req.period else {
            self.check("period", false, "a periodic subsidy needs the months it covers".into());
            return None;
        };
        let Some(months) = whole_months(period.from, period.to) else {
            self.check(
                "period",
                false,
                format!("{}..{} must run from a 1st to a month's last day (whole months)", period.from, period.to),
            );
            return None;
        };
        // The months lie in the life of what is rewarded: none before the
        // month of the fact the rule rewards (the hire, the placement, the
        // training…, when the rule names one and it is known). Months ahead
        // of the grant may be granted (e.g. three years of a hiring subsidy).
        let fact_month = (r.in_force_by != InForceBy::GrantDate && self.fact_missing.is_none())
            .then(|| crate::dates::month_start(self.fact_on));
        let (starts_in_time, why) = match fact_month {
            Some(m) if period.from < m => (
                false,
                format!(
                    "{}..{} starts before the month of {} ({}): the subsidy covers no earlier month",
                    period.from,
                    period.to,
                    r.in_force_by.describe(),
                    self.fact_on
                ),
            ),
            Some(m) => (
                true,
                format!(
                    "{}..{} starts in or after {m}, the month of {}",
                    period.from,
                    period.to,
                    r.in_force_by.describe()
                ),
            ),
            None => (true, format!("{}..{}: the rule names no fact to start from", period.from, period.to)),
        };
        self.check("period_start", starts_in_time, why);
        // This programme's grants and those sharing its ceiling (cumulative_with).
        let mine: Vec<_> = self
            .facts
            .prior_grants
            .iter()
            .filter(|g| g.programme == r.programme || r.limits.cumulative_with.contains(&g.programme))
            .collect();
        let overlap = mine.iter().find(|g| g.period.from <= period.to && period.from <= g.period.to);
        self.check(
            "period_overlap",
            overlap.is_none(),
            match overlap {
                Some(g) => format!(
                    "{}..{} overlaps the grant of {} for {}..{}",
                    period.from, period.to, g.granted_on, g.period.from, g.period.to
                ),
                None => format!("{}..{} ({months} months) overlaps no earlier grant", period.from, period.to),
            },
        );
        if r.limits.period_from_placement_month {
            match self.facts.person.as_ref().and_then(|p| p.placement.as_ref()) {
                Some(pl) => self.check(
                    "period_from_placement_month",
                    crate::dates::month_start(pl.started_on) == period.from,
                    format!(
                        "placement started {}; the period must start {} (自就业当月起)",
                        pl.started_on,
                        crate::dates::month_start(pl.started_on)
                    ),
                ),
                None => self.check("period_from_placement_month", false, "no placement".into()),
            }
        }
        // extension to retirement: within the years, the month limits give
        // way up to the retirement month; in every case the subsidy ends with
        // the retirement month (延长至退休), so no period runs past it.
        let mut extended = false;
        if let Some(years) = r.limits.extend_to_retirement_within_years {
            let within = |ret: Date| within_years_of_retirement(ret, years, period.from);
            match self
                .facts
                .person
                .as_ref()
                .map(|p| self.retirement_for(p, |ret| within(ret) || period.to > month_end(ret)))
            {
                Some(Ok((ret, age))) => {
                    extended = within(ret);
                    let bound = month_end(ret);
                    let reached = format!("retirement age {age} reached {}", month_of(ret));
                    let (passed, detail) = if period.from > bound {
                        (
                            false,
                            format!(
                                "{reached}: {}..{} lies after the retirement month; the subsidy ends with it, \
                                 on {bound}",
                                period.from, period.to
                            ),
                        )
                    } else if period.to > bound {
                        (
                            false,
                            format!(
                                "{reached}: {}..{} runs past the retirement month; the period must end by {bound}",
                                period.from, period.to
                            ),
                        )
                    } else if extended {
                        (
                            true,
                            format!(
                                "{reached}: less than {years} years away on {}, so the month limits give way up \
                                 to the retirement month; the period ends by {bound}",
                                period.from
                            ),
                        )
                    } else {
                        (true, format!("{reached}: {years} years or more away on {}, no extension", period.from))
                    };
                    self.check("extend_to_retirement_within_years", passed, detail);
                }
                Some(Err(why)) => self.check("extend_to_retirement_within_years", false, why),
                None => {}
            }
        }
        if let Some(max) = r.limits.max_months
            && !extended
        {
            self.check("max_months", months <= max, format!("{months} months asked; at most {max} (最长)"));
        }
        if let Some(total) = r.limits.cumulative_months
            && !extended
        {
            let placement_start = if r.limits.cumulative_per_placement {
                self.facts.person.as_ref().and_then(|p| p.placement.as_ref()).map(|pl| pl.started_on)
            } else {
                None
            };
            let from =
                [self.renewal_from(), placement_start.map(crate::dates::month_start)].into_iter().flatten().max();
            let counted: Vec<_> = match from {
                Some(from) => mine.iter().filter(|g| g.period.from >= from).collect(),
                None => mine.iter().collect(),
            };
            let before: u32 = counted.iter().map(|g| grant_months(g.period)).sum();
            let renewal = if counted.len() == mine.len() {
                ""
            } else if placement_start.is_some() {
                " (counted for the current placement)"
            } else {
                " (counted afresh after re-recognition, 重新认定)"
            };
            let shared = if r.limits.cumulative_with.is_empty() {
                String::new()
            } else {
                format!(" (with {})", r.limits.cumulative_with.join(", "))
            };
            self.check(
                "cumulative_months",
                before + months <= total,
                format!("{before} months granted before{shared}{renewal} + {months} asked; at most {total} in total"),
            );
        }
        Some(period)
    }

    /// The date from which months count afresh after a re-recognition.
    pub(super) fn renewal_from(&self) -> Option<Date> {
        let renewal = self.rule.limits.renewal.as_ref()?;
        let p = self.facts.person.as_ref()?;
        let d = p.difficulty_on(self.on)?;
        let all = renewal.groups_all.iter().all(|g| p.groups.contains(g));
        let any = renewal.groups_any.is_empty() || renewal.groups_any.iter().any(|g| p.groups.contains(g));
        let last_end =
            self.facts.prior_grants.iter().filter(|g| g.programme == self.rule.programme).map(|g| g.period.to).max()?;
        (all && any && d.recognised_on > last_end).then_some(d.recognised_on)
    }

    pub(super) fn entitlement_period(&mut self) -> Option<DateRange> {
        let on = self.on;
        match self.facts.person.as_ref().map(|p| self.retirement_for(p, |r| r > on)) {
            Some(Ok((ret, _))) if ret > self.on => DateRange::new(self.on, ret.pred_opt().unwrap_or(ret)).ok(),
            Some(Ok((ret, _))) => {
                self.check("period", false, format!("retirement age reached {}, before the date", month_of(ret)));
                None
            }
            Some(Err(why)) => {
                self.check("period", false, why);
                None
            }
            None => None,
        }
    }

    // --- amount ---

    /// The cap for this request in fen (checks added); `None` for entitlements
    /// or when it cannot be computed.
    pub(super) fn amount(&mut self, req: &GrantRequest, period: Option<&DateRange>) -> Option<i64> {
        let r = self.rule;
        let months = period.and_then(|p| whole_months(p.from, p.to));
        let cap: Result<(i64, String), String> = match &r.amount {
            // An entitlement (e.g. benefit extended to retirement) pays no sum
            // of its own: an amount asked for is refused, not granted.
            AmountRule::None => {
                if let Some(a) = req.amount {
                    self.check(
                        "amount",
                        false,
                        format!(
                            "{} asked; this rule is an entitlement and grants no amount (leave it 0)",
                            yuan(a.get())
                        ),
                    );
                }
                return None;
            }
            AmountRule::Fixed { fen } => Ok((*fen, format!("standard amount {} (按标准)", yuan(*fen)))),
            AmountRule::UpTo { fen } => Ok((*fen, format!("at most {} (最高)", yuan(*fen)))),
            AmountRule::PerMonth { fen, per_employee_fen, max_per_month_fen } => {
                let employees = self.facts.person.as_ref().and_then(|p| p.business.as_ref()).map(|b| b.employees);
                match (months, per_employee_fen, employees) {
                    (None, _, _) => Err("needs a period of whole months".into()),
                    (Some(_), Some(_), None) => Err("needs the business's number of employees".into()),
                    (Some(m), _, emp) => {
                        let mut monthly = *fen + per_employee_fen.unwrap_or(0) * i64::from(emp.unwrap_or(0));
                        if let Some(max) = max_per_month_fen {
                            monthly = monthly.min(*max);
                        }
                        Ok((monthly * i64::from(m), format!("{} a month × {m} months", yuan(monthly))))
                    }
                }
            }
            AmountRule::PerMonthShareOfParameter { parameter, share } => match period {
                None => Err("needs a period of whole months".into()),
                Some(p) => {
                    let mut total = 0i64;
                    let mut missing = None;
                    let mut parts = Vec::new();
                    for m in month_starts(p.from, p.to) {
                        match self.cat.parameter_on(parameter, m) {
                            Some(v) => {
                                total += share.of(v.value);
                                if v.verify && !parts.iter().any(|x: &String| x.contains(&v.valid_from.to_string())) {
                                    parts.push(format!("value from {} is unconfirmed (verify)", v.valid_from));
                                }
                            }
                            None => missing = Some(m),
                        }
                    }
                    match missing {
                        Some(m) => Err(format!("parameter {parameter} has no value for {}", month_of(m))),
                        None => Ok((
                            total,
                            format!(
                                "{share} of {parameter} for each month{}",
                                if parts.is_empty() { String::new() } else { format!("; {}", parts.join("; ")) }
                            ),
                        )),
                    }
                }
            },
            AmountRule::ShareOfBase { base, share } => match req.base {
                Some(b) => Ok((share.of(b.get()), format!("{share} of {} {}", base.as_str(), yuan(b.get())))),
                None => Err(format!("needs the base: {}", base.as_str())),
            },
            AmountRule::PerUnit { fen } => match req.units {
                Some(u) => Ok((*fen * i64::from(u), format!("at most {} × {u}", yuan(*fen)))),
                None => Err("needs the number of units (people)".into()),
            },
            AmountRule::InterestSubsidy { parameter, share, max_principal_fen, max_months } => match &req.loan {
                None => Err("needs the loan (principal, months, contract date)".into()),
                Some(loan) => {
                    let principal_ok = loan.principal.get() <= *max_principal_fen;
                    self.check(
                        "loan_principal",
                        principal_ok,
                        format!("principal {}; at most {}", yuan(loan.principal.get()), yuan(*max_principal_fen)),
                    );
                    self.check(
                        "loan_months",
                        loan.months <= *max_months,
                        format!("{} months; at most {max_months} (最长)", loan.months),
                    );
                    match self.cat.parameter_on(parameter, loan.contract_date) {
                        None => Err(format!("no value of {parameter} on the contract date {}", loan.contract_date)),
                        Some(v) => {
                            let principal = loan.principal.get().min(*max_principal_fen);
                            let months = loan.months.min(*max_months);
                            let cap = i128::from(principal)
                                * i128::from(v.value)
                                * i128::from(share.num)
                                * i128::from(months)
                                / (10_000 * i128::from(share.den) * 12);
                            Ok((
                                i64::try_from(cap).unwrap_or(i64::MAX),
                                format!(
                                    "{share} of {parameter} {}.{:02}% (contract date {}) on {} for {months} months",
                                    v.value / 100,
                                    v.value % 100,
                                    loan.contract_date,
                                    yuan(principal)
                                ),
                            ))
                        }
                    }
                }
            },
        };
        match cap {
            Err(why) => {
                self.check("amount", false, why);
                None
            }
            Ok((cap, how)) => {
                match req.amount {
                    Some(a) => self.check(
                        "amount",
                        a.get() <= cap,
                        if a.get() <= cap {
                            format!("{} asked; cap {} = {how}", yuan(a.get()), yuan(cap))
                        } else {
                            format!(
                                "{} asked exceeds the cap {} = {how}; refused (propose at most the cap)",
                                yuan(a.get()),
                                yuan(cap)
                            )
                        },
                    ),
                    None => self.check("amount", cap > 0, format!("cap {} = {how}", yuan(cap))),
                }
                Some(cap)
            }
        }
    }
}
