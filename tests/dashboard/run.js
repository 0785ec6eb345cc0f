// Drives the leye dashboard in headless Debian chromium through playwright-core.
// Run by services/leye/tests/dashboard.rs, which starts `leye serve` on a
// generated population and compares what this script saw with gRPC's answers.
//
// Environment: LEYE_DASHBOARD_URL, TOKEN_CITY (a city analyst), TOKEN_HEPING
// (an analyst of 和平区 120101), OBSERVED_FILE (JSON written here),
// SCREENSHOT_DIR. Exits non-zero on any failed check.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const base = process.env.LEYE_DASHBOARD_URL;
const shots = process.env.SCREENSHOT_DIR;
const origin = new URL(base).origin;

function check(cond, message) {
  if (!cond) throw new Error("check failed: " + message);
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "leye-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 1000 },
    locale: "zh-CN",
  });
  // Nothing but leye: every other request is refused and reported.
  const blocked = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + "/")) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = context.pages()[0] || (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // The page runs under its Content-Security-Policy without violating it.
  const cspViolations = [];
  page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) cspViolations.push(m.text());
  });
  page.setDefaultTimeout(60000);

  const loads = () => page.evaluate(() => window.leyeDashboard.loads);
  // Does `act`, then waits until the page has finished one more load.
  async function andWait(act) {
    const before = await loads();
    await act();
    await page.waitForFunction((n) => window.leyeDashboard.loads > n && document.body.dataset.loading === "false", before);
    return page.evaluate(() => window.leyeDashboard.error);
  }
  const shot = (name) => page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });

  // What the targets view shows: the state, the table, the chart.
  async function targetsView() {
    return page.evaluate(() => {
      const s = window.leyeDashboard;
      const chart = echarts.getInstanceByDom(document.getElementById("targets-chart")).getOption();
      const table = [...document.querySelectorAll("#targets-table tbody tr")].map((tr) =>
        [...tr.children].map((td) => td.textContent));
      return { jurisdiction: s.jurisdiction, period_from: s.targets.period_from, period_to: s.targets.period_to,
        as_of: s.targets.as_of, checkpoint_position: s.targets.checkpoint_position, targets: s.targets.targets,
        table, chart: { ids: chart.xAxis[0].data, values: chart.series[0].data }, children: s.children || [] };
    });
  }
  function consistent(view) {
    check(view.table.length === view.targets.length, "one table row per target");
    view.targets.forEach((t, i) => {
      check(view.table[i][0] === t.title, "row " + i + " title");
      check(view.table[i][1] === String(t.numerator), "row " + i + " numerator");
      check(view.table[i][2] === (t.denominator == null ? "—" : String(t.denominator)), "row " + i + " denominator");
      const met = t.met == null ? "—" : t.met ? "达标" : "未达标";
      check(view.table[i][5] === met, "row " + i + " met");
    });
    view.chart.ids.forEach((id, i) => {
      const t = view.targets.find((x) => x.id === id);
      check(t && t.value === view.chart.values[i], "chart bar " + id + " is the target's value");
    });
  }

  const observed = { levels: [], blocked };

  // 1. Log in as the city analyst: the city's targets.
  await page.goto(base + "/");
  check(await page.isVisible("#login"), "the login form shows first");
  await andWait(async () => {
    await page.fill("#token", process.env.TOKEN_CITY);
    await page.click("#login-form button");
  });
  let view = await targetsView();
  consistent(view);
  check(view.jurisdiction === "", "a city analyst starts at the city");
  check(view.children.length > 1, "the city has districts to drill into");
  observed.levels.push(view);
  await shot("1-targets-city");

  // 2. Drill down: city → district → street → community, clicking.
  for (const level of ["2-district", "3-street", "4-community"]) {
    const child = view.children[0];
    const err = await andWait(() => page.click("#children a[data-code='" + child + "']"));
    check(!err, "drill-down to " + child + ": " + err);
    view = await targetsView();
    check(view.jurisdiction === child, "now at " + child);
    consistent(view);
    observed.levels.push(view);
    await shot("targets-" + level);
    if (view.children.length === 0) break;
  }

  // 3. Back to the city through the breadcrumbs, then the monthly trend.
  await andWait(() => page.click("#crumbs a >> nth=0"));
  check((await page.evaluate(() => window.leyeDashboard.jurisdiction)) === "", "breadcrumb back to the city");
  let err = await andWait(() => page.click("#tabs button[data-view='trend']"));
  check(!err, "trend: " + err);
  observed.trend = await page.evaluate(() => {
    const s = window.leyeDashboard;
    const chart = echarts.getInstanceByDom(document.getElementById("trend-chart")).getOption();
    return { months: s.trend, chosen: s.trendPoints, chart: { months: chart.xAxis[0].data, values: chart.series[0].data } };
  });
  check(observed.trend.months.length === 12, "12 monthly periods");
  check(observed.trend.chart.values.length === 12, "12 points on the chart");
  observed.trend.chosen.points.forEach((p, i) => check(p.value === observed.trend.chart.values[i], "trend point " + i));
  await shot("5-trend");

  // 4. An action list, two pages.
  err = await andWait(() => page.click("#tabs button[data-view='actions']"));
  check(!err, "actions: " + err);
  const actionsPage = () => page.evaluate(() => {
    const s = window.leyeDashboard.actions;
    const rows = [...document.querySelectorAll("#actions-table tbody tr")].map((tr) => tr.children[0].textContent);
    return { total: s.total, page_size: s.page_size, next_page_token: s.next_page_token, ids: s.items.map((i) => i.case_id), rows };
  });
  err = await andWait(() => page.selectOption("#page-size", "5"));
  check(!err, "page size 5: " + err);
  const first = await actionsPage();
  check(first.rows.length === first.ids.length && first.rows.every((r, i) => r === first.ids[i]), "table = page 1");
  check(first.next_page_token !== "", "the list has a second page");
  err = await andWait(() => page.click("#actions-next"));
  check(!err, "page 2: " + err);
  const second = await actionsPage();
  check(second.ids.every((id) => !first.ids.includes(id)), "page 2 is not page 1");
  observed.actions = { list: "long_term_unemployed", pages: [{ token: "", ...first }, { token: first.next_page_token, ...second }] };
  await shot("6-actions-page-2");

  // 5. Eligible (政策找人).
  err = await andWait(() => page.click("#tabs button[data-view='eligible']"));
  check(!err, "eligible: " + err);
  observed.eligible = await page.evaluate(() => {
    const s = window.leyeDashboard.eligible;
    return { total: s.total, page_size: s.page_size, items: s.items.map((i) => [i.case_id, i.rule_id]),
      rows: document.querySelectorAll("#eligible-table tbody tr").length };
  });
  check(observed.eligible.rows === observed.eligible.items.length, "one row per eligible item");
  await shot("7-eligible");

  // 6. Subsidies against budgets.
  err = await andWait(() => page.click("#tabs button[data-view='subsidies']"));
  check(!err, "subsidies: " + err);
  observed.subsidies = await page.evaluate(() => {
    const s = window.leyeDashboard;
    const chart = echarts.getInstanceByDom(document.getElementById("budget-chart")).getOption();
    return { totals: s.totals.totals, budgets: s.budgets, chart: { ids: chart.xAxis[0].data,
      granted: chart.series[0].data, amount: (chart.series[1] || { data: [] }).data } };
  });
  observed.subsidies.budgets.forEach((b, i) => {
    check(observed.subsidies.chart.granted[i] === b.granted_fen / 100, "granted bar " + b.id);
    check(observed.subsidies.chart.amount[i] === b.amount_fen / 100, "budget bar " + b.id);
  });
  await shot("8-subsidies");

  // 7. An analyst of 和平区 sees Heping, and not Xiqing.
  await page.click("#logout");
  check(await page.isVisible("#login"), "logged out");
  check((await page.evaluate(() => sessionStorage.getItem("leye.token"))) === null, "the token is gone");
  await andWait(async () => {
    await page.fill("#token", process.env.TOKEN_HEPING);
    await page.click("#login-form button");
  });
  view = await targetsView();
  check(view.jurisdiction === "120101", "a Heping analyst starts at Heping");
  consistent(view);
  observed.heping = view;
  await page.fill("#jurisdiction", "120111");
  err = await andWait(() => page.click("#refresh"));
  check(err.includes("403") && err.includes("OUT_OF_JURISDICTION"), "Xiqing refused: " + err);
  const still = await page.evaluate(() => window.leyeDashboard.targets.jurisdiction);
  check(still === "120101", "no Xiqing figures reach the page");
  observed.heping_xiqing_error = err;
  await shot("9-heping-denied-xiqing");
  const cookies = await context.cookies();
  check(cookies.length === 0, "no cookies");

  check(pageErrors.length === 0, "no script errors: " + pageErrors.join("; "));
  check(cspViolations.length === 0, "no CSP violations: " + cspViolations.join("; "));
  const csp = await page.evaluate(async () => (await fetch("/")).headers.get("content-security-policy"));
  check(csp && csp.startsWith("default-src 'self'"), "the page is served under CSP: " + csp);
  check(blocked.length === 0, "no request left leye: " + blocked.join(", "));
  fs.writeFileSync(process.env.OBSERVED_FILE, JSON.stringify(observed, null, 1));
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
