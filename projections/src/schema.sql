-- The analysts' read model. Every table is a documented, read-only surface
-- (see projections/README.md). Cases appear by their pseudonymous case id only:
-- no names, no resident ID numbers. Dates are ISO 'YYYY-MM-DD' effective dates.

CREATE TABLE IF NOT EXISTS checkpoint (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    commit_position  INTEGER NOT NULL,
    prepare_position INTEGER NOT NULL,
    events_applied   INTEGER NOT NULL,
    updated_at       TEXT NOT NULL
);

-- Person cases the live projector changed: the checkpoint (commit position)
-- before the last batch that changed each. The query index reloads the cases
-- noted at or after its own checkpoint (projections/src/index). Not written
-- while a generation is rebuilt (its index is loaded whole).
CREATE TABLE IF NOT EXISTS changed_case (
    case_id        TEXT PRIMARY KEY,
    after_position INTEGER NOT NULL
);
-- A refresh reads the cases changed since the index's checkpoint: a range, not the table.
CREATE INDEX IF NOT EXISTS changed_case_after ON changed_case (after_position);

-- The person-case tables the fold writes on every registration, placement and
-- household change (person, person_group, spell, placement,
-- household_membership) have their key as a unique index, not a PRIMARY KEY:
-- a rebuild builds it after the rows (one sort) instead of a random b-tree
-- insert per row (projections/README.md, Indexes).
CREATE TABLE IF NOT EXISTS person (
    case_id        TEXT NOT NULL,
    birth_month    TEXT NOT NULL,   -- YYYY-MM
    gender         TEXT NOT NULL,   -- male | female
    hukou_county   TEXT NOT NULL,   -- GB/T 2260 code of the household registration
    hukou_nature   TEXT NOT NULL,   -- urban | rural
    education      TEXT NOT NULL,
    graduation_year INTEGER,
    household_id   TEXT,
    district       TEXT NOT NULL,   -- residence at the latest registration
    street         TEXT NOT NULL,
    community      TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS person_key ON person (case_id);

CREATE TABLE IF NOT EXISTS person_group (
    case_id TEXT NOT NULL,
    grp     TEXT NOT NULL,
    since   TEXT NOT NULL           -- first registration that listed the group
);
CREATE UNIQUE INDEX IF NOT EXISTS person_group_key ON person_group (case_id, grp);

CREATE TABLE IF NOT EXISTS spell (
    case_id       TEXT NOT NULL,
    spell_no      INTEGER NOT NULL, -- 1, 2, … per case
    registered_on TEXT NOT NULL,
    ended_on      TEXT,             -- NULL while open
    end_kind      TEXT,             -- placed | exited
    exit_reason   TEXT,
    district      TEXT NOT NULL,    -- residence at this registration
    street        TEXT NOT NULL,
    community     TEXT NOT NULL,
    office        TEXT NOT NULL,
    zero_employment_group INTEGER NOT NULL DEFAULT 0, -- 1: this registration listed the group zero_employment_household
    graduate_group INTEGER NOT NULL DEFAULT 0 -- 1: this registration listed the group graduate_unemployed_after_school
);
CREATE UNIQUE INDEX IF NOT EXISTS spell_key ON spell (case_id, spell_no);
DROP INDEX IF EXISTS spell_community; -- no query of the service reads it (README, Indexes)
CREATE INDEX IF NOT EXISTS spell_zero_employment ON spell (case_id, registered_on) WHERE zero_employment_group = 1;

CREATE TABLE IF NOT EXISTS contact (
    case_id      TEXT NOT NULL,
    contacted_on TEXT NOT NULL,
    channel      TEXT NOT NULL,
    outcome      TEXT NOT NULL
);
-- Append-only (never updated or deleted): the query index reads the rows
-- past the last rowid it holds, so this table needs no index by case.
DROP INDEX IF EXISTS contact_case;

CREATE TABLE IF NOT EXISTS recommendation (
    case_id        TEXT NOT NULL,
    recommended_on TEXT NOT NULL,
    two_way        INTEGER NOT NULL
);
-- Append-only, like `contact`.
DROP INDEX IF EXISTS recommendation_case;

CREATE TABLE IF NOT EXISTS placement (
    case_id         TEXT NOT NULL,
    placement_no    INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    employer        TEXT,           -- unified social credit code of the employer
    contract_months INTEGER,
    started_on      TEXT NOT NULL,
    ended_on        TEXT,
    end_reason      TEXT,
    district        TEXT NOT NULL,
    community       TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS placement_key ON placement (case_id, placement_no);
DROP INDEX IF EXISTS placement_case; -- no query of the service reads it (README, Indexes)

CREATE TABLE IF NOT EXISTS training (
    case_id      TEXT NOT NULL,
    training_id  TEXT NOT NULL,
    programme    TEXT NOT NULL,
    enrolled_on  TEXT NOT NULL,
    completed_on TEXT,
    dropped_on   TEXT,
    district     TEXT NOT NULL,
    community    TEXT NOT NULL,
    PRIMARY KEY (case_id, training_id)
);

CREATE TABLE IF NOT EXISTS subsidy (
    case_id       TEXT NOT NULL,
    subsidy_id    TEXT NOT NULL,
    programme     TEXT NOT NULL,
    amount_fen    INTEGER NOT NULL,
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    payee_kind    TEXT NOT NULL,    -- person | enterprise | training_provider
    policy_clause TEXT NOT NULL,
    granted_on    TEXT NOT NULL,
    revoked_on    TEXT,
    district      TEXT NOT NULL,    -- the event's (where it was recorded): the grant counts there
    community     TEXT NOT NULL,    -- the person's when granted if in `district`, else `district` (6 digits)
    PRIMARY KEY (case_id, subsidy_id)
);

CREATE TABLE IF NOT EXISTS difficulty (
    case_id         TEXT NOT NULL,
    recognised_on   TEXT NOT NULL,
    valid_from      TEXT NOT NULL,
    valid_to        TEXT NOT NULL,
    special         INTEGER NOT NULL, -- one of the four special categories
    zero_employment INTEGER NOT NULL, -- category zero-employment household
    categories      TEXT NOT NULL     -- comma-separated
);
CREATE INDEX IF NOT EXISTS difficulty_case ON difficulty (case_id);
CREATE INDEX IF NOT EXISTS difficulty_zero_employment ON difficulty (case_id, recognised_on) WHERE zero_employment = 1;

CREATE TABLE IF NOT EXISTS benefit (
    case_id    TEXT NOT NULL,
    started_on TEXT NOT NULL,
    months     INTEGER NOT NULL,
    ended_on   TEXT
);
CREATE INDEX IF NOT EXISTS benefit_case ON benefit (case_id);
DROP INDEX IF EXISTS training_community; -- no query of the service reads it (README, Indexes)
DROP INDEX IF EXISTS placement_community; -- no query of the service reads it (README, Indexes)
DROP INDEX IF EXISTS person_community; -- no query of the service reads it (README, Indexes)
DROP INDEX IF EXISTS person_household; -- no query of the service reads it (README, Indexes)

-- Household (家庭) memberships: a household is a projection over its members'
-- person streams (see projections/README.md). One row per membership period.
CREATE TABLE IF NOT EXISTS household_membership (
    household_id  TEXT NOT NULL,
    case_id       TEXT NOT NULL,
    membership_no INTEGER NOT NULL, -- 1, 2, … per case
    relation      TEXT NOT NULL,    -- head | spouse | child | parent | other
    joined_on     TEXT NOT NULL,    -- first day a member (a registration naming it, or a join)
    left_on       TEXT              -- first day no longer a member; NULL while a member
);
CREATE UNIQUE INDEX IF NOT EXISTS household_membership_key ON household_membership (case_id, membership_no);
CREATE INDEX IF NOT EXISTS household_membership_household ON household_membership (household_id, joined_on);

-- 政策找人: eligibilities the service found (person.eligibility_found,
-- enterprise.eligibility_found), one per case and rule. Whether the programme
-- was received since is computed at query time from `subsidy` and
-- `enterprise_subsidy` (a grant not revoked on the as-of date), so a rebuild
-- gives the same answers.
CREATE TABLE IF NOT EXISTS eligibility (
    case_id         TEXT NOT NULL,
    case_kind       TEXT NOT NULL,  -- person | enterprise
    rule_id         TEXT NOT NULL,  -- catalogue rule, e.g. xiqing.hiring.one-time
    rule_valid_from TEXT NOT NULL,  -- the rule version applied
    programme       TEXT NOT NULL,  -- as on subsidy.programme
    clause          TEXT NOT NULL,  -- source clause(s), e.g. 000 § 9
    reasons         TEXT NOT NULL,  -- JSON array of {check, detail, clause}
    amount_fen      INTEGER,        -- NULL when the amount depends on a request
    found_on        TEXT NOT NULL,  -- the day the rule was evaluated
    district        TEXT NOT NULL,  -- the person's residence when found; the enterprise's district
    street          TEXT NOT NULL,  -- '' for enterprises
    community       TEXT NOT NULL,  -- the district for enterprises (no community)
    PRIMARY KEY (case_id, rule_id)
);
CREATE INDEX IF NOT EXISTS eligibility_community ON eligibility (community, found_on);
CREATE INDEX IF NOT EXISTS subsidy_case_programme ON subsidy (case_id, programme);
DROP INDEX IF EXISTS subsidy_community; -- no query of the service reads it (README, Indexes)

-- Enterprise (用人单位) cases. An enterprise has a district but no street or
-- community, so enterprise figures count at city and district level only.
-- No name: a sole proprietorship's name may be a person's name.
CREATE TABLE IF NOT EXISTS enterprise (
    case_id           TEXT PRIMARY KEY,
    credit_code       TEXT NOT NULL,    -- 统一社会信用代码 (not personal data)
    district          TEXT NOT NULL,    -- GB/T 2260
    industry_code     TEXT NOT NULL,    -- GB/T 4754
    registered_on     TEXT NOT NULL,
    insured_employees INTEGER NOT NULL, -- at registration
    small_micro       INTEGER NOT NULL, -- 小微企业
    kinds             TEXT NOT NULL,    -- comma-separated, e.g. tech_start_up,incubator
    key_enterprise_on TEXT              -- designated a key enterprise (重点企业), NULL if not
);
CREATE INDEX IF NOT EXISTS enterprise_district ON enterprise (district);

-- 批量退工减员: batch layoffs, and the services given after them (000 § 3).
CREATE TABLE IF NOT EXISTS batch_layoff (
    case_id     TEXT NOT NULL,
    layoff_id   TEXT NOT NULL,
    people      INTEGER NOT NULL,
    reported_on TEXT NOT NULL,
    district    TEXT NOT NULL,          -- the enterprise's
    PRIMARY KEY (case_id, layoff_id)
);
CREATE INDEX IF NOT EXISTS batch_layoff_district ON batch_layoff (district, reported_on);

CREATE TABLE IF NOT EXISTS layoff_service (
    case_id     TEXT NOT NULL,
    layoff_id   TEXT NOT NULL,
    service     TEXT NOT NULL,          -- tracking_visit | skills_training | job_fair
    provided_on TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS layoff_service_layoff ON layoff_service (case_id, layoff_id);

-- 见习岗位: internship posts offered (001 § 8).
CREATE TABLE IF NOT EXISTS internship_offer (
    case_id    TEXT NOT NULL,
    offer_id   TEXT NOT NULL,
    posts      INTEGER NOT NULL,
    offered_on TEXT NOT NULL,
    district   TEXT NOT NULL,           -- the enterprise's
    PRIMARY KEY (case_id, offer_id)
);
CREATE INDEX IF NOT EXISTS internship_offer_district ON internship_offer (district, offered_on);

-- Grants recorded on enterprise cases (person-case grants are in `subsidy`).
CREATE TABLE IF NOT EXISTS enterprise_subsidy (
    case_id       TEXT NOT NULL,
    subsidy_id    TEXT NOT NULL,
    programme     TEXT NOT NULL,
    amount_fen    INTEGER NOT NULL,
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    payee_kind    TEXT NOT NULL,        -- person | enterprise | training_provider
    policy_clause TEXT NOT NULL,
    granted_on    TEXT NOT NULL,
    revoked_on    TEXT,
    district      TEXT NOT NULL,        -- the enterprise's
    PRIMARY KEY (case_id, subsidy_id)
);
CREATE INDEX IF NOT EXISTS enterprise_subsidy_district ON enterprise_subsidy (district, granted_on);

-- 公益性岗位 / 社区服务岗位 developed (001 § 9 counts posts, not persons placed),
-- on the case of the unit offering them.
CREATE TABLE IF NOT EXISTS welfare_posts (
    case_id        TEXT NOT NULL,
    development_id TEXT NOT NULL,
    kind           TEXT NOT NULL,       -- public_welfare | community_service
    posts          INTEGER NOT NULL,
    developed_on   TEXT NOT NULL,
    district       TEXT NOT NULL,       -- the unit's
    PRIMARY KEY (case_id, development_id)
);
CREATE INDEX IF NOT EXISTS welfare_posts_district ON welfare_posts (district, developed_on);

-- 创业担保贷款: guarantee loans lent (001 § 4 counts the principal lent).
CREATE TABLE IF NOT EXISTS guarantee_loan (
    case_id       TEXT NOT NULL,
    loan_id       TEXT NOT NULL,
    borrower      TEXT NOT NULL,        -- enterprise | founder
    principal_fen INTEGER NOT NULL,
    lender        TEXT NOT NULL,        -- the lending bank
    term_months   INTEGER NOT NULL,
    granted_on    TEXT NOT NULL,
    district      TEXT NOT NULL,        -- the enterprise's
    PRIMARY KEY (case_id, loan_id)
);
CREATE INDEX IF NOT EXISTS guarantee_loan_district ON guarantee_loan (district, granted_on);
