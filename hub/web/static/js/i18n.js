// The UI catalogue: Chinese by default, English on request. One English term per concept,
// as in the code and the API (docs: shared/DOMAIN.md "Words to use in code").

import { contract } from "./meta.js";

const STORE_KEY = "hub.lang";

const zh = {
  "app.title": "街乡吹哨、部门报到指挥调度平台",
  "app.short": "吹哨报到",
  "lang.switch": "English",
  "nav.wall": "指挥大屏",
  "nav.console": "调度台",
  "nav.staff": "我的任务",
  "nav.logout": "退出",
  "login.title": "登录",
  "login.username": "用户名",
  "login.password": "密码",
  "login.submit": "登录",
  "login.failed": "用户名或密码错误",
  "conn.connecting": "正在连接…",
  "conn.live": "实时",
  "conn.reconnecting": "连接中断，正在重连…",
  "conn.offline": "网络已断开，恢复后自动重连",
  "conn.resumed": "已恢复，补齐 {n} 条变更",
  "wall.title": "指挥调度大屏",
  "wall.new_today": "今日新增",
  "wall.open": "在办",
  "wall.overdue": "超期",
  "wall.closed_today": "今日办结",
  "wall.closure_rate": "办结率",
  "wall.on_time_rate": "按时办结率",
  "wall.awaiting_ack": "待签收",
  "wall.in_hand": "处置中",
  "wall.levels": "吹哨等级分布（在办）",
  "wall.ranking": "部门按时办理排名",
  "wall.ticker": "实时吹哨与预警",
  "wall.trend": "近24小时趋势",
  "wall.trend.created": "新增",
  "wall.trend.closed": "办结",
  "wall.map": "区域态势",
  "wall.map.open": "在办",
  "wall.map.overdue": "超期",
  "wall.back": "返回上级",
  "wall.calendar_missing": "节假日安排未录入：{years} 年按普通周末计算期限",
  "wall.overdue_list": "超期案件",
  "wall.no_events": "暂无动态",
  "wall.dept_open": "在办 {n}",
  "console.title": "调度台",
  "console.queue": "案件队列",
  "console.tab.queue": "待处理",
  "console.tab.working": "办理中",
  "console.tab.verify": "待核查",
  "console.tab.overdue": "超期",
  "console.tab.all": "全部在办",
  "console.search": "搜索标题或编号（/）",
  "console.level_any": "全部等级",
  "console.empty": "没有符合条件的案件",
  "console.select": "从左侧队列选择一个案件（j/k 移动，回车打开）",
  "console.intake": "新建案件",
  "console.f.title": "标题",
  "console.f.description": "描述",
  "console.f.category": "事项类别（编码、中文或拼音）",
  "console.f.grid": "网格（在地图上点选或输入编码）",
  "console.f.source": "来源",
  "console.f.priority": "紧急程度",
  "console.f.reporter": "报告人",
  "console.f.submit": "提交（Ctrl+Enter）",
  "console.created": "已创建案件 #{id}",
  "console.suggestion": "派遣建议",
  "console.suggestion.none": "无法自动派遣：{reason}",
  "console.suggestion.try": "按类别预览派遣",
  "console.timeline": "案件时间线",
  "console.reached": "已通知：{rank}",
  "console.unreachable": "升级无人可达",
  "console.unreachable.warning": "{n} 次超时升级无人可达：整条升级链无人在岗，请人工处置",
  "console.chain.ok": "哈希链校验通过（{n} 条事件）",
  "console.chain.broken": "哈希链断裂：第 {seq} 条，{reason}",
  "console.chain.checking": "正在校验哈希链…",
  "console.chain.prev": "与上一条事件的哈希不连续",
  "console.chain.content": "内容与其哈希不符（被改动）",
  "console.chain.seq": "序号不连续（事件被删除、插入或调换）",
  "console.actions": "操作",
  "console.shortcuts": "快捷键：/ 搜索 · n 新建 · j/k 上下 · 回车 打开 · 1–5 切换队列 · Esc 取消",
  "console.f.reason": "原因",
  "console.f.note": "备注",
  "console.f.department": "部门",
  "console.f.into": "并入案件编号",
  "console.f.score": "评分（1–5）",
  "console.confirm": "确定",
  "console.cancel": "取消",
  "console.done": "已{action}",
  "console.deadlines": "期限",
  "console.assigned": "承办",
  "console.photos": "现场照片",
  "case.id": "编号",
  "case.state": "状态",
  "case.level": "等级",
  "case.department": "承办部门",
  "case.staff": "承办人",
  "case.township": "街乡",
  "case.grid": "网格",
  "case.category": "类别",
  "case.created": "上报时间",
  "case.ack_due_at": "签收期限",
  "case.checkin_due_at": "报到期限",
  "case.resolve_due_at": "办结期限",
  "case.original_resolve_due_at": "原定办结期限（考核）",
  "case.estimated": "估算：该年节假日未录入",
  "case.verify_due_at": "核查期限",
  "case.supervision.county": "区县督办",
  "case.supervision.city": "市级督办",
  "sla.ok": "正常",
  "sla.warning": "预警",
  "sla.breached": "超时",
  "staff.title": "我的任务",
  "staff.enable": "开启提醒声音",
  "staff.enabled": "提醒已开启",
  "staff.new": "新任务",
  "staff.open": "办理中",
  "staff.none": "暂无任务",
  "staff.ack": "签收",
  "staff.checkin": "到场报到",
  "staff.resolve": "办结反馈",
  "staff.return": "退回",
  "staff.note": "处理情况",
  "staff.photo": "现场照片（JPG/PNG/WebP，≤5MB）",
  "staff.submit": "提交办结",
  "staff.left": "剩余 {t}",
  "staff.over": "已超时 {t}",
  "staff.due": "{what}：{t}",
  "staff.locating": "正在获取位置…",
  "staff.no_location": "未能获取位置，仍可报到",
  "staff.photo_too_big": "照片超过 5MB",
  "staff.uploading": "正在上传照片…",
  "staff.pushed": "收到新任务：{title}",
  "staff.done": "已提交",
  "staff.waiting": "已办结，等待核查",
  "dur.d": "{n}天",
  "dur.h": "{n}小时",
  "dur.m": "{n}分",
  "dur.s": "{n}秒",
  "err.generic": "操作失败：{msg}",
  "err.conflict": "案件已被他人更新，已刷新，请重试",
};

const en = {
  "app.title": "Whistle-and-report command and dispatch",
  "app.short": "Whistle hub",
  "lang.switch": "中文",
  "nav.wall": "Wall",
  "nav.console": "Console",
  "nav.staff": "My tasks",
  "nav.logout": "Log out",
  "login.title": "Log in",
  "login.username": "Username",
  "login.password": "Password",
  "login.submit": "Log in",
  "login.failed": "Wrong username or password",
  "conn.connecting": "Connecting…",
  "conn.live": "Live",
  "conn.reconnecting": "Connection lost, reconnecting…",
  "conn.offline": "Network down; reconnects when it returns",
  "conn.resumed": "Back, {n} missed changes applied",
  "wall.title": "Command wall",
  "wall.new_today": "New today",
  "wall.open": "Open",
  "wall.overdue": "Overdue",
  "wall.closed_today": "Closed today",
  "wall.closure_rate": "Closure rate",
  "wall.on_time_rate": "On-time rate",
  "wall.awaiting_ack": "Awaiting ack",
  "wall.in_hand": "In hand",
  "wall.levels": "Open cases by whistle level",
  "wall.ranking": "Departments by on-time handling",
  "wall.ticker": "Live whistles and escalations",
  "wall.trend": "Last 24 hours",
  "wall.trend.created": "Reported",
  "wall.trend.closed": "Closed",
  "wall.map": "Situation map",
  "wall.map.open": "Open",
  "wall.map.overdue": "Overdue",
  "wall.back": "Up one level",
  "wall.calendar_missing": "Holiday schedule missing for {years}: deadlines count plain weekends",
  "wall.overdue_list": "Overdue cases",
  "wall.no_events": "Nothing yet",
  "wall.dept_open": "{n} open",
  "console.title": "Dispatcher console",
  "console.queue": "Cases",
  "console.tab.queue": "To handle",
  "console.tab.working": "With departments",
  "console.tab.verify": "To verify",
  "console.tab.overdue": "Overdue",
  "console.tab.all": "All open",
  "console.search": "Search title or number (/)",
  "console.level_any": "Any level",
  "console.empty": "No cases match",
  "console.select": "Pick a case from the queue (j/k to move, Enter to open)",
  "console.intake": "New case",
  "console.f.title": "Title",
  "console.f.description": "Description",
  "console.f.category": "Category (code, Chinese or pinyin)",
  "console.f.grid": "Grid (click the map or type the code)",
  "console.f.source": "Source",
  "console.f.priority": "Priority",
  "console.f.reporter": "Reporter",
  "console.f.submit": "Submit (Ctrl+Enter)",
  "console.created": "Case #{id} created",
  "console.suggestion": "Routing suggestion",
  "console.suggestion.none": "Cannot route automatically: {reason}",
  "console.suggestion.try": "Preview routing for a category",
  "console.timeline": "Timeline",
  "console.reached": "reached: {rank}",
  "console.unreachable": "escalation reached nobody",
  "console.unreachable.warning": "{n} escalation(s) reached nobody: nobody on the whole chain is on duty — handle by hand",
  "console.chain.ok": "Hash chain verified ({n} events)",
  "console.chain.broken": "Hash chain broken at event {seq}: {reason}",
  "console.chain.checking": "Checking the hash chain…",
  "console.chain.prev": "does not link to the previous event's hash",
  "console.chain.content": "content does not match its hash (edited)",
  "console.chain.seq": "sequence gap (an event was deleted, inserted or reordered)",
  "console.actions": "Actions",
  "console.shortcuts": "Keys: / search · n new · j/k move · Enter open · 1–5 queues · Esc cancel",
  "console.f.reason": "Reason",
  "console.f.note": "Note",
  "console.f.department": "Department",
  "console.f.into": "Merge into case number",
  "console.f.score": "Score (1–5)",
  "console.confirm": "Confirm",
  "console.cancel": "Cancel",
  "console.done": "{action}: done",
  "console.deadlines": "Deadlines",
  "console.assigned": "Assigned",
  "console.photos": "Photos",
  "case.id": "No.",
  "case.state": "State",
  "case.level": "Level",
  "case.department": "Department",
  "case.staff": "Staff",
  "case.township": "Township",
  "case.grid": "Grid",
  "case.category": "Category",
  "case.created": "Reported",
  "case.ack_due_at": "Acknowledge by",
  "case.checkin_due_at": "Check in by",
  "case.resolve_due_at": "Resolve by",
  "case.original_resolve_due_at": "Original resolve-by (assessed)",
  "case.estimated": "estimate: the year's holidays are not entered",
  "case.verify_due_at": "Verify by",
  "case.supervision.county": "County supervision",
  "case.supervision.city": "City supervision",
  "sla.ok": "On track",
  "sla.warning": "Warning",
  "sla.breached": "Breached",
  "staff.title": "My tasks",
  "staff.enable": "Turn on alert sound",
  "staff.enabled": "Alerts on",
  "staff.new": "New tasks",
  "staff.open": "In hand",
  "staff.none": "No tasks",
  "staff.ack": "Acknowledge",
  "staff.checkin": "Check in on site",
  "staff.resolve": "Report resolved",
  "staff.return": "Return",
  "staff.note": "What was done",
  "staff.photo": "Photo (JPG/PNG/WebP, ≤ 5 MB)",
  "staff.submit": "Submit",
  "staff.left": "{t} left",
  "staff.over": "{t} overdue",
  "staff.due": "{what}: {t}",
  "staff.locating": "Getting your location…",
  "staff.no_location": "No location; checking in without it",
  "staff.photo_too_big": "The photo is over 5 MB",
  "staff.uploading": "Uploading the photo…",
  "staff.pushed": "New task: {title}",
  "staff.done": "Sent",
  "staff.waiting": "Resolved, awaiting verification",
  "dur.d": "{n} d",
  "dur.h": "{n} h",
  "dur.m": "{n} min",
  "dur.s": "{n} s",
  "err.generic": "Failed: {msg}",
  "err.conflict": "Someone changed this case meanwhile; refreshed, please retry",
};

// The router's reasons are English sentences; these patterns give them in Chinese.
const REASONS = [
  [/^catalogue entry (\S+) v(\d+) assigns the (\w+) tier$/, (m) => `权责清单事项 ${m[1]}（第 ${m[2]} 版）规定由${tierZh(m[3])}办理`],
  [/^whistle raised to the (\w+) tier$/, (m) => `吹哨升级到${tierZh(m[1])}`],
  [/^dispatcher chose department (\S+)$/, (m) => `调度员指定部门 ${m[1]}`],
  [/^(\S+) is the primary department at the (\w+) tier$/, (m) => `${m[1]} 为${tierZh(m[2])}主责部门`],
  [/^the grid's on-duty grid worker is notified$/, () => "通知本网格在岗网格员"],
  [/^the A post on duty is notified$/, () => "A岗在岗，通知A岗"],
  [/^the A post is not on duty; the B post is notified$/, () => "A岗不在岗，通知B岗"],
  [/^no post on duty; the department liaison is notified$/, () => "无人在岗，通知部门联络员"],
  [/^no post or liaison: the department must assign someone$/, () => "无岗位或联络员，需部门指派"],
  [/^a level-3 whistle on this entry waits for the township leader$/, () => "该事项三级哨需街乡主要领导确认"],
  [/^no usable category: a dispatcher must classify the case$/, () => "没有可用的事项类别：需调度员先分类"],
  [/^no (\S+) department at the (\w+) tier for this place$/, (m) => `本地没有${tierZh(m[2])}的 ${m[1]} 部门`],
];

function tierZh(tier) {
  return { grid: "网格", township: "街乡", county: "区县部门", community: "社区", city: "市" }[tier] || tier;
}

export function lang() {
  const stored = localStorage.getItem(STORE_KEY);
  return stored === "en" ? "en" : "zh";
}

export function t(key, params = {}) {
  const table = lang() === "en" ? en : zh;
  const text = table[key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

// The domain's words come from the server's contract (meta.js), never from a copy here.
export const stateLabel = (s) => contract.label("states", s, lang());
export const actionLabel = (a) => contract.label("actions", a, lang());
export const eventLabel = (e) => contract.label("events", e, lang());
export const stepLabel = (s) => contract.label("steps", s, lang());
export const rungLabel = (r) => contract.label("rungs", r, lang());
export const sourceLabel = (s) => contract.label("sources", s, lang());
export const priorityLabel = (p) => contract.label("priorities", p, lang());
export const fieldLabel = (f) => contract.label("fields", f, lang());
export const roleLabel = (r) => contract.label("roles", r, lang());
export const levelLabel = (n) => contract.levelLabel(n, lang());
export const SOURCE_CODES = contract.codes("sources");
export const PRIORITY_CODES = contract.codes("priorities");

/** What to tell the user about a failed request: the contract's message for its error
 * code and kind in the page's language (an ApiError carries the body). */
export function errorMessage(err) {
  if (err && err.body && err.body.error) return contract.errorText(err.body, lang());
  if (err && typeof err.error === "string") return contract.errorText(err, lang()); // a socket's reply
  return (err && err.message) || String(err ?? "?");
}

export function reasonLabel(reason) {
  if (lang() === "en") return reason;
  for (const [pattern, render] of REASONS) {
    const m = reason.match(pattern);
    if (m) return render(m);
  }
  return reason;
}

/** A region, department or entry: objects carry name_zh and name_en. */
export function nameOf(obj) {
  if (!obj) return "";
  return (lang() === "en" ? obj.name_en : obj.name_zh) || obj.name_zh || obj.name || "";
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

export function setLang(next) {
  localStorage.setItem(STORE_KEY, next);
  applyI18n();
  window.dispatchEvent(new CustomEvent("langchange", { detail: next }));
}

/** Wire every `[data-lang-toggle]` button; `onChange` re-renders what JS drew. */
export function installLangToggle(onChange) {
  applyI18n();
  for (const button of document.querySelectorAll("[data-lang-toggle]")) {
    button.addEventListener("click", () => setLang(lang() === "en" ? "zh" : "en"));
  }
  if (onChange) window.addEventListener("langchange", onChange);
}
