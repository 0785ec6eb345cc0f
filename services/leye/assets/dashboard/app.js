// leye dashboard: plain JavaScript over the JSON API (/api/v1/…), charts by
// Apache ECharts (echarts.min.js, built into the binary). The token stays in
// sessionStorage and goes out only as an Authorization header to this origin.
"use strict";

(function () {
  const TOKEN_KEY = "leye.token";
  const DISTRICTS = {
    "120101": "和平区", "120102": "河东区", "120103": "河西区", "120104": "南开区", "120105": "河北区",
    "120106": "红桥区", "120110": "东丽区", "120111": "西青区", "120112": "津南区", "120113": "北辰区",
    "120114": "武清区", "120115": "宝坻区", "120116": "滨海新区", "120117": "宁河区", "120118": "静海区",
    "120119": "蓟州区",
  };
  const $ = (id) => document.getElementById(id);
  // What the page shows, for the browser test to compare with gRPC.
  const state = { jurisdiction: "", path: [], targets: null, trend: [], actions: null, eligible: null, totals: null,
    views: {}, loads: 0, error: "" };
  window.leyeDashboard = state;

  function placeName(code) {
    if (!code || code === "120000") return "天津市";
    if (code.length === 6) return DISTRICTS[code] || code;
    if (code.length === 9) return "街道 " + code;
    return "社区 " + code;
  }

  function today() {
    const d = new Date();
    return iso(d);
  }
  function iso(d) {
    const m = String(d.getMonth() + 1).padStart(2, "0");
    const day = String(d.getDate()).padStart(2, "0");
    return d.getFullYear() + "-" + m + "-" + day;
  }
  function yuan(fen) {
    return fen == null ? "—" : (fen / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function text(v) {
    return v == null || v === "" ? "—" : String(v);
  }
  function percentish(t) {
    // A rate has a denominator; a count has none (its goal may be absent: TARGETS.md, "Goals").
    return t.value != null && t.denominator != null && t.value <= 1;
  }
  function showValue(t) {
    if (t.value == null) return "—";
    return percentish(t) ? (t.value * 100).toFixed(1) + "%" : String(Math.round(t.value * 1000) / 1000);
  }

  // === the API ===

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      const fields = (e.fields || []).map((f) => f.field + "：" + f.rule).join("；");
      super("（" + status + " " + (e.reason || e.code || "") + "）" + (fields || e.message || ""));
      this.status = status;
    }
  }

  async function api(path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") q.set(k, v);
    }
    const url = path + (q.toString() ? "?" + q.toString() : "");
    const r = await fetch(url, { headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) },
      cache: "no-store", credentials: "omit" });
    let body = null;
    try { body = await r.json(); } catch (_) { body = null; }
    if (!r.ok) {
      if (r.status === 401) logout("令牌无效或已过期，请重新登录 " + new ApiError(r.status, body).message);
      throw new ApiError(r.status, body);
    }
    return body;
  }

  function period() {
    return { period_from: $("period-from").value, period_to: $("period-to").value };
  }

  function showError(e) {
    state.error = e ? e.message : "";
    $("error").textContent = e ? "查询失败" + e.message : "";
  }

  function chart(id) {
    const el = $(id);
    return echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
  }

  function rows(tbody, list, cells) {
    tbody.replaceChildren();
    for (const item of list) {
      const tr = document.createElement("tr");
      for (const c of cells(item)) {
        const td = document.createElement("td");
        if (typeof c === "object" && c !== null) {
          td.textContent = text(c.v);
          if (c.cls) td.className = c.cls;
        } else {
          td.textContent = text(c);
        }
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
  }

  // === targets and drill-down ===

  async function loadTargets() {
    const j = state.jurisdiction;
    const report = await api("/api/v1/targets", Object.assign({ jurisdiction: j }, period()));
    state.targets = report;
    const rm = report.read_model;
    $("freshness").textContent = "数据截至 " + report.as_of + " · 读模型位置 " + report.checkpoint_position +
      (rm ? " / 日志 " + rm.head + "，滞后 " + rm.lag_events + " 条、" + rm.lag_seconds + " 秒" : "");
    rows($("targets-table").tBodies[0], report.targets, (t) => [
      t.title, { v: t.numerator, cls: "num" }, { v: t.denominator, cls: "num" }, { v: showValue(t), cls: "num" },
      t.goal || "—", t.met == null ? "—" : { v: t.met ? "达标" : "未达标", cls: t.met ? "met" : "unmet" }, t.source,
    ]);
    const withValue = report.targets.filter((t) => t.value != null && percentish(t));
    chart("targets-chart").setOption({
      title: { text: placeName(j) + " 目标完成率", left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      grid: { left: 60, right: 20, bottom: 110 },
      xAxis: { type: "category", data: withValue.map((t) => t.id), axisLabel: { rotate: 40, fontSize: 10 } },
      yAxis: { type: "value", axisLabel: { formatter: (v) => Math.round(v * 100) + "%" } },
      series: [{ name: "完成率", type: "bar", data: withValue.map((t) => t.value) }],
    }, true);
    await loadChildren();
  }

  async function loadChildren() {
    const j = state.jurisdiction;
    const list = $("children");
    list.replaceChildren();
    if (j.length >= 12) return;
    const c = await api("/api/v1/communities", Object.assign({ jurisdiction: j }, period()));
    const len = j.length === 0 || j === "120000" ? 6 : j.length === 6 ? 9 : 12;
    const kids = [...new Set(c.communities.map((x) => x.community.slice(0, len)))].sort();
    state.children = kids;
    for (const k of kids) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.textContent = placeName(k);
      a.dataset.code = k;
      a.addEventListener("click", () => drill(k));
      li.appendChild(a);
      list.appendChild(li);
    }
  }

  function drill(code) {
    state.path.push(state.jurisdiction);
    setJurisdiction(code);
  }

  function setJurisdiction(code) {
    state.jurisdiction = code;
    $("jurisdiction").value = code;
    crumbs();
    refresh();
  }

  function crumbs() {
    const c = $("crumbs");
    c.replaceChildren();
    state.path.forEach((code, i) => {
      const a = document.createElement("a");
      a.textContent = placeName(code);
      a.addEventListener("click", () => {
        state.path = state.path.slice(0, i);
        setJurisdiction(code);
      });
      c.appendChild(a);
      c.appendChild(document.createTextNode(" › "));
    });
    c.appendChild(document.createTextNode(placeName(state.jurisdiction)));
  }

  // === monthly trend: 12 periods through the same API ===

  function months() {
    const out = [];
    const now = new Date();
    for (let i = 11; i >= 0; i--) {
      const first = new Date(now.getFullYear(), now.getMonth() - i, 1);
      const last = new Date(now.getFullYear(), now.getMonth() - i + 1, 0);
      out.push({ label: iso(first).slice(0, 7), from: iso(first), to: i === 0 ? today() : iso(last) });
    }
    return out;
  }

  async function loadTrend() {
    const ms = months();
    const reports = await Promise.all(ms.map((m) =>
      api("/api/v1/targets", { jurisdiction: state.jurisdiction, period_from: m.from, period_to: m.to })));
    state.trend = ms.map((m, i) => ({ month: m.label, period_from: m.from, period_to: m.to, targets: reports[i].targets }));
    const select = $("trend-target");
    const chosen = select.value;
    select.replaceChildren();
    for (const t of reports[reports.length - 1].targets) {
      const o = document.createElement("option");
      o.value = t.id;
      o.textContent = t.title;
      select.appendChild(o);
    }
    if (chosen) select.value = chosen;
    drawTrend();
  }

  function drawTrend() {
    const id = $("trend-target").value;
    const points = state.trend.map((m) => {
      const t = m.targets.find((x) => x.id === id) || {};
      return { month: m.month, numerator: t.numerator, denominator: t.denominator, value: t.value == null ? null : t.value };
    });
    state.trendPoints = { id: id, points: points };
    chart("trend-chart").setOption({
      title: { text: placeName(state.jurisdiction) + " · " + id, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: points.map((p) => p.month) },
      yAxis: { type: "value" },
      series: [{ name: id, type: "line", data: points.map((p) => p.value), connectNulls: false }],
    }, true);
    rows($("trend-table").tBodies[0], points, (p) => [p.month, { v: p.numerator, cls: "num" },
      { v: p.denominator, cls: "num" }, { v: p.value == null ? null : Math.round(p.value * 10000) / 10000, cls: "num" }]);
  }

  // === paged lists ===

  const pages = { actions: [""], eligible: [""] };

  async function loadActions() {
    const tokens = pages.actions;
    const page = await api("/api/v1/actions", { list: $("action-list").value, jurisdiction: state.jurisdiction,
      page_size: $("page-size").value, page_token: tokens[tokens.length - 1] });
    page.page_size = Number($("page-size").value);
    state.actions = page;
    $("actions-total").textContent = "共 " + page.total + " 条";
    $("actions-page").textContent = "第 " + tokens.length + " 页";
    $("actions-next").disabled = !page.next_page_token;
    $("actions-prev").disabled = tokens.length <= 1;
    rows($("actions-table").tBodies[0], page.items, (i) => [i.case_id || i.layoff_id, i.household_id,
      (i.communities || []).join(" "), i.registered_on || i.reported_on, { v: i.days, cls: "num" }, i.status, i.reference_date]);
  }

  async function loadEligible() {
    const tokens = pages.eligible;
    const page = await api("/api/v1/eligible", { jurisdiction: state.jurisdiction, page_size: $("page-size").value,
      page_token: tokens[tokens.length - 1] });
    page.page_size = Number($("page-size").value);
    state.eligible = page;
    $("eligible-total").textContent = "共 " + page.total + " 条";
    $("eligible-page").textContent = "第 " + tokens.length + " 页";
    $("eligible-next").disabled = !page.next_page_token;
    $("eligible-prev").disabled = tokens.length <= 1;
    rows($("eligible-table").tBodies[0], page.items, (i) => [i.case_kind === "person" ? "个人" : "企业", i.case_id,
      i.programme, i.rule_id, { v: yuan(i.amount_fen), cls: "num" }, i.found_on, i.community || i.district]);
  }

  function pager(kind) {
    $(kind + "-next").addEventListener("click", () => {
      const page = state[kind];
      if (page && page.next_page_token) {
        pages[kind].push(page.next_page_token);
        refresh();
      }
    });
    $(kind + "-prev").addEventListener("click", () => {
      if (pages[kind].length > 1) {
        pages[kind].pop();
        refresh();
      }
    });
  }

  // === subsidies against budgets ===

  async function loadSubsidies() {
    const p = Object.assign({ jurisdiction: state.jurisdiction }, period());
    const [report, totals] = await Promise.all([api("/api/v1/targets", p), api("/api/v1/subsidy-totals", p)]);
    state.totals = totals;
    state.budgets = report.budgets;
    rows($("budget-table").tBodies[0], report.budgets, (b) => [b.title, b.year, { v: yuan(b.granted_fen), cls: "num" },
      { v: yuan(b.amount_fen), cls: "num" }, { v: (b.share * 100).toFixed(1) + "%", cls: "num" }]);
    rows($("totals-table").tBodies[0], totals.totals, (t) => [t.programme, t.year, placeName(t.district),
      { v: t.grants, cls: "num" }, { v: yuan(t.amount_fen), cls: "num" }]);
    $("budget-note").textContent = report.budgets.length ? "" :
      "本辖区未配置预算（配置文件 [[targets.budget]]）；下图为各项目发放金额。";
    if (report.budgets.length) {
      chart("budget-chart").setOption({
        title: { text: "补贴发放与预算（元）", left: "center", textStyle: { fontSize: 14 } },
        tooltip: { trigger: "axis" },
        legend: { top: 24 },
        grid: { top: 60, bottom: 80 },
        xAxis: { type: "category", data: report.budgets.map((b) => b.id), axisLabel: { rotate: 30, fontSize: 10 } },
        yAxis: { type: "value" },
        series: [
          { name: "已发放", type: "bar", data: report.budgets.map((b) => b.granted_fen / 100) },
          { name: "预算", type: "bar", data: report.budgets.map((b) => b.amount_fen / 100) },
        ],
      }, true);
    } else {
      const byProgramme = new Map();
      for (const t of totals.totals) byProgramme.set(t.programme, (byProgramme.get(t.programme) || 0) + t.amount_fen);
      const names = [...byProgramme.keys()];
      chart("budget-chart").setOption({
        title: { text: "各项目补贴发放（元）", left: "center", textStyle: { fontSize: 14 } },
        tooltip: { trigger: "axis" },
        grid: { top: 60, bottom: 100 },
        xAxis: { type: "category", data: names, axisLabel: { rotate: 30, fontSize: 10 } },
        yAxis: { type: "value" },
        series: [{ name: "已发放", type: "bar", data: names.map((n) => byProgramme.get(n) / 100) }],
      }, true);
    }
  }

  // === views ===

  const loaders = { targets: loadTargets, trend: loadTrend, actions: loadActions, eligible: loadEligible,
    subsidies: loadSubsidies };
  let current = "targets";

  async function refresh() {
    showError(null);
    document.body.dataset.loading = "true";
    try {
      await loaders[current]();
      state.views[current] = (state.views[current] || 0) + 1;
      const c = echarts.getInstanceByDom($(current === "subsidies" ? "budget-chart" : current + "-chart") || document.body);
      if (c) c.resize();
    } catch (e) {
      showError(e);
    } finally {
      state.loads += 1;
      document.body.dataset.loading = "false";
      document.body.dataset.view = current;
    }
  }

  function show(view) {
    current = view;
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === view);
    for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== "view-" + view;
    return refresh();
  }

  // === login ===

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (_) {
      return null;
    }
  }

  function start() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const c = token && claims(token);
    if (!c) {
      $("login").hidden = false;
      $("app").hidden = true;
      $("logout").hidden = true;
      $("who").textContent = "";
      return;
    }
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    const area = (c.jurisdiction || [])[0] || "";
    $("who").textContent = (c.sub || "") + " · " + (c.roles || []).join("、") + " · " + placeName(area);
    state.path = [];
    state.jurisdiction = area === "120000" ? "" : area;
    $("jurisdiction").value = state.jurisdiction;
    crumbs();
    show("targets");
  }

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    start();
    $("login-error").textContent = message || "";
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = $("token").value.trim();
    if (!claims(t)) {
      $("login-error").textContent = "这不是一个访问令牌（JWT）";
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, t);
    $("token").value = "";
    $("login-error").textContent = "";
    start();
  });
  $("logout").addEventListener("click", () => logout(""));
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => show(b.dataset.view));
  $("refresh").addEventListener("click", () => {
    state.path = [];
    state.jurisdiction = $("jurisdiction").value.trim();
    pages.actions = [""];
    pages.eligible = [""];
    crumbs();
    refresh();
  });
  $("action-list").addEventListener("change", () => { pages.actions = [""]; refresh(); });
  $("page-size").addEventListener("change", () => { pages.actions = [""]; pages.eligible = [""]; refresh(); });
  $("trend-target").addEventListener("change", drawTrend);
  pager("actions");
  pager("eligible");
  $("period-from").value = today().slice(0, 4) + "-01-01";
  $("period-to").value = today();
  start();
})();
