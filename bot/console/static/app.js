// 客服工作台: queue, live chat (SSE), suggestions, tickets, KPI charts and alerts of news.
// No libraries; every user-provided string goes in through textContent, and Markdown (bot answers,
// agent replies) through the widget's own renderer, /widget/markdown.js, which builds DOM nodes too.
"use strict";

const REASONS = { user_request: "用户要求转人工", repeated_fallback: "机器人多次未答出",
                  negative_feedback: "答案被评无帮助", faq_policy: "需人工处理的业务",
                  sensitive: "消息含敏感词", agent_reopened: "客服重新打开" };
const OFFLINE = { closed: "非服务时间", no_agent: "无客服在线", busy: "排队已满" };
const CHANNELS = { rest: "REST", socketio: "网页", unknown: "未知" };
const STATES = { waiting: "等待接入", with_agent: "处理中", closed: "已结束" };

const state = {
  me: null, queue: null, clockSkew: 0,
  audit: null,          // {page, pages}: the 审计 table in 管理
  current: null,        // {type: "handoff"|"ticket", id}
  handoff: null,        // the open hand-off as last fetched
  seen: new Set(),      // event seqs shown for the open hand-off
  names: new Map(),     // agent name -> display name, from everything seen so far
  stream: null, ticker: null,
  inserted: null,       // {handoff, faq_id}: the suggested answer last put in the reply box
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Bot answers, agent replies, notices and 留言 answers as the customer's widget shows them: the
// same renderer (widget/markdown.js), the same allow-list of links. Customers' words stay plain text.
function markdown(text, cls = "body") {
  if (!window.FaqbotMarkdown) return el("span", { class: cls, text: text || "" });  // renderer missing: plain text
  return el("div", { class: `${cls} md` }, window.FaqbotMarkdown.render(text || ""));
}

// -- server calls ------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status, raw) { super(message); this.status = status; this.raw = raw || ""; }
}

// The server's messages are English; the agent sees Chinese.
const ERRORS = [
  [/already with (.+)$/, (m) => `该会话已由 ${agentName(m[1])} 接入`],
  [/just claimed by another agent/, () => "该会话刚刚被其他客服接入"],
  [/is with (.+), not /, (m) => `该会话由 ${agentName(m[1])} 处理，您不能操作`],
  [/waits for group (.+); only its members/, (m) => `该会话已分配给「${m[1]}」组，只有该组客服可以接入`],
  [/nobody in group (.+) is taking chats now/, (m) => `「${m[1]}」组当前没有可接待的客服`],
  [/(\S+) is not taking chats now/, (m) => `${agentName(m[1])} 当前不能接待（未登录、忙碌或离开）`],
  [/(\S+) has (\d+) conversations open; the limit is (\d+)/, (m) => `${agentName(m[1])} 已在处理 ${m[2]} 个会话（上限 ${m[3]} 个）`],
  [/only a claimed one is transferred/, () => "只有处理中的会话可以转接"],
  [/is already waiting or with an agent/, () => "该用户已有进行中的会话，请在队列中查看"],
  [/reply window has closed/, () => "已超过平台的回复窗口，无法主动联系该用户"],
  [/admins only|only an admin/, () => "只有管理员可以进行此操作"],
  [/editors only/, () => "只有知识库编辑和管理员可以使用知识库工具"],
  [/publish one with/, () => "还没有已发布的知识库索引：请先发布"],
  [/the last admin/, () => "这是最后一位管理员：请先把其他账号设为管理员"],
  [/you cannot disable your own account/, () => "不能停用自己的账号"],
  [/a group named .* already exists/, () => "已有同名技能组"],
  [/a group name is 1 to/, () => "技能组名称为 1–32 个字"],
  [/an account named .* already exists/, () => "该账号已存在"],
  [/account name .*: use 2/, () => "账号为 2–64 位字母、数字、_ . -"],
  [/the password must have at least (\d+)/, (m) => `密码至少 ${m[1]} 位`],
  [/has not been claimed/, () => "请先接入该会话"],
  [/is already closed|is closed/, () => "该会话已结束"],
  [/no hand-off/, () => "会话不存在或已被删除"],
  [/no ticket/, () => "留言不存在或已被删除"],
  [/you have (\d+) conversations open; the limit is (\d+)/, (m) => `您已在处理 ${m[1]} 个会话（上限 ${m[2]} 个），请先结束一个再接入`],
  [/the shortcut \/(\S+) is taken/, (m) => `快捷词 /${m[1]} 已被使用`],
  [/a shortcut is 1 to/, () => "快捷词为 1–32 个字符，不能有空格"],
  [/a reply is 1 to/, () => "回复内容为 1–2000 字"],
  [/no such canned reply/, () => "该快捷回复不存在或不能删除"],
  [/ticket .* is (\w+), not/, () => "该留言已被处理"],
  [/cannot be empty|'text' is required/, () => "内容不能为空"],
  [/'text' has (\d+) characters; the limit is (\d+)/, (m) => `内容过长（${m[1]} 字），最多 ${m[2]} 字`],
  [/too many failed sign-ins.*?(\d+) minutes/, (m) => `登录失败次数过多，请 ${m[1]} 分钟后再试`],
  [/不属于您的分组/, () => "这个会话不属于您的分组，无权查看"],
  [/not signed in/, () => "请重新登录"],
  [/cross-origin request refused|X-Faqbot-Console/, () => "请求被拒绝：请从客服工作台页面操作（可刷新页面后重试）"],
  [/must be JSON/, () => "请求格式错误，请刷新页面后重试"],
  [/the FAQ index is not available/, () => "知识库索引暂不可用，推荐答案稍后恢复"],
  [/^回复里有敏感词/, (m) => m.input],  // already Chinese: the server names the words (422)
];

function chinese(message) {
  for (const [pattern, say] of ERRORS) {
    const match = pattern.exec(message);
    if (match) return say(match);
  }
  return message ? `操作失败：${message}` : "操作失败";
}

// Every call says it comes from this page: the server refuses state-changing requests
// without this header, which another page cannot add (bot/web/console_guard.py).
async function api(path, body) {
  const options = { credentials: "same-origin", headers: { Accept: "application/json", "X-Faqbot-Console": "1" } };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let reply;
  try {
    reply = await fetch(path, options);
  } catch (error) {  // the server is restarting or the network is down; the live feed reconnects
    throw new ApiError("暂时无法连接服务器，正在重试…", 0);
  }
  const data = await reply.json().catch(() => ({}));
  if (reply.status === 401 && !path.endsWith("/login")) {
    showLogin();
    throw new ApiError("请重新登录", 401, data.error);
  }
  if (!reply.ok) {
    const raw = data.error || "";
    throw new ApiError(raw ? chinese(raw) : `请求失败（${reply.status}）`, reply.status, raw);
  }
  return data;
}

// A reply with a sensitive word is held by the server (422, the words named): the agent sees
// the warning and either edits the reply (cancel: the warning stays on the page) or confirms it.
const SENSITIVE_HELD = "回复里有敏感词";
async function sendReply(path, body) {
  try {
    return await api(path, body);
  } catch (error) {
    const raw = error instanceof ApiError && error.status === 422 ? String(error.raw || "") : "";
    // "[sensitive] agents_may_confirm = false": the warning says it cannot be sent; nothing to confirm.
    if (!raw.startsWith(SENSITIVE_HELD) || !raw.includes("确认后照常发送")) throw error;
    if (!window.confirm(`${error.message}\n\n确定仍要发送吗？`)) throw error;
    return api(path, { ...body, confirm_sensitive: true });
  }
}

function notify(message, kind = "error") {
  const line = $("action-note");
  line.textContent = message instanceof Error ? message.message : String(message || "");
  line.className = `notice ${kind}`;
}
const showError = (error) => notify(error, "error");

// -- formatting --------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "-";
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds}秒`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}分${String(seconds % 60).padStart(2, "0")}秒`;
  return `${Math.floor(minutes / 60)}小时${minutes % 60}分`;
}
function shortDuration(seconds) {  // axis labels: 0, 30秒, 2分, 1.5小时
  if (seconds < 60) return `${Math.round(seconds)}秒`;
  if (seconds < 3600) return `${+(seconds / 60).toFixed(1)}分`;
  return `${+(seconds / 3600).toFixed(1)}小时`;
}
const percent = (rate) => (rate === null || rate === undefined ? "-" : `${(rate * 100).toFixed(1)}%`);
const count = (value) => (value === null || value === undefined ? "-" : String(value));
const ms = (value) => (value === null || value === undefined ? "-" : `${Math.round(value)} ms`);

function clock(when) {  // "14:01:53", or "11-24 14:01" for another day
  if (when === null || when === undefined || when === "") return "";
  const date = typeof when === "number" ? new Date(when * 1000) : new Date(when);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString("zh-CN", { hour12: false });
  const today = new Date(serverNow()).toDateString() === date.toDateString();
  if (today) return time;
  return `${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")} ${time.slice(0, 5)}`;
}
const fullTime = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "-");
const serverNow = () => Date.now() + state.clockSkew;
const channelName = (channel) => CHANNELS[channel] || channel || "-";
const reasonName = (reason) => REASONS[reason] || reason || "-";

function agentName(name) {
  if (!name) return "";
  return state.names.get(name) || name;
}

// -- sign-in -----------------------------------------------------------------

function showLogin() {
  if (state.stream) { state.stream.close(); state.stream = null; }
  clearInterval(state.ticker);
  state.current = null;
  resetAlerts();
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-name").focus();
}

async function start() {
  let me;
  try {
    me = await api("/console/api/me");
  } catch (error) {
    if (error.status !== 401) {  // server not reachable: keep trying quietly
      $("login-error").textContent = error.message;
      $("login").hidden = false;
      setTimeout(start, 3000);
    }
    return;
  }
  state.me = me.agent;
  state.names.set(me.agent.name, me.agent.display_name);
  document.querySelector('.tabs button[data-tab="admin"]').hidden = me.agent.role !== "admin";
  document.querySelector('.tabs button[data-tab="studio"]').hidden = !["admin", "editor"].includes(me.agent.role);
  $("canned-team").parentElement.hidden = me.agent.role !== "admin";
  $("agent-name").textContent = me.agent.display_name;
  $("agent-status").value = me.agent.status || "online";
  $("hours").textContent = `服务时间：${me.hours.text}${me.hours.open ? "" : "（当前非服务时间）"}`;
  $("hours").classList.toggle("closed", !me.hours.open);
  $("login").hidden = true;
  $("login-error").textContent = "";
  $("app").hidden = false;
  await refreshQueue().catch(showError);
  openStream();
  clearInterval(state.ticker);
  state.ticker = setInterval(tickWaiting, 1000);
}

$("agent-status").addEventListener("change", () => act(async () => {
  await api("/console/api/status", { status: $("agent-status").value });
  await refreshQueue();
}));

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  if (!$("login-name").value.trim() || !$("login-password").value) {
    $("login-error").textContent = "请输入账号和密码";
    return;
  }
  $("login-submit").disabled = true;
  try {
    await api("/console/api/login", { name: $("login-name").value.trim(), password: $("login-password").value });
    $("login-password").value = "";
    await start();
  } catch (error) {
    $("login-error").textContent = error.status === 401 ? "账号或密码错误" : error.message;
  } finally {
    $("login-submit").disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("/console/api/logout", {}); } catch (error) { /* already signed out */ }
  showLogin();
});

// -- live feed ---------------------------------------------------------------

function openStream() {
  if (state.stream) state.stream.close();
  const stream = new EventSource("/console/api/stream");
  state.stream = stream;
  stream.addEventListener("handoff", (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch (error) { return; }
    onEvent(event);
  });
  stream.addEventListener("queue", () => scheduleQueue());
  stream.addEventListener("signed_out", () => showLogin());
  stream.addEventListener("open", () => {  // also after a reconnect: catch up on what changed meanwhile
    $("live-state").hidden = true;
    scheduleQueue();
    if (state.current && state.current.type === "handoff") reloadCurrent().catch(showError);
  });
  stream.addEventListener("error", async () => {
    if (state.stream !== stream) return;
    $("live-state").hidden = false;
    if (stream.readyState === EventSource.CLOSED) {  // refused (e.g. 401): find out why, retry later
      try {
        await api("/console/api/me");
        setTimeout(() => { if (state.stream === stream) openStream(); }, 2000);
      } catch (error) {
        if (error.status !== 401) setTimeout(() => { if (state.stream === stream) openStream(); }, 3000);
      }
    }
  });
}

let queueSoon = null;
function scheduleQueue() {
  clearTimeout(queueSoon);
  queueSoon = setTimeout(() => refreshQueue().catch(showError), 150);
}

function onEvent(event) {
  if (["created", "claimed", "transferred", "closed", "user_message", "agent_message"].includes(event.kind)) scheduleQueue();
  eventAlerts(event);
  if (!isCurrent("handoff", event.handoff_id)) return;
  appendEvent(event, true);
  if (["claimed", "transferred", "closed"].includes(event.kind)) reloadCurrent().catch(showError);
  if (event.kind === "user_message") loadSuggestions();
}

// -- queue -------------------------------------------------------------------

async function refreshQueue() {
  const queue = await api("/console/api/queue");
  state.queue = queue;
  state.clockSkew = new Date(queue.now).getTime() - Date.now();
  for (const agent of queue.agents_online) state.names.set(agent.name, agent.display_name);
  const online = $("online");
  const taking = queue.agents_online.filter((a) => (a.status || "online") === "online");
  online.textContent = `可接待客服：${taking.length} / 在线 ${queue.agents_online.length}`;
  online.title = queue.agents_online.map((a) => `${a.display_name}（${STATUS_NAMES[a.status] || "在线"}）`).join("、") || "暂无";
  const byAge = (a, b) => new Date(a.created_at) - new Date(b.created_at);
  const mine = (h) => (state.me && h.agent === state.me.name ? 0 : 1);
  const waiting = queue.handoffs.filter((h) => h.state === "waiting").sort(byAge);
  const active = queue.handoffs.filter((h) => h.state === "with_agent").sort((a, b) => mine(a) - mine(b) || byAge(a, b));
  $("count-waiting").textContent = waiting.length;
  $("count-waiting").classList.toggle("hot", waiting.length > 0);
  $("count-active").textContent = active.length;
  $("count-tickets").textContent = queue.tickets.length;
  queueAlerts(queue);
  fillList($("queue-waiting"), waiting.map(handoffItem), "暂无等待中的会话");
  fillList($("queue-active"), active.map(handoffItem), "暂无处理中的会话");
  fillList($("queue-tickets"), queue.tickets.map(ticketItem), "暂无留言");
  $("count-answered").textContent = queue.answered.length;
  fillList($("queue-answered"), queue.answered.map(ticketItem), "暂无已回复的留言");
  tickWaiting();
}

function fillList(list, items, empty) {
  list.replaceChildren(...(items.length ? items : [el("li", { class: "empty", text: empty })]));
}

function isCurrent(type, id) {
  return Boolean(state.current && state.current.type === type && state.current.id === id);
}

// A hand-off routed to a group waits for its members (and admins).
function mayClaim(h) {
  return !h.group || !state.me || state.me.role === "admin" || h.group.members.includes(state.me.name);
}

function handoffItem(h) {
  const mine = Boolean(h.agent && state.me && h.agent === state.me.name);
  const others = h.state === "waiting" && !mayClaim(h);
  const cls = ["item", mine ? "mine" : "", others ? "others" : "", isCurrent("handoff", h.id) ? "selected" : ""]
    .join(" ").replace(/\s+/g, " ").trim();
  const status = h.state === "waiting"
    ? el("span", { class: "waited", "data-created": h.waiting_since || h.created_at })
    : el("span", { class: mine ? "owner me" : "owner", text: mine ? "我在处理" : `${agentName(h.agent)} 处理中` });
  return el("li", { class: cls, "data-testid": "queue-item", "data-handoff-id": h.id, "data-state": h.state,
                    tabindex: "0", role: "button", onclick: () => selectHandoff(h.id), onkeydown: activateOnEnter },
    el("div", { class: "line1" }, el("span", { class: "ref", text: h.ticket }),
       el("span", { class: "tag", text: channelName(h.channel) }),
       ...(h.group ? [el("span", { class: "tag group", "data-testid": "queue-group", text: h.group.name,
                                   title: others ? "分配给该组，您不在组内" : "分配给该组" })] : [])),
    el("div", { class: "line2" }, el("span", { text: reasonName(h.reason) }), status),
    el("div", { class: "preview", text: h.last_message || "（暂无用户消息）", title: h.last_message || null }));
}

function ticketItem(t) {
  return el("li", { class: `item${isCurrent("ticket", t.id) ? " selected" : ""}`, "data-testid": "ticket-item",
                    "data-ticket-id": t.id, tabindex: "0", role: "button", onclick: () => selectTicket(t.id),
                    onkeydown: activateOnEnter },
    el("div", { class: "line1" }, el("span", { class: "ref", text: t.ticket }),
       el("span", { class: `tag offline-${t.why_offline}`, text: OFFLINE[t.why_offline] || t.why_offline }),
       ...(t.state === "reopened" || t.state === "closed"
         ? [el("span", { class: `tag state-${t.state}`, "data-testid": "ticket-state", text: t.state === "closed" ? "已关闭" : "用户追问" })] : [])),
    el("div", { class: "line2" }, el("span", { class: "contact", text: t.contact || "未留联系方式" }),
       el("span", { text: clock(t.submitted_at || t.created_at) })),
    el("div", { class: "preview", text: t.question || "", title: t.question || null }));
}

function activateOnEnter(event) {
  if (event.key === "Enter" || event.key === " ") { event.preventDefault(); event.currentTarget.click(); }
}

function tickWaiting() {
  for (const node of document.querySelectorAll(".waited")) {
    const seconds = (serverNow() - new Date(node.dataset.created).getTime()) / 1000;
    node.textContent = `已等待 ${duration(seconds)}`;
    node.classList.toggle("long", seconds >= 180);
  }
}

// -- alerts: a sound, the count in the tab title, desktop notifications ------
//
// News is a hand-off that enters the waiting queue, a new 留言, or a customer's message in a
// conversation this agent has claimed. Only what is new since the page loaded (or the agent signed
// in) alerts: the first queue is the baseline, the live feed starts at its newest event, and each
// item and event alerts once, so neither the first load nor a reconnect's catch-up repeats old
// news; the agent's own actions (claim, reply, note, close, answering a 留言) never alert. An item
// counts in the title until the agent looks at it: the page visible and focused, the item selected.
// Browsers play sound only after a user gesture, so the AudioContext is made on the first click or
// key press; desktop notifications are asked for only from the header button (a gesture) and shown
// only while the agent is not looking at the page.

const TITLE = "客服工作台";
const ALERT_PREFS = "faqbot-console:alerts";
const alerts = {
  ...readAlertPrefs(),  // sound (default on) and desktop (default off): the header toggles
  unread: new Map(),    // "handoff:<id>" | "ticket:<id>" -> how many alerts the agent has not looked at
  known: null,          // the keys of waiting hand-offs and 留言 already seen; null until the first queue
  mine: new Set(),      // hand-offs this agent holds (the live feed says so before the next queue)
  lastSeq: 0,           // the newest live event that could alert
  audio: null, lastBeep: 0, beepSoon: null,
  shown: new Map(),     // key -> its desktop notification, closed when the agent looks
};

function readAlertPrefs() {
  try {
    const saved = JSON.parse(localStorage.getItem(ALERT_PREFS)) || {};
    return { sound: saved.sound !== false, desktop: saved.desktop === true };
  } catch (error) {
    return { sound: true, desktop: false };
  }
}

function saveAlertPrefs() {
  try {
    localStorage.setItem(ALERT_PREFS, JSON.stringify({ sound: alerts.sound, desktop: alerts.desktop }));
  } catch (error) { /* storage refused (private mode): the choice lasts while the page is open */ }
}

const keyOf = (type, id) => `${type}:${id}`;
const looking = () => document.visibilityState === "visible" && document.hasFocus();
const selectedKey = () => (state.current && !$("tab-chat").hidden ? keyOf(state.current.type, state.current.id) : null);

function showUnread() {
  let total = 0;
  for (const n of alerts.unread.values()) total += n;
  document.title = total ? `(${total}) ${TITLE}` : TITLE;
}

// The agent is looking at the selected item: it is read, and its desktop notification goes.
function markSeen() {
  const key = selectedKey();
  if (!key || !looking()) return;
  alerts.unread.delete(key);
  const shown = alerts.shown.get(key);
  if (shown) { shown.close(); alerts.shown.delete(key); }
  showUnread();
}
window.addEventListener("focus", markSeen);
document.addEventListener("visibilitychange", markSeen);

function resetAlerts() {
  for (const shown of alerts.shown.values()) shown.close();
  alerts.shown.clear();
  alerts.unread.clear();
  alerts.mine.clear();
  alerts.known = null;
  showUnread();
}

function alertAgent(key, title, body) {
  if (looking() && selectedKey() === key) return;  // on screen already
  alerts.unread.set(key, (alerts.unread.get(key) || 0) + 1);
  showUnread();
  beep();
  if (!looking()) showDesktop(key, title, body);
}

// Each queue: new waiting hand-offs and 留言 alert; unread counts stay only on what is still the
// agent's to look at (waiting, theirs, an open 留言).
function queueAlerts(queue) {
  const me = state.me ? state.me.name : null;
  // Only what this agent may take: a hand-off waiting for another group is not news for them.
  const waiting = queue.handoffs.filter((h) => h.state === "waiting" && mayClaim(h));
  const held = queue.handoffs.filter((h) => h.state === "with_agent" && h.agent === me);
  alerts.mine = new Set(held.map((h) => h.id));
  const first = alerts.known === null;
  if (first) alerts.known = new Set();
  const news = [...waiting.map((h) => ["handoff", h]), ...queue.tickets.map((t) => ["ticket", t])];
  for (const [type, item] of news) {
    const key = keyOf(type, item.id);
    // A hand-off transferred back to the queue, or a 留言 the customer added to, is news again.
    const stamp = `${key}@${type === "handoff" ? item.waiting_since || item.created_at : item.submitted_at}`;
    if (alerts.known.has(stamp)) continue;
    alerts.known.add(stamp);
    if (first) continue;
    if (type === "handoff") {
      alertAgent(key, "新的转人工会话",
        `会话 ${item.ticket} · ${reasonName(item.reason)}${item.last_message ? `：${item.last_message}` : ""}`);
    } else {
      alertAgent(key, "新的留言", `留言 ${item.ticket}：${item.question || "（用户没有写问题）"}`);
    }
  }
  const open = new Set([...waiting, ...held].map((h) => keyOf("handoff", h.id))
    .concat(queue.tickets.map((t) => keyOf("ticket", t.id))));
  for (const key of [...alerts.unread.keys()]) if (!open.has(key)) alerts.unread.delete(key);
  showUnread();
}

// Each live event: a customer's message in a conversation this agent holds alerts.
function eventAlerts(event) {
  const me = state.me ? state.me.name : null;
  if (event.kind === "claimed") {
    if (event.actor === me) alerts.mine.add(event.handoff_id); else alerts.mine.delete(event.handoff_id);
  }
  if (event.kind === "closed") alerts.mine.delete(event.handoff_id);
  let to = {};
  if (event.kind === "transferred") {
    try { to = JSON.parse(event.text || "{}"); } catch (e) { /* not for me then */ }
    if (to.to_agent === me) alerts.mine.add(event.handoff_id); else alerts.mine.delete(event.handoff_id);
  }
  if (!(event.seq > alerts.lastSeq)) return;  // alerted already
  alerts.lastSeq = event.seq;
  if (event.kind === "transferred" && to.to_agent === me) {  // a colleague handed me a live chat
    alertAgent(keyOf("handoff", event.handoff_id), "有会话转给您", `${agentName(event.actor)} 把一个会话转接给了您`);
    return;
  }
  if (event.kind !== "user_message" || !alerts.mine.has(event.handoff_id)) return;
  const h = state.queue && state.queue.handoffs.find((x) => x.id === event.handoff_id);
  alertAgent(keyOf("handoff", event.handoff_id), "用户发来新消息", `${h ? `会话 ${h.ticket}：` : ""}${event.text || ""}`);
}

// The sound: a short two-tone beep (WebAudio, no file).
function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  try {
    if (!alerts.audio) alerts.audio = new Context();
    if (alerts.audio.state === "suspended") alerts.audio.resume().then(showAlertToggles, () => {});
  } catch (error) {
    alerts.audio = null;
  }
  showAlertToggles();
}
document.addEventListener("pointerdown", unlockAudio, true);
document.addEventListener("keydown", unlockAudio, true);

// At most one beep a second: news that comes sooner is beeped once when the second is up.
const BEEP_GAP_MS = 1000;
function beep() {
  const audio = alerts.audio;
  if (!alerts.sound || !audio || alerts.beepSoon) return;
  const wait = alerts.lastBeep + BEEP_GAP_MS - Date.now();
  if (wait > 0) {
    alerts.beepSoon = setTimeout(() => { alerts.beepSoon = null; beep(); }, wait);
    return;
  }
  alerts.lastBeep = Date.now();
  try {
    const start = audio.currentTime;
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.type = "sine";
    tone.frequency.setValueAtTime(880, start);
    tone.frequency.setValueAtTime(1320, start + 0.12);
    volume.gain.setValueAtTime(0.0001, start);
    volume.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
    volume.gain.exponentialRampToValueAtTime(0.0001, start + 0.3);
    tone.connect(volume).connect(audio.destination);
    tone.start(start);
    tone.stop(start + 0.32);
  } catch (error) { /* the sound is a convenience */ }
}

// Desktop notifications: the Notification API needs a secure context (https or localhost).
const notificationsExist = () => "Notification" in window && window.isSecureContext;

function showDesktop(key, title, body) {
  if (!alerts.desktop || !notificationsExist() || Notification.permission !== "granted") return;
  try {
    const shown = new Notification(title, { body, tag: `faqbot-${key}`, lang: "zh-CN" });
    shown.onclick = () => { window.focus(); shown.close(); openAlerted(key); };
    alerts.shown.set(key, shown);
  } catch (error) { /* e.g. Chrome on Android shows them only from a service worker */ }
}

function openAlerted(key) {
  const split = key.indexOf(":");
  const type = key.slice(0, split), id = key.slice(split + 1);
  showTab("chat");
  if (isCurrent(type, id)) markSeen();
  else if (type === "handoff") selectHandoff(id);
  else selectTicket(id);
}

const DENIED = "浏览器已禁止本站的桌面通知：请在浏览器的网站设置中允许通知，然后刷新页面。";

function showAlertToggles() {
  const sound = $("alert-sound");
  const locked = alerts.sound && (!alerts.audio || alerts.audio.state !== "running");
  sound.setAttribute("aria-pressed", String(alerts.sound));
  sound.textContent = alerts.sound ? "声音提醒：开" : "声音提醒：关";
  sound.classList.toggle("waiting", locked);
  sound.title = !alerts.sound ? "点击开启：有新会话、新留言或用户新消息时播放提示音"
    : locked ? "浏览器要求先在页面上点击或按键一次，之后才能播放提示音" : "有新会话、新留言或用户新消息时播放提示音；点击关闭";
  const desktop = $("alert-desktop");
  const permission = notificationsExist() ? Notification.permission : "unsupported";
  const on = alerts.desktop && permission === "granted";
  desktop.setAttribute("aria-pressed", String(on));
  desktop.dataset.permission = permission;
  desktop.disabled = permission === "unsupported";
  desktop.classList.toggle("blocked", permission === "denied");
  desktop.textContent = permission === "unsupported" ? "桌面通知不可用" : permission === "denied" ? "桌面通知已被浏览器禁止"
    : on ? "桌面通知：开" : "开启桌面通知";
  desktop.title = permission === "unsupported"
    ? (window.isSecureContext ? "此浏览器不支持桌面通知" : "桌面通知需要通过 https 打开客服工作台")
    : permission === "denied" ? DENIED
    : on ? "页面不在前台时，新会话、新留言和用户新消息会弹出桌面通知；点击关闭" : "页面不在前台时弹出桌面通知（浏览器会先询问是否允许）";
}

$("alert-sound").addEventListener("click", () => {
  alerts.sound = !alerts.sound;
  saveAlertPrefs();
  showAlertToggles();
  if (alerts.sound) beep();  // what it sounds like
});

$("alert-desktop").addEventListener("click", async () => {
  if (!notificationsExist()) return;
  if (Notification.permission === "default") {  // asked only here, from the agent's click
    let answer;
    try { answer = await Notification.requestPermission(); } catch (error) { answer = Notification.permission; }
    alerts.desktop = answer === "granted";
  } else {
    alerts.desktop = Notification.permission === "granted" && !alerts.desktop;
  }
  if (Notification.permission === "denied") notify(DENIED);
  saveAlertPrefs();
  showAlertToggles();
});

// The agent may change the permission in the browser's site settings while the page is open.
if (navigator.permissions && notificationsExist()) {
  navigator.permissions.query({ name: "notifications" })
    .then((status) => { status.addEventListener("change", showAlertToggles); }, () => {});
}
showAlertToggles();

// -- a hand-off --------------------------------------------------------------

async function selectHandoff(id) {
  state.current = { type: "handoff", id };
  state.handoff = null;
  state.seen = new Set();
  notify("");
  markSeen();
  $("ticket-controls").hidden = true;
  $("ticket-close-controls").hidden = true;
  $("controls").hidden = true;
  $("conv-header").replaceChildren(el("span", { class: "muted", text: "正在加载…" }));
  // Two parts: the bot's transcript (filled from GET) and the live events (GET + stream, deduplicated).
  $("conversation").replaceChildren(
    el("div", { class: "section-label", text: "机器人对话记录" }),
    el("div", { class: "part", id: "transcript" }),
    el("div", { class: "section-label", text: "人工服务" }),
    el("div", { class: "part", id: "live" }));
  $("suggestions").replaceChildren();
  $("suggest-question").textContent = "正在查找推荐答案…";
  $("customer-panel").hidden = true;
  markSelected();
  await reloadCurrent().catch(showError);
  loadSuggestions();
}

function markSelected() {
  for (const node of document.querySelectorAll("#tab-chat .item")) {
    const selected = state.current && (node.dataset.handoffId === state.current.id || node.dataset.ticketId === state.current.id);
    node.classList.toggle("selected", Boolean(selected));
  }
}

async function reloadCurrent() {
  if (!state.current || state.current.type !== "handoff") return;
  const id = state.current.id;
  let data;
  try {
    data = await api(`/console/api/handoffs/${encodeURIComponent(id)}`);
  } catch (error) {  // transferred to a group this agent is not in: no longer theirs to see (403)
    if (error.status !== 403 || !isCurrent("handoff", id)) throw error;
    state.current = null;
    state.handoff = null;
    $("controls").hidden = true;
    $("conversation").replaceChildren();
    $("conv-header").replaceChildren(el("span", { class: "muted", "data-testid": "not-yours", text: "该会话已不在您的分组，请从左侧选择下一项" }));
    return;
  }
  if (!isCurrent("handoff", id)) return;
  const first = state.handoff === null;
  state.handoff = data.handoff;
  renderHeader(data.handoff);
  if (first) renderTranscript(data.handoff);
  if (data.customer) renderCustomer(data.customer);
  for (const event of data.events) appendEvent(event, false);
  renderControls(data.handoff);
  if (first) scrollToEnd();
}

function renderHeader(h) {
  const status = h.state === "with_agent" ? `${agentName(h.agent)} 处理中` : (STATES[h.state] || h.state);
  $("conv-header").replaceChildren(
    el("b", { class: "ref", text: `会话 ${h.ticket}` }),
    el("span", { class: "tag", text: channelName(h.channel) }),
    el("span", { class: `state state-${h.state}`, text: status }),
    el("span", { class: "muted", text: reasonName(h.reason) }),
    el("span", { class: "muted", text: `用户 ${h.conversation_id}` }),
    el("span", { class: "muted", text: `进入排队 ${clock(h.created_at)}` }));
}

function renderTranscript(h) {
  const part = $("transcript");
  const lines = h.transcript || [];
  if (!lines.length) part.append(el("div", { class: "msg system", text: "（没有机器人对话记录）" }));
  for (const line of lines) part.append(transcriptLine(line));
}

function transcriptLine(line) {
  const user = line.role === "user";
  const when = clock(line.time);
  return el("div", { class: `msg ${user ? "user" : "bot"} transcript`, "data-testid": "msg",
                     "data-kind": user ? "transcript-user" : "transcript-bot" },
    el("span", { class: "who", text: `${user ? "用户" : "机器人"}${when ? ` · ${when}` : ""}` }),
    user ? el("span", { class: "body", text: line.text }) : markdown(line.text),
    ...(line.buttons && line.buttons.length
      ? [el("span", { class: "options", "data-testid": "transcript-options" },
            ...line.buttons.map((title) => el("span", { class: "option", text: title })))]
      : []));
}

function appendEvent(event, live) {
  const part = $("live");
  if (!part || state.seen.has(event.seq)) return;
  state.seen.add(event.seq);
  const who = (label) => el("span", { class: "who", text: `${label} · ${clock(event.at)}` });
  const body = () => el("span", { class: "body", text: event.text || "" });
  const attrs = (cls) => ({ class: `msg ${cls}`, "data-testid": "msg", "data-kind": event.kind, "data-seq": event.seq });
  const actor = agentName(event.actor);
  let node;
  switch (event.kind) {
    case "user_message": node = el("div", attrs("user"), who("用户"), body()); break;
    case "agent_message": node = el("div", attrs(`agent${state.me && event.actor === state.me.name ? " mine" : ""}`),
                                    who(`客服 ${actor}`), markdown(event.text)); break;
    case "bot_message": node = el("div", attrs("system notice"), who("系统通知用户"), markdown(event.text)); break;
    case "note": node = el("div", attrs("note"), who(`内部备注（用户不可见）· ${actor}`), body()); break;
    case "created": node = el("div", attrs("system"), `${clock(event.at)} 用户进入排队`); break;
    case "claimed": node = el("div", attrs("system"), `${clock(event.at)} ${actor} 已接入`); break;
    case "transferred": node = el("div", attrs("system"), transferText(event)); break;
    case "closed": node = el("div", attrs("system"),
      `${clock(event.at)} 会话已结束${event.actor ? `（${actor}）` : "（用户取消）"}，已交还机器人`); break;
    case "wrapup": node = el("div", attrs("system wrapup"), wrapupText(event)); break;
    case "rating": node = el("div", attrs(`system rating-${event.text}`),
      `${clock(event.at)} 用户评价：${event.text === "good" ? "满意" : event.text === "bad" ? "不满意" : event.text || ""}`); break;
    default: node = el("div", attrs("system"), `${clock(event.at)} ${event.kind} ${event.text || ""}`);
  }
  const later = [...part.children].find((n) => Number(n.dataset.seq) > event.seq);
  if (later) part.insertBefore(node, later); else part.append(node);
  if (live) scrollToEnd();
}

const WRAPUP = { resolved: "问题已解决", unresolved: "未能解决，已告知用户", no_reply: "用户无回应", other: "其他" };

function wrapupText(event) {
  let data = {};
  try { data = JSON.parse(event.text || "{}"); } catch (e) { /* shown as it is below */ }
  const tags = (data.tags || []).length ? ` · 标签：${data.tags.join("、")}` : "";
  return `${clock(event.at)} 结束原因：${WRAPUP[data.reason] || data.reason || event.text}${tags}（${agentName(event.actor)}）`;
}

function transferText(event) {
  let data = {};
  try { data = JSON.parse(event.text || "{}"); } catch (e) { /* shown as it is below */ }
  const to = data.to_agent ? `客服 ${agentName(data.to_agent)}` : `「${data.to_group || "其他客服"}」组（重新排队）`;
  return `${clock(event.at)} ${agentName(event.actor)} 转接给 ${to}`;
}

function scrollToEnd() {
  const box = $("conversation");
  box.scrollTop = box.scrollHeight;
}

// A platform's reply window (WeChat 48 h, Messenger 24 h): past it nothing can be pushed to the customer.
function showWindow(line, win) {
  line.hidden = !win;
  if (!win) return;
  line.classList.toggle("error", !win.open);
  if (win.open) {
    const hours = Math.max(0, (new Date(win.closes_at).getTime() - serverNow()) / 3600000);
    line.textContent = `${win.name}回复窗口还剩约 ${hours < 1 ? "不到 1" : Math.floor(hours)} 小时（至 ${fullTime(win.closes_at)}），在此之前的回复会直接发到用户的${win.name.startsWith("Messenger") ? " Messenger" : "微信"}。`;
  } else {
    line.textContent = `已超过${win.name} ${win.hours} 小时回复窗口${win.last_message_at ? `（用户最后一条消息：${fullTime(win.last_message_at)}）` : ""}：平台不允许主动发送，回复会在用户下次发消息时送达；如留了联系方式，也会通过邮件或短信通知。`;
  }
}

function renderControls(h) {
  showWindow($("handoff-window"), h.reply_window);
  const mine = h.state === "with_agent" && Boolean(state.me) && h.agent === state.me.name;
  const open = h.state === "waiting" || h.state === "with_agent";
  $("controls").hidden = false;
  $("claim").hidden = h.state !== "waiting";
  $("claim").disabled = !mayClaim(h);
  $("claim").title = mayClaim(h) ? "" : `该会话已分配给「${h.group.name}」组`;
  $("transfer").hidden = !mine;
  $("reopen").hidden = h.state !== "closed";
  if (!mine) $("transfer-dialog").hidden = true;
  $("close").hidden = !open;
  if (!open) $("close-dialog").hidden = true;
  $("close").disabled = !(h.state === "waiting" || mine);
  $("close").title = $("close").disabled ? "只有接入该会话的客服可以结束" : "";
  $("message-input").disabled = !mine;
  $("send").disabled = !mine;
  $("message-input").placeholder = mine ? "输入回复，Enter 发送，Shift+Enter 换行"
    : h.state === "waiting" ? "请先点击“接入”，再回复用户" : h.state === "closed" ? "会话已结束" : `${agentName(h.agent)} 正在处理该会话`;
  $("note-input").disabled = !open;
  $("note-add").disabled = !open;
}

async function act(work) {
  notify("");
  try { await work(); } catch (error) { showError(error); }
}

// Back to ``node`` after a request, unless the agent has moved on meanwhile (typing a note,
// another conversation): stealing focus mid-typing sends their words to the wrong box.
function focusUnlessMoved(node, ...from) {
  const active = document.activeElement;
  if (!active || active === document.body || active === node || from.includes(active)) node.focus();
}

const handoffPath = (suffix) => `/console/api/handoffs/${encodeURIComponent(state.current.id)}/${suffix}`;

$("claim").addEventListener("click", () => act(async () => {
  if (!state.current || state.current.type !== "handoff") return;
  $("claim").disabled = true;
  try {
    await api(handoffPath("claim"), {});
  } finally {
    $("claim").disabled = false;
    await reloadCurrent().catch(() => {});
    scheduleQueue();
  }
  focusUnlessMoved($("message-input"), $("claim"));
}));

$("reopen").addEventListener("click", () => act(async () => {
  if (!state.current || state.current.type !== "handoff") return;
  const opened = await api(handoffPath("reopen"), {});
  scheduleQueue();
  await selectHandoff(opened.handoff.id);
  notify("已重新打开，用户会收到通知，可以直接回复。", "info");
  focusUnlessMoved($("message-input"), $("reopen"));
}));

// Closing asks first: why (for the team's records and KPIs) and optional tags.
$("close").addEventListener("click", () => {
  if (!state.current || state.current.type !== "handoff") return;
  $("close-dialog").hidden = false;
  $("close-reason").focus();
});
$("close-cancel").addEventListener("click", () => { $("close-dialog").hidden = true; $("close").focus(); });
$("close-confirm").addEventListener("click", () => act(async () => {
  if (!state.current || state.current.type !== "handoff") return;
  const tags = $("close-tags").value.split(/[,，、]/).map((t) => t.trim()).filter(Boolean);
  await api(handoffPath("close"), { reason: $("close-reason").value, tags });
  $("close-dialog").hidden = true;
  $("close-tags").value = "";
  await reloadCurrent();
  scheduleQueue();
}));

// Transfer: to an agent taking chats now (stays live) or to a group with someone available (requeued).
function transferTargets() {
  const queue = state.queue || { agents_online: [], groups: [] };
  const me = state.me ? state.me.name : "";
  const taking = queue.agents_online.filter((a) => a.name !== me && (a.status || "online") === "online");
  const options = [];
  for (const a of taking) {
    options.push(el("option", { value: `agent:${a.name}`, text: `客服 ${a.display_name}（处理中 ${a.chats || 0} 个）` }));
  }
  for (const g of queue.groups || []) {
    const free = g.members.filter((m) => taking.some((a) => a.name === m)).length;
    options.push(el("option", { value: `group:${g.id}`, text: `技能组「${g.name}」（可接待 ${free} 人）`,
                                disabled: free === 0 ? "" : null }));
  }
  return options;
}

$("transfer").addEventListener("click", () => act(async () => {
  if (!state.current || state.current.type !== "handoff") return;
  await refreshQueue();
  const options = transferTargets();
  $("transfer-target").replaceChildren(...(options.length ? options
    : [el("option", { value: "", text: "暂无可转接的客服或技能组", disabled: "" })]));
  $("transfer-confirm").disabled = !options.some((o) => !o.disabled);
  $("transfer-dialog").hidden = false;
  $("transfer-target").focus();
}));
$("transfer-cancel").addEventListener("click", () => { $("transfer-dialog").hidden = true; $("transfer").focus(); });
$("transfer-confirm").addEventListener("click", () => act(async () => {
  if (!state.current || state.current.type !== "handoff") return;
  const [kind, target] = $("transfer-target").value.split(/:(.*)/s);
  if (!target) return;
  const body = kind === "group" ? { group: Number(target) } : { agent: target };
  const note = $("transfer-note").value.trim();
  if (note) body.note = note;
  await api(handoffPath("transfer"), body);
  $("transfer-dialog").hidden = true;
  $("transfer-note").value = "";
  notify("已转接；对方接手后由其继续回复用户。", "info");
  await reloadCurrent();
  scheduleQueue();
}));

let sending = false;
// What the agent just did shows at once, not only when the live feed brings it back (the feed
// can be reconnecting, e.g. after a server restart): read the conversation back (deduplicated by seq).
async function showOwnChange() {
  await reloadCurrent();
}

async function sendMessage() {
  const input = $("message-input");
  const text = input.value.trim();
  if (!text || sending || input.disabled || !state.current || state.current.type !== "handoff") return;
  sending = true;
  $("send").disabled = true;
  await act(async () => {
    // Which suggested answer went into the box, if any: editors get its question as a similar one.
    const used = state.inserted && state.inserted.handoff === state.current.id ? state.inserted.faq_id : undefined;
    const sent = await sendReply(handoffPath("messages"), { text, faq_id: used });
    if (used !== undefined && state.inserted && state.inserted.faq_id === used) state.inserted = null;
    if (input.value.trim() === text) input.value = "";  // not what the agent typed meanwhile
    if (sent.delivered === "stored") notify("用户当前不在线，消息已保存，用户回来后可以看到。", "info");
    else if (sent.delivered === "poll") notify("消息已发出，用户的应用下次获取消息时收到。", "info");
    await showOwnChange();
  });
  sending = false;
  if (state.handoff) renderControls(state.handoff);
  focusUnlessMoved(input, $("send"));
}
$("send").addEventListener("click", sendMessage);
// The customer sees "对方正在输入…" only while the agent really types: at most one hint per 2 s.
let typingSent = 0;
$("message-input").addEventListener("input", () => {
  if (!state.current || state.current.type !== "handoff" || $("message-input").disabled) return;
  if (Date.now() - typingSent < 2000 || !$("message-input").value.trim()) return;
  typingSent = Date.now();
  api(handoffPath("typing"), {}).catch(() => {});  // a hint only: never an error for the agent
});
$("message-input").addEventListener("keydown", (event) => {
  if (!$("canned-suggest").hidden) return;  // Enter picks the canned reply (below), it does not send
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendMessage(); }
});

async function addNote() {
  const text = $("note-input").value.trim();
  if (!text || !state.current || state.current.type !== "handoff") return;
  await act(async () => {
    await api(handoffPath("notes"), { text });
    if ($("note-input").value.trim() === text) $("note-input").value = "";
    await showOwnChange();
  });
}
$("note-add").addEventListener("click", addNote);
$("note-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.isComposing) { event.preventDefault(); addNote(); }
});

async function loadSuggestions() {
  if (!state.current || state.current.type !== "handoff") return;
  const id = state.current.id;
  try {
    const data = await api(`/console/api/handoffs/${encodeURIComponent(id)}/suggestions`);
    if (!isCurrent("handoff", id)) return;
    $("suggest-question").replaceChildren(...(data.question
      ? [el("span", { class: "muted", text: "用户最新问题：" }), el("b", { text: data.question })]
      : [el("span", { class: "muted", text: "用户还没有提问。" })]));
    fillList($("suggestions"), data.suggestions.map(suggestionItem),
             data.suggestions_unavailable ? "知识库索引暂不可用，推荐答案稍后恢复" : data.question ? "知识库中没有相关答案" : "");
  } catch (error) {
    if (!isCurrent("handoff", id)) return;
    $("suggest-question").textContent = `推荐答案暂不可用：${error.message}`;
  }
}

function suggestionItem(s) {
  const level = Math.max(0, Math.min(1, Number(s.confidence) || 0));
  return el("li", { class: "suggestion", "data-testid": "suggestion", "data-faq-id": s.faq_id },
    el("div", { class: "q", text: s.question }),
    markdown(s.answer, "a"),  // drawn as the customer will see it; 插入 puts the Markdown itself in the reply box
    el("div", { class: "foot" },
      el("span", { class: "confidence", title: "与用户问题的匹配度" },
        el("span", { class: "meter" }, meterFill(level)),
        `匹配度 ${Math.round(level * 100)}%`),
      el("button", { "data-testid": "suggestion-insert", type: "button", text: "插入",
                     title: "把这条答案放进回复框（可修改后发送）", onclick: () => insertAnswer(s.answer, s.faq_id) })));
}

function meterFill(level) {
  const fill = el("span", { class: level >= 0.6 ? "high" : level >= 0.3 ? "mid" : "low" });
  fill.style.width = `${Math.round(level * 100)}%`;
  return fill;
}

// -- canned replies (快捷回复) -------------------------------------------------

state.canned = [];

async function loadCanned() {
  const data = await api("/console/api/canned");
  state.canned = data.replies;
  fillList($("canned-list"), state.canned.map((r) => el("li", { class: "canned-item", "data-testid": "canned-item",
      "data-shortcut": r.shortcut },
    el("b", { text: `/${r.shortcut}` }), el("span", { class: "tag", text: r.team ? "团队" : "个人" }),
    el("span", { class: "text", text: r.text }),
    el("button", { type: "button", text: "插入", onclick: () => insertAnswer(r.text) }),
    ...(!r.team || isAdmin() ? [el("button", { type: "button", class: "link", text: "删除", "data-testid": "canned-remove",
                   onclick: () => act(async () => { await api(`/console/api/canned/${r.id}/delete`, {}); await loadCanned(); }) })] : []))),
    "还没有快捷回复，在下面添加");
}

$("canned-toggle").addEventListener("click", () => {
  const panel = $("canned-panel");
  panel.hidden = !panel.hidden;
  $("canned-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  if (!panel.hidden) loadCanned().catch(showError);
});

$("canned-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("canned-error").textContent = "";
  api("/console/api/canned", { shortcut: $("canned-shortcut").value, text: $("canned-text").value,
                               team: $("canned-team").checked })
    .then(() => { $("canned-shortcut").value = ""; $("canned-text").value = ""; return loadCanned(); })
    .catch((error) => { $("canned-error").textContent = error.message; });
});

// Typing "/" and a shortcut or a word in the reply box offers the matching canned replies.
function cannedMatches() {
  const value = $("message-input").value;
  if (!value.startsWith("/") || value.includes("\n")) return [];
  const word = value.slice(1).trim().toLowerCase();
  return state.canned.filter((r) => !word || r.shortcut.toLowerCase().startsWith(word) || r.text.toLowerCase().includes(word))
    .slice(0, 8);
}

function showCannedMatches() {
  const found = cannedMatches();
  const list = $("canned-suggest");
  list.hidden = !found.length;
  list.replaceChildren(...found.map((r, i) => el("li", { role: "option", class: i === 0 ? "active" : "",
      "data-testid": "canned-option", onmousedown: (event) => { event.preventDefault(); useCanned(r); } },
    el("b", { text: `/${r.shortcut}` }), el("span", { text: ` ${r.text}` }))));
}

function useCanned(reply) {
  $("message-input").value = reply.text;
  $("canned-suggest").hidden = true;
  $("message-input").focus();
}

$("message-input").addEventListener("input", () => {
  if ($("message-input").value.startsWith("/") && !state.canned.length) loadCanned().then(showCannedMatches).catch(() => {});
  else showCannedMatches();
});
$("message-input").addEventListener("keydown", (event) => {
  if ($("canned-suggest").hidden) return;
  if (event.key === "Escape") { $("canned-suggest").hidden = true; event.preventDefault(); }
  if (event.key === "Enter" && !event.shiftKey) {
    const first = cannedMatches()[0];
    if (first) { event.preventDefault(); event.stopImmediatePropagation(); useCanned(first); }
  }
}, true);

// faqId: the suggested FAQ answer inserted (sent with the message; the server checks how much of it is left).
function insertAnswer(answer, faqId) {
  const input = $(state.current && state.current.type === "ticket" ? "ticket-answer-input" : "message-input");
  if (state.current && state.current.type === "handoff") {
    state.inserted = faqId ? { handoff: state.current.id, faq_id: faqId } : state.inserted;
  }
  input.value = input.value.trim() ? `${input.value.replace(/\s+$/, "")}\n${answer}` : answer;
  if (!input.disabled) {
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  } else {
    notify("答案已放入回复框；接入会话后即可发送。", "info");
  }
}

// -- tickets -----------------------------------------------------------------

const STATUS_NAMES = { online: "在线", busy: "忙碌", away: "离开" };

// How an answer went out, route by route (bot/handoff/tickets.py deliveries).
const ROUTES = { chat: "聊天窗口", email: "邮件", sms: "短信", return: "用户回来时显示" };
// notified: an SMS told the customer an answer is waiting (it cannot carry the answer itself).
const OUTCOMES = { sent: "已送达", stored: "未送达，已保存", notified: "已通知（未含回复内容）", failed: "发送失败",
                   skipped: "未发送" };

function deliveryList(ticket) {
  const items = (ticket.deliveries || []).map((d) => el("li", { class: `delivery ${d.outcome}`, "data-testid": "delivery",
      "data-route": d.route, "data-outcome": d.outcome },
    el("b", { text: `${ROUTES[d.route] || d.route}：${OUTCOMES[d.outcome] || d.outcome}` }),
    el("span", { class: "muted", text: ` ${clock(d.at)}${d.detail ? "　" + d.detail : ""}` })));
  return el("ul", { class: "deliveries", "data-testid": "deliveries" }, ...items);
}

function selectTicket(id) {
  const all = (state.queue ? state.queue.tickets.concat(state.queue.answered || []) : []).concat(state.extraTickets || []);
  const ticket = all.find((t) => t.id === id);
  if (!ticket) return;
  const answered = ["answered", "delivered", "closed", "reopened"].includes(ticket.state) && Boolean(ticket.answer);
  const changed = !isCurrent("ticket", id);
  state.current = { type: "ticket", id };
  state.handoff = null;
  notify("");
  if (changed) $("customer-panel").hidden = true;
  markSeen();
  $("controls").hidden = true;
  const toAnswer = ticket.state === "open" || ticket.state === "reopened";
  $("ticket-controls").hidden = !toAnswer;
  $("ticket-close-controls").hidden = ticket.state === "closed";
  if (changed) $("ticket-window").hidden = true;
  if (changed) $("ticket-answer-input").value = "";
  $("suggestions").replaceChildren();
  $("suggest-question").textContent = "留言请根据问题直接回复；回复会发给用户，并保存在留言记录中。";
  $("conv-header").replaceChildren(
    el("b", { class: "ref", text: `留言 ${ticket.ticket}` }),
    el("span", { class: "tag", text: channelName(ticket.channel) }),
    el("span", { class: `tag offline-${ticket.why_offline}`, text: OFFLINE[ticket.why_offline] || ticket.why_offline }),
    el("span", { class: "muted", text: reasonName(ticket.reason) }));
  const row = (label, value) => el("div", { class: "row" }, el("span", { class: "label", text: label }),
                                   value instanceof Node ? value : el("span", { class: "value", text: value || "-" }));
  $("conversation").replaceChildren(el("div", { class: "ticket-card" },
    row("状态", HISTORY_STATES[ticket.state] || ticket.state),
    row("联系方式", ticket.contact),
    row("问题", ticket.question),
    row("提交时间", fullTime(ticket.submitted_at || ticket.created_at)),
    row("原因", OFFLINE[ticket.why_offline] || ticket.why_offline),
    row("用户", ticket.conversation_id),
    ...(answered ? [row("回复", ticket.answer ? markdown(ticket.answer, "value") : null), row("回复人", state.names.get(ticket.agent) || ticket.agent),
                    row("回复时间", fullTime(ticket.answered_at)),
                    el("div", { class: "row" }, el("span", { class: "label", text: "送达情况" }), deliveryList(ticket))] : [])));
  markSelected();
  if (toAnswer) $("ticket-answer-input").focus();
  loadTicketDetails(id);
}

function ticketEventLine(e) {
  const who = e.actor && state.names.has(e.actor) ? `客服 ${agentName(e.actor)}` : "用户";
  const text = {
    closed: `${who} 关闭了留言${e.text === "customer_resolved" ? "（用户点了“问题已解决”）" : e.text ? `：${e.text}` : ""}`,
    reopened: "用户点了“还有问题”，留言重新打开",
    followup: `用户补充：${e.text || ""}`,
    no_followup: "用户没有补充内容，留言恢复原状",
    answered: `之前的回复（${agentName(e.actor)}）：${e.text || ""}`,
  }[e.kind] || `${e.kind} ${e.text || ""}`;
  return el("div", { class: "msg system", "data-testid": "ticket-event", "data-kind": e.kind }, `${clock(e.at)} ${text}`);
}

$("ticket-close").addEventListener("click", () => act(async () => {
  if (!state.current || state.current.type !== "ticket") return;
  const id = state.current.id;
  await api(`/console/api/tickets/${encodeURIComponent(id)}/close`, { why: $("ticket-close-why").value.trim() });
  $("ticket-close-why").value = "";
  notify("留言已关闭", "info");
  await refreshQueue();
  state.extraTickets = [];
  selectTicket(id);
}));

// The conversation before the 留言 and suggested answers for its question.
async function loadTicketDetails(id) {
  try {
    const data = await api(`/console/api/tickets/${encodeURIComponent(id)}`);
    if (!isCurrent("ticket", id)) return;
    if (data.customer) renderCustomer(data.customer);
    showWindow($("ticket-window"), data.ticket.reply_window);
    const events = data.ticket.events || [];
    if (events.length) {
      $("conversation").append(el("div", { class: "section-label", text: "留言记录" }),
        el("div", { class: "part", "data-testid": "ticket-events" }, ...events.map(ticketEventLine)));
    }
    const lines = data.transcript || [];
    $("conversation").append(el("div", { class: "section-label", text: "留言前的机器人对话" }),
      el("div", { class: "part", "data-testid": "ticket-transcript" },
         ...(lines.length ? lines.map(transcriptLine) : [el("div", { class: "msg system", text: "（没有机器人对话记录）" })])));
    $("suggest-question").replaceChildren(...(data.question
      ? [el("span", { class: "muted", text: "留言问题：" }), el("b", { text: data.question })]
      : [el("span", { class: "muted", text: "用户没有写问题。" })]));
    fillList($("suggestions"), data.suggestions.map(suggestionItem),
             data.suggestions_unavailable ? "知识库索引暂不可用，推荐答案稍后恢复" : data.question ? "知识库中没有相关答案" : "");
  } catch (error) {
    if (isCurrent("ticket", id)) $("suggest-question").textContent = `推荐答案暂不可用：${error.message}`;
  }
}

$("ticket-answer-send").addEventListener("click", () => act(async () => {
  const text = $("ticket-answer-input").value.trim();
  if (!text || !state.current || state.current.type !== "ticket") return;
  const id = state.current.id;
  $("ticket-answer-send").disabled = true;
  try {
    const done = await sendReply(`/console/api/tickets/${encodeURIComponent(id)}/answer`, { text });
    $("ticket-answer-input").value = "";
    $("ticket-controls").hidden = true;
    $("ticket-close-controls").hidden = true;
    $("conversation").replaceChildren(el("div", { class: "section-label", "data-testid": "answer-result", text:
      done.delivered === "live" ? "已回复，用户已在聊天窗口收到。" : "已回复并保存；用户下次打开聊天或发消息时会看到。" }),
      deliveryList(done.ticket));
    $("conv-header").replaceChildren(el("span", { class: "muted", text: "留言已处理，请从左侧选择下一项" }));
    if (isCurrent("ticket", id)) state.current = null;
  } finally {
    $("ticket-answer-send").disabled = false;
  }
  await refreshQueue();
}));

// -- tabs --------------------------------------------------------------------

for (const button of document.querySelectorAll(".tabs button")) {
  button.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".tabs button")) {
      other.classList.toggle("active", other === button);
      other.setAttribute("aria-selected", String(other === button));
    }
    $("tab-chat").hidden = button.dataset.tab !== "chat";
    $("tab-history").hidden = button.dataset.tab !== "history";
    $("tab-kpis").hidden = button.dataset.tab !== "kpis";
    $("tab-admin").hidden = button.dataset.tab !== "admin";
    $("tab-studio").hidden = button.dataset.tab !== "studio";
    if (button.dataset.tab === "kpis") loadKpis();
    if (button.dataset.tab === "admin") loadAdmin().catch(adminError);
    if (button.dataset.tab === "studio") {
      loadReview().catch((e) => { $("hit-error").textContent = e.message; });
      if (typeof loadRegression === "function") loadRegression();
    }
    if (button.dataset.tab === "chat") markSeen();
  });
}
$("kpi-days").addEventListener("change", () => loadKpis());

// -- the studio: hit test ------------------------------------------------------------

const ACTIONS = { answer: "直接回答", clarify: "反问“您是想问”", fallback: "兜底（没有找到答案）" };
const score = (value) => (value === null || value === undefined ? "-" : value.toFixed(3));

$("hit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("hit-error").textContent = "";
  const q = $("hit-q").value.trim();
  if (!q) return;
  const against = $("hit-against").value;
  api(`/console/api/studio/hit-test?q=${encodeURIComponent(q)}&against=${against}`).then(showHits)
    .catch((error) => { $("hit-error").textContent = error.message; });
});

async function loadReview() {
  const data = await api("/console/api/studio/health?days=30");
  const rows = data.review.map((h) => el("tr", { "data-testid": "review-row", "data-faq": h.faq_id },
    el("td", {}, el("b", { text: h.question || "（已不在知识库中）" }), el("div", { class: "muted", text: h.faq_id })),
    el("td", { text: String(h.not_helpful) }), el("td", { text: String(h.helpful) }),
    el("td", { text: percent(h.helpful_rate) }), el("td", { text: String(h.answers) }),
    el("td", { text: String(h.picked) }), el("td", { text: String(h.handoffs_after) })));
  $("review-table").replaceChildren(
    el("tr", {}, ...["条目", "没帮助", "有帮助", "有帮助率", "回答次数", "反问后选中", "之后转人工"].map((t) => el("th", { text: t }))),
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "7", class: "muted", text: "最近没有被点“没帮助”的答案" }))]));
}

function showHits(found) {
  const d = found.decision;
  const line = $("hit-decision");
  line.hidden = false;
  line.className = `hit-decision action-${d.action}`;
  line.replaceChildren(
    el("b", { text: `机器人会：${ACTIONS[d.action] || d.action}` }),
    ` · 置信度 ${percent(d.confidence)}（直接回答 ≥ ${percent(d.answer_threshold)}，反问 ≥ ${percent(d.clarify_threshold)}；`
      + `${d.model === "fitted" ? "按本知识库拟合的模型" : "配置的阈值"}）`,
    ...(d.novelty ? [el("span", { class: "muted", "data-testid": "hit-novelty",
      title: "问题里有多少内容（按词的稀有程度加权）在知识库的所有问法里都没出现过",
      text: ` · 知识库没见过的内容 ${percent(d.novelty)}` })] : []),
    el("span", { class: "muted", text: found.against === "draft"
      ? ` · 草稿（${(found.draft_changes || []).length ? (found.draft_changes || []).map((id) => `#${id}`).join("、") : "没有未发布的修改，与已发布的相同"}）`
      : ` · 已发布的索引版本 ${found.index_version}` }));
  // A change that no longer applies to the files (its entry was deleted meanwhile) is left out: say so.
  for (const why of found.skipped || []) line.append(el("div", { class: "error", text: `未计入：${why}` }));
  // The editors' synonyms.txt rewrote these words of the question before matching.
  if ((found.synonyms || []).length) {
    line.append(el("span", { class: "hit-synonyms", "data-testid": "hit-synonyms",
      text: `同义词：${found.synonyms.map((s) => `${s.from} → ${s.to}`).join("，")}` }));
  }
  // The question has words of the sensitive-word list: what a customer asking it gets first.
  if ((found.sensitive || []).length) {
    const does = { refuse: "拒答（不检索，直接礼貌拒绝）", handoff: "转人工（不检索）", log: "照常回答，计入统计" };
    const words = [...new Set(found.sensitive.map((h) => `“${h.word}”（${h.category}）`))].join("、");
    line.append(el("div", { class: "error", "data-testid": "hit-sensitive",
      text: `敏感词：${words} → ${does[found.sensitive_action] || found.sensitive_action}` }));
  }
  // An expired entry (valid_until passed) is listed, marked, but never answers.
  const rows = found.candidates.map((c) => el("tr", { "data-testid": "hit-row", "data-faq": c.faq_id,
      class: c.expired ? "expired" : c.chosen ? "chosen" : "" },
    el("td", { text: String(c.rank) }),
    el("td", {}, el("b", { text: c.question }), el("div", { class: "muted", text: `${c.faq_id} · ${c.category}` })),
    el("td", { text: c.matched_question }),
    el("td", { text: c.shared_terms.join("、") || "-" }),
    el("td", { text: score(c.dense) }), el("td", { text: score(c.bm25) }), el("td", { text: score(c.fused) }),
    el("td", { "data-testid": "hit-coverage", title: "问题的内容有多少（按词的稀有程度加权）出现在这一条的问法、标签或答案里",
      text: percent(c.coverage) }),
    el("td", c.expired
      ? { "data-testid": "hit-expired", class: "expiry-expired", title: `有效期至 ${c.valid_until}`, text: "已过期（不会回答）" }
      // No content word in common with the question: never answered nor offered as a button.
      : c.no_shared_content
        ? { "data-testid": "hit-no-shared-content", class: "muted", title: "这一条的问法、标签和答案与问题没有一个共同的内容词", text: "无共同内容（不会推荐）" }
        : { text: c.chosen ? (d.action === "answer" ? "回答" : "选项") : "" }),
    el("td", {}, typeof regressionButton === "function" ? regressionButton(found.query, c.faq_id) : null)));
  $("hit-results").replaceChildren(
    el("tr", {}, ...["#", "FAQ", "命中的问法", "共同词", "语义", "关键词", "综合", "覆盖", "", ""].map((t) => el("th", { text: t }))),
    ...rows);
}

// -- the customer panel: what their client reported, who they are, what came before --

// "iPhone · 微信", "Windows · Chrome": enough for an agent to picture the customer's screen.
function device(agent) {
  if (!agent) return null;
  const os = [[/iPhone|iPad/, "iPhone/iPad"], [/Android/, "Android"], [/HarmonyOS/, "鸿蒙"], [/Windows/, "Windows"],
              [/Mac OS X|Macintosh/, "Mac"], [/Linux/, "Linux"]].find(([re]) => re.test(agent));
  const app = [[/MicroMessenger/, "微信"], [/DingTalk/, "钉钉"], [/Lark|Feishu/, "飞书"], [/Edg\//, "Edge"],
               [/Chrome\//, "Chrome"], [/Firefox\//, "Firefox"], [/Safari\//, "Safari"]].find(([re]) => re.test(agent));
  return [os ? os[1] : "", app ? app[1] : ""].filter(Boolean).join(" · ") || "未知设备";
}

const IDENTITY = {
  unsigned: "网站传来的用户 ID 没有签名，未采用",
  invalid: "网站用户 ID 的签名不符，未采用（可能被改动过）",
};

function renderCustomer(c) {
  const facts = [["渠道", channelName(c.channel)], ["对话 ID", c.conversation_id]];
  if (c.identity === "verified") {
    facts.push(["网站用户", `${c.user_name ? `${c.user_name} · ` : ""}${c.user_id}（已验证）`]);
  } else if (IDENTITY[c.identity]) facts.push(["网站用户", IDENTITY[c.identity]]);
  const page = c.page_url
    ? el("a", { href: c.page_url, target: "_blank", rel: "noopener noreferrer", text: c.page_title || c.page_url,
                title: c.page_url, "data-testid": "customer-page" })
    : null;
  if (page) facts.push(["所在页面", page]);
  if (c.referrer) facts.push(["来源", c.referrer]);
  if (c.user_agent) facts.push(["设备", el("span", { title: c.user_agent, text: device(c.user_agent) })]);
  if (c.language) facts.push(["语言", c.language]);
  if (c.first_seen) facts.push(["首次咨询", fullTime(c.first_seen)]);
  $("customer-facts").replaceChildren(...facts.flatMap(([name, value]) =>
    [el("dt", { text: name }), el("dd", { "data-fact": name }, value)]));
  $("count-previous").textContent = c.previous.length;
  fillList($("customer-previous"), c.previous.map((r) => el("li", { class: "item", "data-testid": "customer-previous-item",
      "data-id": r.id, tabindex: "0", role: "button", onkeydown: activateOnEnter, onclick: () => act(() => openHistory(r)) },
    el("div", { class: "line1" }, el("span", { class: "ref", text: `${r.type === "ticket" ? "留言" : "会话"} ${r.ref}` }),
       el("span", { class: "tag", text: HISTORY_STATES[r.state] || r.state })),
    el("div", { class: "line2" }, el("span", { text: fullTime(r.created_at) }),
       el("span", { text: r.agent ? `客服 ${agentName(r.agent)}` : "" })))), "没有以往记录");
  $("customer-panel").hidden = false;
}

// -- admin: accounts, groups, team replies (admins only; the server checks) -----

const ROLE_NAMES = { admin: "管理员", agent: "客服", editor: "知识库编辑" };
const isAdmin = () => Boolean(state.me && state.me.role === "admin");
const adminError = (error) => { $("admin-error").textContent = error.message || String(error); };

async function adminAct(work) {
  $("admin-error").textContent = "";
  $("admin-note").textContent = "";
  try { await work(); } catch (error) { adminError(error); }
}

async function loadAdmin() {
  const [accounts, teams, canned] = await Promise.all(
    [api("/console/api/admin/agents"), api("/console/api/admin/groups"), api("/console/api/canned")]);
  const { editing = null, dirty = false } = state.admin || {};
  state.admin = { agents: accounts.agents, groups: teams.groups, categories: teams.categories, channels: teams.channels,
                  editing, dirty };
  renderAdminAgents();
  renderAdminGroups(editing, dirty);
  await loadAudit(state.audit ? state.audit.page : 1);
  await loadPrivacy();
  fillList($("admin-canned"), canned.replies.filter((r) => r.team).map((r) => el("li", { class: "canned-item",
      "data-testid": "admin-canned-item" },
    el("b", { text: `/${r.shortcut}` }), el("span", { class: "text", text: r.text }),
    el("span", { class: "muted", text: agentName(r.created_by) }),
    el("button", { type: "button", class: "link", text: "删除", onclick: () => adminAct(async () => {
      await api(`/console/api/canned/${r.id}/delete`, {}); await loadAdmin(); }) }))), "还没有团队快捷回复");
}

function renderAdminAgents() {
  const rows = state.admin.agents.map((a) => {
    const role = el("select", { "aria-label": `${a.name} 的角色`, "data-testid": "admin-role",
                                onchange: (event) => adminAct(async () => {
                                  await api(`/console/api/admin/agents/${encodeURIComponent(a.name)}`, { role: event.target.value });
                                  await loadAdmin(); }) },
      ...Object.entries(ROLE_NAMES).map(([value, text]) => el("option", { value, text, selected: value === a.role ? "" : null })));
    const mine = state.me && a.name === state.me.name;
    return el("tr", { "data-testid": "admin-agent", "data-name": a.name },
      el("td", { text: a.name }), el("td", { text: a.display_name }), el("td", {}, role),
      el("td", { text: a.groups.join("、") || "-" }),
      el("td", { text: a.signed_in ? (STATUS_NAMES[a.status] || "在线") : "未登录" }),
      el("td", { text: a.last_seen ? fullTime(a.last_seen) : "-" }),
      el("td", {},
        el("button", { type: "button", class: "link", text: "重置密码", onclick: () => adminAct(async () => {
          const password = window.prompt(`为 ${a.display_name} 设置新密码（至少 8 位；对方会被退出登录）`);
          if (!password) return;
          await api(`/console/api/admin/agents/${encodeURIComponent(a.name)}`, { password });
          $("admin-note").textContent = `已为 ${a.display_name} 设置新密码`;
        }) }),
        mine ? el("span", { class: "muted", text: "（当前账号）" })
          : el("button", { type: "button", class: "link danger", text: "停用", "data-testid": "admin-disable",
                           onclick: () => adminAct(async () => {
                             if (!window.confirm(`停用 ${a.display_name}？对方会立即被退出登录。`)) return;
                             await api(`/console/api/admin/agents/${encodeURIComponent(a.name)}/disable`, {});
                             await loadAdmin(); }) })));
  });
  $("admin-agents").replaceChildren(
    el("tr", {}, ...["账号", "名称", "角色", "技能组", "状态", "最近在线", "操作"].map((t) => el("th", { text: t }))), ...rows);
}

function fillOptions(select, values, chosen, label = (v) => v) {
  select.replaceChildren(...values.map((v) => el("option", { value: v, text: label(v), selected: chosen.includes(v) ? "" : null })));
}

function editGroup(group) {
  state.admin.editing = group ? group.id : null;
  state.admin.dirty = false;
  $("admin-group-title").textContent = group ? `编辑技能组「${group.name}」` : "新建技能组";
  $("admin-group-name").value = group ? group.name : "";
  const categories = [...new Set([...state.admin.categories, ...(group ? group.categories : [])])];
  fillOptions($("admin-group-categories"), categories, group ? group.categories : []);
  fillOptions($("admin-group-channels"), state.admin.channels, group ? group.channels : [], channelName);
  fillOptions($("admin-group-members"), state.admin.agents.map((a) => a.name), group ? group.members : [], agentName);
}

function renderAdminGroups(editing, dirty) {
  for (const a of state.admin.agents) state.names.set(a.name, a.display_name);
  fillList($("admin-groups"), state.admin.groups.map((g) => el("li", { class: "item", "data-testid": "admin-group",
      "data-group": g.name },
    el("div", { class: "line1" }, el("b", { text: g.name }),
       el("span", { class: "muted", text: `成员：${g.members.map(agentName).join("、") || "无"}` })),
    el("div", { class: "line2" },
       el("span", { text: `分类：${g.categories.join("、") || "-"}；渠道：${g.channels.map(channelName).join("、") || "-"}` }),
       el("span", {},
         el("button", { type: "button", class: "link", text: "编辑", "data-testid": "admin-group-edit", onclick: () => editGroup(g) }),
         el("button", { type: "button", class: "link danger", text: "删除", onclick: () => adminAct(async () => {
           if (!window.confirm(`删除技能组「${g.name}」？等待该组的会话将分配给所有客服。`)) return;
           await api(`/console/api/admin/groups/${g.id}/delete`, {}); await loadAdmin(); }) }))))),
    "还没有技能组：所有转人工分配给所有客服");
  // A reload (tab switch, another admin's change) never clobbers what is being typed.
  if (!dirty) editGroup(state.admin.groups.find((g) => g.id === editing) || null);
}

const chosen = (select) => [...select.selectedOptions].map((o) => o.value);

$("admin-group-form").addEventListener("submit", (event) => {
  event.preventDefault();
  adminAct(async () => {
    const body = { name: $("admin-group-name").value.trim(), categories: chosen($("admin-group-categories")),
                   channels: chosen($("admin-group-channels")), members: chosen($("admin-group-members")) };
    const id = state.admin.editing;
    const saved = await api(id ? `/console/api/admin/groups/${id}` : "/console/api/admin/groups", body);
    state.admin.editing = saved.group.id;
    state.admin.dirty = false;
    await loadAdmin();
    $("admin-note").textContent = `技能组「${saved.group.name}」已保存`;
  });
});
$("admin-group-new").addEventListener("click", () => editGroup(null));
for (const kind of ["input", "change"]) {
  $("admin-group-form").addEventListener(kind, () => { if (state.admin) state.admin.dirty = true; });
}

$("admin-agent-form").addEventListener("submit", (event) => {
  event.preventDefault();
  adminAct(async () => {
    await api("/console/api/admin/agents", { name: $("admin-agent-name").value.trim(),
      display_name: $("admin-agent-display").value.trim(), password: $("admin-agent-password").value,
      role: $("admin-agent-role").value });
    for (const id of ["admin-agent-name", "admin-agent-display", "admin-agent-password"]) $(id).value = "";
    await loadAdmin();
  });
});

// -- admin: the audit log (bot/handoff/audit.py; times shown in this browser's zone) ---

const AUDIT_ACTIONS = {
  sign_in: "登录", sign_in_failed: "登录失败", sign_out: "退出", view: "查看他组会话", claim: "接入", reply: "回复",
  note: "内部备注", transfer: "转接", close: "结束会话", reopen: "重新打开", ticket_answer: "回复留言",
  ticket_close: "关闭留言", canned_add: "添加快捷回复", canned_remove: "删除快捷回复", account_create: "新建账号",
  account_update: "修改账号", role_change: "修改角色", account_disable: "停用账号", group_save: "保存技能组",
  group_remove: "删除技能组", export_conversations: "导出会话", export_kpis: "导出统计", export_audit: "导出审计",
  kb_draft_save: "保存草稿", kb_review: "审核流转", kb_publish: "发布", kb_rollback: "回滚", kb_synonyms: "修改同义词",
  kb_import: "导入表格", kb_export: "导出知识库", kb_recalibrate: "重新校准", regression_edit: "修改回归集",
  privacy_purge: "清理过期数据", privacy_mask: "遮盖旧数据中的个人信息", privacy_export: "导出用户数据", privacy_delete: "删除用户数据",
};

function auditParams() {
  const params = new URLSearchParams();
  for (const [key, id] of [["actor", "audit-actor"], ["action", "audit-action"], ["target", "audit-target"]]) {
    const value = $(id).value.trim();
    if (value) params.set(key, value);
  }
  for (const [key, id] of [["since", "audit-since"], ["until", "audit-until"]]) {
    if ($(id).value) params.set(key, new Date($(id).value).toISOString());  // local time in, UTC out
  }
  return params;
}

async function loadAudit(page = 1) {
  const params = auditParams();
  params.set("page", String(page));
  const data = await api(`/console/api/admin/audit?${params}`);
  const select = $("audit-action");
  if (select.options.length === 1) {
    for (const action of data.actions) select.append(el("option", { value: action, text: AUDIT_ACTIONS[action] || action }));
  }
  state.audit = { page: data.page, pages: Math.max(1, Math.ceil(data.total / data.per_page)) };
  const detail = (d) => Object.entries(d).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  $("audit-table").replaceChildren(
    el("tr", {}, ...["时间", "账号", "角色", "操作", "对象", "详情", "IP"].map((t) => el("th", { text: t }))),
    ...data.entries.map((e) => el("tr", { "data-testid": "audit-row", "data-action": e.action, "data-actor": e.actor },
      el("td", { text: new Date(e.at).toLocaleString("zh-CN") }),
      el("td", { text: e.actor }),
      el("td", { text: ROLE_NAMES[e.role] || e.role || "" }),
      el("td", { text: AUDIT_ACTIONS[e.action] || e.action }),
      el("td", { text: [e.target_kind, e.target_id].filter(Boolean).join(" ") }),
      el("td", { text: detail(e.detail) }),
      el("td", { text: e.ip || "" }))));
  $("audit-page").textContent = `第 ${state.audit.page} / ${state.audit.pages} 页，共 ${data.total} 条`;
  $("audit-prev").disabled = state.audit.page <= 1;
  $("audit-next").disabled = state.audit.page >= state.audit.pages;
}

$("audit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  adminAct(() => loadAudit(1));
});
$("audit-prev").addEventListener("click", () => adminAct(() => loadAudit(state.audit.page - 1)));
$("audit-next").addEventListener("click", () => adminAct(() => loadAudit(state.audit.page + 1)));
// The export downloads what the form would find now (the same filters); the server records it.
$("audit-export").addEventListener("click", () => { $("audit-export").href = `/console/api/admin/audit/export?${auditParams()}`; });

// -- admin: privacy (bot/console/privacy.py): retention purge, one user's data exported or deleted ---

async function loadPrivacy() {
  const data = await api("/console/api/admin/privacy");
  const kept = data.kinds.map((k) => `${k.name} ${k.days ? `${k.days} 天` : "永久"}`).join("，");
  const every = data.purge_every_hours ? `服务器每 ${data.purge_every_hours} 小时自动清理一次。` : "没有设置自动清理。";
  $("privacy-retention").textContent = `保存期限：${kept}。${every}`;
}

function showPurge(data) {
  $("privacy-purge-table").replaceChildren(
    el("tr", {}, ...["数据", "保存期限", data.dry_run ? "将删除（行）" : "已删除（行）"].map((t) => el("th", { text: t }))),
    ...data.kinds.map((k) => el("tr", { "data-testid": "privacy-purge-row", "data-kind": k.kind, "data-total": k.total },
      el("td", { text: k.name }), el("td", { text: k.days ? `${k.days} 天` : "永久保留" }),
      el("td", { text: String(k.total) }))));
}

$("privacy-dry-run").addEventListener("click", () => adminAct(async () => {
  const data = await api("/console/api/admin/privacy/purge", { dry_run: true });
  showPurge(data);
  $("privacy-purge").hidden = false;
  $("privacy-note").textContent = "这是预演：什么都没有删除。确认无误后点“确认清理过期数据”。";
}));
$("privacy-purge").addEventListener("click", () => adminAct(async () => {
  const data = await api("/console/api/admin/privacy/purge", { dry_run: false });
  showPurge(data);
  $("privacy-purge").hidden = true;
  $("privacy-note").textContent = `已删除过期数据 ${data.kinds.reduce((n, k) => n + k.total, 0)} 行。`;
  await loadAudit(1);
}));

const privacyUser = () => $("privacy-user").value.trim();
$("privacy-export").addEventListener("click", (event) => {
  if (!privacyUser()) { event.preventDefault(); $("privacy-note").textContent = "请先输入用户 ID。"; return; }
  $("privacy-export").href = `/console/api/admin/privacy/export?${new URLSearchParams({ user: privacyUser() })}`;
});
$("privacy-user-form").addEventListener("submit", (event) => {
  event.preventDefault();
  adminAct(async () => {
    const data = await api("/console/api/admin/privacy/delete", { user: privacyUser(), dry_run: true });
    $("privacy-delete-summary").textContent = data.total
      ? `将永久删除该用户 ${data.conversations.length} 个会话的 ${data.total} 行数据（对话、留言、转人工记录、统计记录等），无法恢复。`
      : "没有找到该用户的数据。";
    $("privacy-confirm").value = "";
    $("privacy-delete-confirm").hidden = false;
    $("privacy-delete").hidden = !data.total;
  });
});
$("privacy-delete-cancel").addEventListener("click", () => { $("privacy-delete-confirm").hidden = true; });
$("privacy-delete").addEventListener("click", () => adminAct(async () => {
  const data = await api("/console/api/admin/privacy/delete", { user: privacyUser(), confirm: $("privacy-confirm").value.trim() });
  $("privacy-delete-confirm").hidden = true;
  $("privacy-note").textContent = `已删除该用户的数据，共 ${data.total} 行。`;
  await loadAudit(1);
}));

// -- history -----------------------------------------------------------------

const HISTORY_STATES = { closed: "已结束", waiting: "等待中", with_agent: "处理中", open: "待回复", answered: "已回复",
                         delivered: "已送达", cancelled: "已取消", escaped: "未完成", reopened: "用户追问" };

function showTab(name) {
  document.querySelector(`.tabs button[data-tab="${name}"]`).click();
}

$("history-form").addEventListener("submit", (event) => {
  event.preventDefault();
  searchHistory().catch((e) => { $("history-error").textContent = e.message || String(e); });
});

function historyParams() {
  const params = new URLSearchParams();
  for (const [key, id] of [["q", "history-q"], ["customer", "history-customer"], ["agent", "history-agent"],
                           ["faq", "history-faq"], ["tag", "history-tag"], ["from", "history-from"], ["to", "history-to"]]) {
    const value = $(id).value.trim();
    if (value) params.set(key, value);
  }
  return params;
}

// The export downloads what the form would find now (the same filters).
for (const link of document.querySelectorAll("[data-history-export]")) {
  link.addEventListener("click", () => {
    const params = historyParams();
    params.set("format", link.dataset.historyExport);
    link.href = `/console/api/history/export?${params}`;
  });
}

async function searchHistory() {
  $("history-error").textContent = "";
  const params = historyParams();
  const data = await api(`/console/api/history?${params}`);
  const items = data.results.map((r) => el("li", { class: "item", "data-testid": "history-item", "data-type": r.type,
      "data-id": r.id, tabindex: "0", role: "button", onkeydown: activateOnEnter, onclick: () => openHistory(r) },
    el("div", { class: "line1" }, el("span", { class: "ref", text: `${r.type === "ticket" ? "留言" : "会话"} ${r.ref}` }),
       el("span", { class: "tag", text: channelName(r.channel) }),
       el("span", { class: "tag", text: HISTORY_STATES[r.state] || r.state })),
    el("div", { class: "line2" }, el("span", { text: fullTime(r.created_at) }),
       el("span", { text: r.agent ? `客服 ${agentName(r.agent)}` : "" }), el("span", { class: "muted", text: `用户 ${r.conversation_id}` })),
    el("div", { class: "preview", text: r.snippet || "" })));
  fillList($("history-results"), items, "没有找到符合条件的会话或留言");
}

async function openHistory(result) {
  showTab("chat");
  if (result.type === "handoff") { await selectHandoff(result.id); return; }
  const data = await api(`/console/api/tickets/${encodeURIComponent(result.id)}`);
  state.extraTickets = [data.ticket];
  selectTicket(result.id);
}

// -- KPIs --------------------------------------------------------------------

async function loadKpis() {
  const days = $("kpi-days").value;
  $("kpi-error").textContent = "";
  let report;
  try {
    report = await api(`/console/api/kpis?days=${encodeURIComponent(days)}`);
  } catch (error) {
    $("kpi-error").textContent = `数据加载失败：${error.message}`;
    return;
  }
  if ($("kpi-days").value !== days) return;  // a newer request is on its way
  const t = report.totals;
  $("kpi-range").textContent = `${report.from} 至 ${report.to}（${report.timezone}）`;
  const fr = t.first_response_seconds || {}, hs = t.handling_seconds || {}, br = t.bot_reply_ms || {};
  const qw = t.queue_wait_seconds || {}, af = t.answer_feedback || {}, sr = t.service_rating || {}, ends = t.outcomes || {};
  const people = (ends.handed_off || 0) + (ends.left_queue || 0), messages = (ends.ticket || 0) + (ends.left_ticket || 0);
  // [key, label, value, detail, definition (the tooltip; the same words as the README)]
  const cards = [
    ["conversations", "会话数", count(t.conversations), `机器人解决 ${count(ends.bot_resolved)} · 未解决 ${count(ends.bot_unresolved)}`,
     "每个用户每天算一个会话（按当天第一条消息的渠道）。"],
    ["bot_resolution", "机器人解决率", percent(t.bot_resolution_rate), `持久解决率 ${percent(t.durable_resolution_rate)} · 自助率 ${percent(t.containment_rate)}`,
     "机器人解决的会话 / 会话数。不算解决：转人工、留言（含未完成的）、最后一轮是兜底或没人选择的澄清、最后一个答案被点“没帮助”。持久解决：解决后 24 小时内该用户没有再就同一分类提问、也没有转人工或留言（最近 24 小时的数字还可能变化）。自助率：没有进入人工或留言的会话 / 会话数。"],
    ["handoff", "需人工率", percent(t.handoff_rate), `转人工 ${count(people)} · 留言 ${count(messages)}（按会话）`,
     "请求转人工或进入留言的会话 / 会话数；转人工与留言两项都按会话计，相加等于需人工的会话数。"],
    ["abandonment", "放弃率", percent(t.abandonment_rate), `排队中离开 ${count(ends.left_queue)} · 留言未完成 ${count(ends.left_ticket)}`,
     "排队时自己取消、或开始留言但没有提交的会话 / 会话数。"],
    ["fallback", "兜底率", percent(t.fallback_rate), `澄清率 ${percent(t.clarify_rate)} · ${count(t.question_turns)} 个问题`,
     "机器人没找到答案的问题轮次 / 所有问题轮次（直接回答、澄清、兜底）。"],
    ["queue_wait", "排队等待 p50 / p90", qw.count ? `${duration(qw.p50)} / ${duration(qw.p90)}` : "-", `${count(qw.count)} 次接入`,
     "从进入排队到客服接入的时长，只算被接入的会话。"],
    ["first_response", "人工首次响应", duration(fr.avg), `中位数 ${duration(fr.median)} · ${count(fr.count)} 次`,
     "从进入排队到客服发出第一条消息的时长（平均）。"],
    ["handling", "平均处理时长", duration(hs.avg), `中位数 ${duration(hs.median)} · ${count(hs.count)} 次`,
     "从客服接入到会话结束的时长（平均）。"],
    ["answer_feedback", "答案有帮助率", percent(af.rate), `有帮助 ${count(af.positive)} · 没帮助 ${count(af.negative)}`,
     "机器人答案下“有帮助” / 所有“有帮助”和“没帮助”。与人工服务满意度分开统计。"],
    ["service_rating", "人工服务满意度", percent(sr.rate), `满意 ${count(sr.good)} · 不满意 ${count(sr.bad)}`,
     "人工服务结束后用户评价“满意” / 所有评价。"],
    ["bot_reply", "机器人响应 p50 / p95", br.count ? `${Math.round(br.p50)} / ${Math.round(br.p95)} ms` : "-", `${count(br.count)} 次回复`,
     "从收到用户消息到机器人最后一条回复的时间。"],
  ];
  $("kpi-cards").replaceChildren(...cards.map(([key, label, value, sub, definition]) =>
    el("div", { class: "card", title: definition, "data-testid": "kpi-card", "data-kpi": key },
       el("div", { class: "label", text: label }), el("div", { class: "value", text: value }),
       el("div", { class: "sub", text: sub }), el("div", { class: "definition", text: definition }))));
  const byDay = report.by_day || [];
  $("kpi-charts").replaceChildren(
    chart({ title: "机器人解决率", days: byDay, value: (d) => d.bot_resolution_rate, kind: "rate" }),
    chart({ title: "需人工率", days: byDay, value: (d) => d.handoff_rate, kind: "rate" }),
    chart({ title: "人工首次响应（平均）", days: byDay, value: (d) => d.first_response_seconds && d.first_response_seconds.avg,
            kind: "duration" }),
    chart({ title: "人工服务满意度", days: byDay, value: (d) => d.service_rating && d.service_rating.rate, kind: "rate" }),
    chart({ title: "每日会话数", days: byDay, value: (d) => d.conversations, kind: "count", bars: true }));
  const columns = [
    ["渠道", (c) => channelName(c.channel)], ["会话数", (c) => count(c.conversations)],
    ["机器人解决率", (c) => percent(c.bot_resolution_rate)], ["需人工率", (c) => percent(c.handoff_rate)],
    ["转人工", (c) => count(c.outcomes.handed_off + c.outcomes.left_queue)],
    ["留言", (c) => count(c.outcomes.ticket + c.outcomes.left_ticket)], ["放弃率", (c) => percent(c.abandonment_rate)],
    ["兜底率", (c) => percent(c.fallback_rate)],
    ["人工首次响应", (c) => duration(c.first_response_seconds && c.first_response_seconds.avg)],
    ["平均处理时长", (c) => duration(c.handling_seconds && c.handling_seconds.avg)],
    ["答案有帮助率", (c) => percent(c.answer_feedback.rate)], ["人工服务满意度", (c) => percent(c.service_rating.rate)],
    ["机器人响应 p50 / p95", (c) => (c.bot_reply_ms && c.bot_reply_ms.count
      ? `${Math.round(c.bot_reply_ms.p50)} / ${Math.round(c.bot_reply_ms.p95)} ms` : "-")]];
  const row = (cells, cls) => el("tr", { class: cls }, ...cells);
  $("kpi-channels").replaceChildren(
    el("thead", {}, row(columns.map(([name]) => el("th", { text: name })))),
    el("tbody", {},
       ...(report.by_channel || []).map((c) => row(columns.map(([, get]) => el("td", { text: get(c) })))),
       row(columns.map(([, get], i) => el("td", { text: i === 0 ? "合计" : get(t) })), "total")));
  const simple = (id, headings, rows) => $(id).replaceChildren(
    el("thead", {}, row(headings.map((name) => el("th", { text: name })))),
    el("tbody", {}, ...(rows.length ? rows.map((cells) => row(cells.map((cell) => el("td", { text: cell }))))
                                   : [row([el("td", { text: "暂无数据", colspan: String(headings.length) })])])));
  simple("kpi-agents", ["客服", "接入会话", "排队等待 p50", "首次响应（平均）", "处理时长（平均）", "人工服务满意度"],
    (report.by_agent || []).map((a) => [agentName(a.agent), count(a.handled), duration(a.queue_wait_seconds.p50),
      duration(a.first_response_seconds.avg), duration(a.handling_seconds.avg), percent(a.service_rating.rate)]));
  simple("kpi-categories", ["分类", "回答次数", "没帮助", "没帮助率"],
    (report.by_category || []).map((c) => [c.category, count(c.answers), count(c.not_helpful), percent(c.not_helpful_rate)]));
  simple("kpi-top", ["FAQ", "分类", "用户问法示例", "回答次数"],
    (report.top_questions || []).map((q) => [q.faq_id, q.category || "-", q.example || "-", count(q.answers)]));
  simple("kpi-unanswered", ["问题", "次数"], (report.top_unanswered || []).map((q) => [q.question, count(q.count)]));
  const SOURCES = { customer: "客户消息", bot: "机器人答案", agent: "人工回复" };
  const DONE = { refuse: "拒答", handoff: "转人工", log: "只记录", withheld: "未发出", held: "被拦下", confirmed: "确认后发出" };
  simple("kpi-sensitive", ["来源", "分类", "处理", "次数"], (report.sensitive || []).map((s) =>
    [SOURCES[s.source] || s.source, s.category, DONE[s.action] || s.action, count(s.count)]));
  for (const link of document.querySelectorAll("[data-export]")) {
    const [format, table] = link.dataset.export.split(":");
    link.href = `/console/api/kpis/export?days=${encodeURIComponent(days)}&format=${format}` + (table ? `&table=${table}` : "");
  }
}

// -- charts (inline SVG) -----------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A round upper bound and step for the y axis (4 steps).
function scale(kind, top) {
  if (kind === "rate") return { max: 1, step: 0.25 };
  if (kind === "duration") {
    const steps = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
    const step = steps.find((s) => s * 4 >= top) || Math.ceil(top / 4 / 86400) * 86400;
    return { max: step * 4, step };
  }
  const raw = Math.max(top, 4) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return { max: step * 4, step };
}

// One daily value over the selected days: a line (gaps where a day has no data) or bars.
function chart({ title, days, value, kind, bars = false }) {
  const format = kind === "rate" ? percent : kind === "duration" ? duration : count;
  const axisLabel = kind === "rate" ? (v) => `${Math.round(v * 100)}%` : kind === "duration" ? shortDuration : (v) => String(v);
  const width = 440, height = 190, left = 46, right = 12, top = 12, bottom = 28;
  const plotW = width - left - right, plotH = height - top - bottom;
  const values = days.map((d) => { const v = value(d); return typeof v === "number" && Number.isFinite(v) ? v : null; });
  const known = values.filter((v) => v !== null);
  const { max, step } = scale(kind, Math.max(0, ...known));
  const slot = plotW / Math.max(days.length, 1);
  const x = (i) => left + slot * (i + 0.5);
  const y = (v) => top + plotH * (1 - Math.min(v, max) / max);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, "data-testid": "kpi-chart", role: "img",
                            "aria-label": title, preserveAspectRatio: "xMidYMid meet" });
  root.append(svg("title", {}, title));
  for (let v = 0; v <= max + step / 2; v += step) {  // grid and y labels
    root.append(svg("line", { class: v === 0 ? "axis" : "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    root.append(svg("text", { class: "tick", x: left - 6, y: y(v) + 3.5, "text-anchor": "end" }, axisLabel(v)));
  }
  root.append(svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: y(0) }));
  const every = Math.max(1, Math.ceil(days.length / 8));  // x labels, counted back from the last day
  days.forEach((d, i) => {
    if ((days.length - 1 - i) % every !== 0) return;
    root.append(svg("line", { class: "axis", x1: x(i), x2: x(i), y1: y(0), y2: y(0) + 4 }));
    root.append(svg("text", { class: "tick", x: x(i), y: height - 9, "text-anchor": "middle" }, String(d.day).slice(5)));
  });
  if (bars) {
    values.forEach((v, i) => {
      if (v === null) return;
      const barW = Math.max(2, Math.min(28, slot * 0.64));
      root.append(svg("rect", { class: "bar", x: x(i) - barW / 2, y: y(v), width: barW, height: Math.max(0, y(0) - y(v)), rx: 2 }));
    });
  } else {
    let path = "", pen = false;
    values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    if (path) root.append(svg("path", { class: "series", d: path }));
    values.forEach((v, i) => {
      if (v !== null) root.append(svg("circle", { class: "dot", cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3 }));
    });
  }
  days.forEach((d, i) => {  // hover areas: one column a day, with its value as the title
    const hit = svg("rect", { class: "hit", x: left + slot * i, y: top, width: slot, height: plotH });
    hit.append(svg("title", {}, `${d.day}　${title}：${values[i] === null ? "无数据" : format(values[i])}`
                              + (typeof d.conversations === "number" ? `（会话 ${d.conversations}）` : "")));
    root.append(hit);
  });
  if (!known.length) {
    root.append(svg("text", { class: "empty", x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle" }, "暂无数据"));
  }
  const latest = [...values].reverse().find((v) => v !== null);
  return el("figure", { class: "chart" },
    el("figcaption", {}, el("span", { text: title }),
       el("span", { class: "muted", text: latest === undefined ? "" : `最近：${format(latest)}` })),
    root);
}

start();
