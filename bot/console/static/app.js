// 客服工作台: queue, live chat (SSE), suggestions, tickets and KPI charts.
// No libraries; every user-provided string goes in through textContent.
"use strict";

const REASONS = { user_request: "用户要求转人工", repeated_fallback: "机器人多次未答出",
                  negative_feedback: "答案被评无帮助", faq_policy: "需人工处理的业务" };
const OFFLINE = { closed: "非服务时间", no_agent: "无客服在线", busy: "排队已满" };
const CHANNELS = { rest: "REST", socketio: "网页", unknown: "未知" };

const state = { me: null, queue: null, clockSkew: 0, current: null, handoff: null, seen: new Set(),
                stream: null, queueTimer: null };

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
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {}

async function api(path, body) {
  const options = { credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let reply;
  try {
    reply = await fetch(path, options);
  } catch (error) {  // the server is restarting or the network is down; the live feed reconnects
    throw new ApiError("暂时无法连接服务器，正在重试…");
  }
  const data = await reply.json().catch(() => ({}));
  if (reply.status === 401 && !path.endsWith("/login")) {
    showLogin();
    throw new ApiError("请重新登录");
  }
  if (!reply.ok) throw new ApiError(data.error || `请求失败（${reply.status}）`);
  return data;
}

function showError(error) {
  $("action-error").textContent = error instanceof Error ? error.message : String(error);
}

// -- formatting --------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds}秒`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}分${String(seconds % 60).padStart(2, "0")}秒`;
  return `${Math.floor(minutes / 60)}小时${minutes % 60}分`;
}
const percent = (rate) => (rate === null || rate === undefined ? "-" : `${(rate * 100).toFixed(1)}%`);
const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString("zh-CN", { hour12: false }) : "");
const serverNow = () => Date.now() + state.clockSkew;

// -- sign-in -----------------------------------------------------------------

function showLogin() {
  if (state.stream) { state.stream.close(); state.stream = null; }
  clearInterval(state.queueTimer);
  $("app").hidden = true;
  $("login").hidden = false;
}

async function start() {
  try {
    const me = await api("/console/api/me");
    state.me = me.agent;
    $("agent-name").textContent = me.agent.display_name;
    $("hours").textContent = `服务时间：${me.hours.text}${me.hours.open ? "" : "（当前非服务时间）"}`;
  } catch (error) {
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  await refreshQueue();
  openStream();
  clearInterval(state.queueTimer);
  state.queueTimer = setInterval(tickWaiting, 1000);
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    await api("/console/api/login", { name: $("login-name").value, password: $("login-password").value });
    $("login-password").value = "";
    await start();
  } catch (error) {
    $("login-error").textContent = error.message.startsWith("too many")
      ? "登录失败次数过多，请 10 分钟后再试" : "账号或密码错误";
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
  stream.addEventListener("handoff", (message) => onEvent(JSON.parse(message.data)));
  stream.addEventListener("queue", () => scheduleQueue());
  stream.addEventListener("signed_out", () => showLogin());
  stream.addEventListener("open", () => {  // also after a reconnect: catch up on what changed meanwhile
    showError("");
    scheduleQueue();
    if (state.current) reloadCurrent().catch(showError);
  });
  stream.addEventListener("error", async () => {
    if (stream.readyState === EventSource.CLOSED) {  // refused (e.g. 401): find out why, retry later
      try { await api("/console/api/me"); setTimeout(openStream, 2000); } catch (error) { /* login shown */ }
    }
  });
}

let queueSoon = null;
function scheduleQueue() {
  clearTimeout(queueSoon);
  queueSoon = setTimeout(() => refreshQueue().catch(showError), 150);
}

function onEvent(event) {
  if (["created", "claimed", "closed", "user_message", "agent_message"].includes(event.kind)) scheduleQueue();
  if (!state.current || state.current.type !== "handoff" || state.current.id !== event.handoff_id) return;
  appendEvent(event);
  if (event.kind === "claimed" || event.kind === "closed") reloadCurrent().catch(showError);
  if (event.kind === "user_message") loadSuggestions();
}

// -- queue -------------------------------------------------------------------

async function refreshQueue() {
  const queue = await api("/console/api/queue");
  state.queue = queue;
  state.clockSkew = new Date(queue.now).getTime() - Date.now();
  $("online").textContent = `在线客服：${queue.agents_online.length}`;
  const waiting = queue.handoffs.filter((h) => h.state === "waiting");
  const active = queue.handoffs.filter((h) => h.state === "with_agent");
  $("count-waiting").textContent = waiting.length;
  $("count-active").textContent = active.length;
  $("count-tickets").textContent = queue.tickets.length;
  document.title = waiting.length ? `(${waiting.length}) 客服工作台` : "客服工作台";
  $("queue-waiting").replaceChildren(...waiting.map(handoffItem));
  $("queue-active").replaceChildren(...active.map(handoffItem));
  $("queue-tickets").replaceChildren(...queue.tickets.map(ticketItem));
  tickWaiting();
}

function isCurrent(type, id) {
  return state.current && state.current.type === type && state.current.id === id;
}

function handoffItem(h) {
  const mine = h.agent && state.me && h.agent === state.me.name;
  const cls = ["item", mine ? "mine" : "", isCurrent("handoff", h.id) ? "selected" : ""].join(" ");
  const status = h.state === "waiting"
    ? el("span", { class: "waited", "data-created": h.created_at })
    : el("span", { text: mine ? "我在处理" : `${h.agent} 处理中` });
  return el("li", { class: cls, "data-testid": "queue-item", "data-handoff-id": h.id, "data-state": h.state,
                    onclick: () => selectHandoff(h.id) },
    el("div", { class: "line1" }, el("span", { text: h.ticket }),
       el("span", { class: "tag", text: CHANNELS[h.channel] || h.channel })),
    el("div", { class: "line2" }, `${REASONS[h.reason] || h.reason} · `, status),
    el("div", { class: "preview", text: h.last_message || "（暂无消息）" }));
}

function ticketItem(t) {
  return el("li", { class: `item ${isCurrent("ticket", t.id) ? "selected" : ""}`, "data-testid": "ticket-item",
                    "data-ticket-id": t.id, onclick: () => selectTicket(t.id) },
    el("div", { class: "line1" }, el("span", { text: t.ticket }),
       el("span", { class: "tag", text: OFFLINE[t.why_offline] || t.why_offline })),
    el("div", { class: "line2", text: `${t.contact || ""} · ${clock(t.submitted_at)}` }),
    el("div", { class: "preview", text: t.question || "" }));
}

function tickWaiting() {
  for (const node of document.querySelectorAll(".waited")) {
    const seconds = (serverNow() - new Date(node.dataset.created).getTime()) / 1000;
    node.textContent = `已等待 ${duration(seconds)}`;
  }
}

// -- a hand-off --------------------------------------------------------------

async function selectHandoff(id) {
  state.current = { type: "handoff", id };
  state.seen = new Set();
  $("conversation").replaceChildren();
  $("ticket-controls").hidden = true;
  showError("");
  await reloadCurrent().catch(showError);
  loadSuggestions();
  refreshQueue().catch(showError);
}

async function reloadCurrent() {
  if (!state.current || state.current.type !== "handoff") return;
  const id = state.current.id;
  const data = await api(`/console/api/handoffs/${encodeURIComponent(id)}`);
  if (!isCurrent("handoff", id)) return;
  state.handoff = data.handoff;
  renderHeader(data.handoff);
  if (!state.seen.size) renderTranscript(data.handoff);
  for (const event of data.events) appendEvent(event);
  renderControls(data.handoff);
}

function renderHeader(h) {
  const states = { waiting: "等待接入", with_agent: `${h.agent} 处理中`, closed: "已结束" };
  $("conv-header").replaceChildren(
    el("b", { text: `会话 ${h.ticket}` }), ` · ${CHANNELS[h.channel] || h.channel} · ${REASONS[h.reason] || h.reason}`
    + ` · ${states[h.state] || h.state} · 用户 ${h.conversation_id}`);
}

function renderTranscript(h) {
  const box = $("conversation");
  box.append(el("div", { class: "section-label", text: "—— 机器人对话记录 ——" }));
  for (const line of h.transcript) {
    const user = line.role === "user";
    box.append(el("div", { class: `msg ${user ? "user" : "bot"}`, "data-testid": "msg",
                           "data-kind": user ? "transcript-user" : "transcript-bot" },
      el("span", { class: "who", text: user ? "用户" : "机器人" }), line.text));
  }
  box.append(el("div", { class: "section-label", text: "—— 人工服务 ——" }));
}

function appendEvent(event) {
  if (state.seen.has(event.seq)) return;
  state.seen.add(event.seq);
  const box = $("conversation");
  const who = (label) => el("span", { class: "who", text: `${label} · ${clock(event.at)}` });
  const attrs = (cls) => ({ class: `msg ${cls}`, "data-testid": "msg", "data-kind": event.kind, "data-seq": event.seq });
  let node;
  switch (event.kind) {
    case "user_message": node = el("div", attrs("user"), who("用户"), event.text); break;
    case "agent_message": node = el("div", attrs("agent"), who(event.actor), event.text); break;
    case "bot_message": node = el("div", attrs("bot"), who("系统通知"), event.text); break;
    case "note": node = el("div", attrs("note"), who(`内部备注（用户不可见）· ${event.actor}`), event.text); break;
    case "created": node = el("div", attrs("system"), `${clock(event.at)} 进入排队`); break;
    case "claimed": node = el("div", attrs("system"), `${clock(event.at)} ${event.actor} 已接入`); break;
    case "closed": node = el("div", attrs("system"),
      `${clock(event.at)} 会话已结束${event.actor ? `（${event.actor}）` : "（用户取消）"}，已交还机器人`); break;
    case "rating": node = el("div", attrs("system"), `用户评价：${event.text === "good" ? "满意" : "不满意"}`); break;
    default: node = el("div", attrs("system"), `${event.kind} ${event.text || ""}`);
  }
  const later = [...box.querySelectorAll("[data-seq]")].find((n) => Number(n.dataset.seq) > event.seq);
  if (later) box.insertBefore(node, later); else box.append(node);
  box.scrollTop = box.scrollHeight;
}

function renderControls(h) {
  const mine = h.state === "with_agent" && state.me && h.agent === state.me.name;
  const open = h.state === "waiting" || h.state === "with_agent";
  $("controls").hidden = false;
  $("claim").hidden = h.state !== "waiting";
  $("close").disabled = !(h.state === "waiting" || mine);
  $("message-input").disabled = !mine;
  $("send").disabled = !mine;
  $("note-input").disabled = !open;
  $("note-add").disabled = !open;
}

async function act(work) {
  showError("");
  try { await work(); } catch (error) { showError(error); }
}

const handoffPath = (suffix) => `/console/api/handoffs/${encodeURIComponent(state.current.id)}/${suffix}`;

$("claim").addEventListener("click", () => act(async () => {
  await api(handoffPath("claim"), {});
  await reloadCurrent();
  scheduleQueue();
}));

$("close").addEventListener("click", () => act(async () => {
  await api(handoffPath("close"), {});
  await reloadCurrent();
  scheduleQueue();
}));

async function sendMessage() {
  const text = $("message-input").value.trim();
  if (!text) return;
  await act(async () => {
    const sent = await api(handoffPath("messages"), { text });
    $("message-input").value = "";
    if (sent.delivered === "stored") showError("用户当前不在线，消息已保存，用户重新打开窗口后可见。");
  });
}
$("send").addEventListener("click", sendMessage);
$("message-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendMessage(); }
});

$("note-add").addEventListener("click", () => act(async () => {
  const text = $("note-input").value.trim();
  if (!text) return;
  await api(handoffPath("notes"), { text });
  $("note-input").value = "";
}));

async function loadSuggestions() {
  if (!state.current || state.current.type !== "handoff") return;
  const id = state.current.id;
  try {
    const data = await api(`/console/api/handoffs/${encodeURIComponent(id)}/suggestions`);
    if (!isCurrent("handoff", id)) return;
    $("suggest-question").textContent = data.question ? `用户最新问题：${data.question}` : "用户还没有提问。";
    $("suggestions").replaceChildren(...data.suggestions.map((s) => el("li", { class: "suggestion", "data-testid": "suggestion" },
      el("div", { class: "q", text: s.question }),
      el("div", { class: "a", text: s.answer }),
      el("div", { class: "foot" }, `匹配度 ${Math.round(s.confidence * 100)}%`,
         el("button", { "data-testid": "suggestion-insert", text: "插入",
                        onclick: () => { $("message-input").value = s.answer; $("message-input").focus(); } })))));
  } catch (error) {
    $("suggest-question").textContent = `推荐答案暂不可用：${error.message}`;
  }
}

// -- tickets -----------------------------------------------------------------

function selectTicket(id) {
  const ticket = state.queue && state.queue.tickets.find((t) => t.id === id);
  if (!ticket) return;
  state.current = { type: "ticket", id };
  state.handoff = null;
  showError("");
  $("controls").hidden = true;
  $("ticket-controls").hidden = false;
  $("suggestions").replaceChildren();
  $("suggest-question").textContent = "";
  $("conv-header").replaceChildren(el("b", { text: `留言 ${ticket.ticket}` }),
    ` · ${CHANNELS[ticket.channel] || ticket.channel} · ${OFFLINE[ticket.why_offline] || ticket.why_offline}`);
  $("conversation").replaceChildren(el("div", { class: "ticket-card" },
    el("div", {}, el("b", { text: "联系方式：" }), ticket.contact || "-"),
    el("div", {}, el("b", { text: "问题：" }), ticket.question || "-"),
    el("div", { class: "muted", text: `提交时间：${new Date(ticket.submitted_at).toLocaleString("zh-CN", { hour12: false })}` }),
    el("div", { class: "muted", text: `用户：${ticket.conversation_id}` })));
  refreshQueue().catch(showError);
}

$("ticket-answer-send").addEventListener("click", () => act(async () => {
  const text = $("ticket-answer-input").value.trim();
  if (!text || !state.current || state.current.type !== "ticket") return;
  const done = await api(`/console/api/tickets/${encodeURIComponent(state.current.id)}/answer`, { text });
  $("ticket-answer-input").value = "";
  $("ticket-controls").hidden = true;
  $("conversation").replaceChildren(el("div", { class: "section-label",
    text: done.delivered === "live" ? "已回复，用户已在聊天窗口收到。" : "已回复并保存；请同时通过用户留下的联系方式告知。" }));
  state.current = null;
  await refreshQueue();
}));

// -- KPIs --------------------------------------------------------------------

for (const button of document.querySelectorAll(".tabs button")) {
  button.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".tabs button")) other.classList.toggle("active", other === button);
    $("tab-chat").hidden = button.dataset.tab !== "chat";
    $("tab-kpis").hidden = button.dataset.tab !== "kpis";
    if (button.dataset.tab === "kpis") loadKpis().catch(showError);
  });
}
$("kpi-days").addEventListener("change", () => loadKpis().catch(showError));

async function loadKpis() {
  const report = await api(`/console/api/kpis?days=${$("kpi-days").value}`);
  const t = report.totals;
  $("kpi-range").textContent = `${report.from} 至 ${report.to}（${report.timezone}）`;
  const cards = [
    ["会话数", t.conversations], ["机器人解决率", percent(t.bot_resolution_rate)], ["转人工率", percent(t.handoff_rate)],
    ["留言", t.tickets], ["人工首次响应（平均）", duration(t.first_response_seconds.avg)],
    ["平均处理时长", duration(t.handling_seconds.avg)], ["满意度", percent(t.satisfaction.rate)],
    ["机器人响应 p50 / p95", t.bot_reply_ms.count ? `${Math.round(t.bot_reply_ms.p50)} / ${Math.round(t.bot_reply_ms.p95)} ms` : "-"]];
  $("kpi-cards").replaceChildren(...cards.map(([label, value]) =>
    el("div", { class: "card" }, el("div", { class: "label", text: label }), el("div", { class: "value", text: value }))));
  const days = report.by_day;
  $("kpi-charts").replaceChildren(
    chart("机器人解决率", days, (d) => d.bot_resolution_rate, percent, 1),
    chart("转人工率", days, (d) => d.handoff_rate, percent, 1),
    chart("人工首次响应（平均）", days, (d) => d.first_response_seconds.avg, duration, null),
    chart("满意度", days, (d) => d.satisfaction.rate, percent, 1),
    chart("会话数", days, (d) => d.conversations, (v) => String(v), null));
  const head = el("tr", {}, ...["渠道", "会话数", "机器人解决率", "转人工率", "留言", "人工首次响应", "平均处理时长", "满意度"]
    .map((h) => el("th", { text: h })));
  const rows = report.by_channel.map((c) => el("tr", {}, ...[CHANNELS[c.channel] || c.channel, c.conversations,
    percent(c.bot_resolution_rate), percent(c.handoff_rate), c.tickets, duration(c.first_response_seconds.avg),
    duration(c.handling_seconds.avg), percent(c.satisfaction.rate)].map((v) => el("td", { text: v }))));
  $("kpi-channels").replaceChildren(head, ...rows);
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A line chart of one daily value; days without data leave a gap.
function chart(title, days, value, format, fixedMax) {
  const width = 440, height = 170, left = 48, right = 10, top = 10, bottom = 26;
  const values = days.map(value);
  const known = values.filter((v) => v !== null && v !== undefined);
  const max = fixedMax || Math.max(2, Math.ceil(Math.max(...known, 0) * 1.1));
  const x = (i) => left + (days.length < 2 ? 0 : (i * (width - left - right)) / (days.length - 1));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, "data-testid": "kpi-chart", role: "img", "aria-label": title });
  root.append(svg("line", { class: "axis", x1: left, y1: y(0), x2: width - right, y2: y(0) }));
  root.append(svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: y(0) }));
  for (const fraction of [0, 0.5, 1]) {
    root.append(svg("text", { class: "tick", x: left - 4, y: y(max * fraction) + 3, "text-anchor": "end" },
                    format(fixedMax ? max * fraction : Math.round(max * fraction * 10) / 10)));
  }
  const step = Math.max(1, Math.ceil(days.length / 7));
  days.forEach((d, i) => {
    if (i % step === 0 || i === days.length - 1) {
      root.append(svg("text", { class: "tick", x: x(i), y: height - 8, "text-anchor": "middle" }, d.day.slice(5)));
    }
  });
  let path = "";
  values.forEach((v, i) => {
    if (v === null || v === undefined) { path += " "; return; }
    path += `${path.endsWith(" ") || !path ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  });
  root.append(svg("path", { class: "series", d: path.trim().replace(/ +/g, " ") || "M0,0" }));
  values.forEach((v, i) => {
    if (v === null || v === undefined) return;
    const dot = svg("circle", { class: "dot", cx: x(i), cy: y(v), r: 3 });
    dot.append(svg("title", {}, `${days[i].day}：${format(v)}`));
    root.append(dot);
  });
  return el("div", { class: "chart" }, el("h3", { text: title }), root);
}

start();
