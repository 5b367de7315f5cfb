/* faqbot web widget: one <script> tag, talks to Rasa's socket.io channel.
 *
 *   <script src="https://bot.example.com/widget/widget.js"
 *           data-title="在线客服" data-color="#1f6feb"></script>
 *
 * Options come from data-* attributes or window.FaqbotWidget = {server, title, color, avatar,
 * lang, user}. ``user: {id, name, signature}`` (or data-user-id, data-user-name, data-user-signature):
 * the host site's signed-in user, signature = hex HMAC-SHA256 of the id under the site's secret,
 * computed by the site's server (README, "The customer panel"); the console shows the id only when
 * it verifies. The welcome is the bot's own (utter_greet in bot/domain.yml, with the hot questions),
 * asked for when a new conversation connects, so there is one welcome and one brand name. Everything is drawn with DOM calls and textContent inside a shadow root: no
 * answer or agent message can inject HTML or script. The conversation (socket.io session id and
 * the messages shown) is kept in localStorage, so a page refresh keeps the history; ``keepDays``
 * (data-keep-days, default 30; 0: no limit) drops a stored conversation untouched for longer when the
 * page opens, and the panel's 清除对话 button drops it at once and starts a new conversation (a new
 * session id). Either only clears this browser: the server keeps its records for the retention the
 * operator configured ([retention] in faqbot.toml).
 *
 * Answers and agent messages are rendered by widget/markdown.js (FaqbotMarkdown), the renderer the
 * agent console uses too: the server sends /widget/widget.js as markdown.js followed by this file
 * (bot/server/widget.py), so embedding sites keep one tag. Serve or copy that response, not this
 * file alone.
 */
(function () {
  "use strict";
  const script = document.currentScript;
  const origin = script ? new URL(script.src, location.href).origin : location.origin;
  const data = script ? script.dataset : {};
  const config = Object.assign({
    server: data.server || origin, title: data.title || "在线客服", color: data.color || "#1f6feb",
    avatar: data.avatar || "",
    lang: data.lang || "zh-CN", maxLength: 2000,
    keepDays: data.keepDays !== undefined && data.keepDays !== "" ? Number(data.keepDays) : 30,
    user: data.userId ? { id: data.userId, name: data.userName, signature: data.userSignature } : null,
  }, window.FaqbotWidget || {});
  const KEY = "faqbot-widget:" + config.server;
  if (!window.FaqbotMarkdown) throw new Error("faqbot widget: load /widget/widget.js from the bot server (it includes markdown.js)");
  const markdown = window.FaqbotMarkdown.render;  // the KB's Markdown subset (widget/markdown.js)

  // -- state kept across page loads ------------------------------------------------
  const DAY_MS = 86400000;
  const newSession = () => (crypto.randomUUID ? crypto.randomUUID().replace(/-/g, "") : String(Math.random()).slice(2));
  const saved = (() => {
    let found;
    try { found = JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { found = {}; }
    const keep = Number(config.keepDays) || 0;
    if (keep > 0 && typeof found.savedAt === "number" && Date.now() - found.savedAt > keep * DAY_MS) {
      localStorage.removeItem(KEY);  // expired: this browser forgets the conversation
      return {};
    }
    return found;
  })();
  const state = {
    session: saved.session || newSession(),
    history: Array.isArray(saved.history) ? saved.history.slice(-200) : [],
    lastSeq: saved.lastSeq || 0, open: !!saved.open, unread: 0, socket: null, typingTimer: null,
  };
  const persist = () => localStorage.setItem(KEY, JSON.stringify({ session: state.session, history: state.history,
                                                                   lastSeq: state.lastSeq, open: state.open,
                                                                   savedAt: Date.now() }));

  // -- DOM -----------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  const host = el("div", { id: "faqbot-widget" });
  const root = host.attachShadow({ mode: "open" });
  const style = el("style", { text: `
    :host { all: initial; }
    [hidden] { display: none !important; }
    * { box-sizing: border-box; font-family: -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }
    .bubble { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: none;
              background: ${config.color}; color: #fff; font-size: 24px; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); z-index: 2147483000; }
    .badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; border-radius: 10px; background: #e5484d;
             color: #fff; font-size: 12px; line-height: 20px; padding: 0 6px; }
    .panel { position: fixed; right: 20px; bottom: 88px; width: 380px; height: min(620px, calc(100vh - 110px)); background: #fff;
             border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.2); display: flex; flex-direction: column; overflow: hidden; z-index: 2147483000; }
    .head { background: ${config.color}; color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 10px; }
    .head img { width: 32px; height: 32px; border-radius: 50%; background: #fff; }
    .head h2 { font-size: 16px; margin: 0; flex: 1; }
    .head button { background: none; border: none; color: #fff; font-size: 20px; cursor: pointer; }
    .head button.clear { font-size: 13px; border: 1px solid rgba(255,255,255,.6); border-radius: 12px; padding: 2px 8px; }
    .status { background: #fff7e6; color: #8a5300; font-size: 13px; padding: 6px 14px; border-bottom: 1px solid #f0e0c0; }
    .status.agent { background: #e9f7ef; color: #1a7f37; border-color: #c6ebd3; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; background: #f6f7f9; }
    .msg { max-width: 85%; padding: 8px 12px; border-radius: 12px; font-size: 14px; line-height: 1.55; word-break: break-word; color: #1f2329; }
    .msg p { margin: 0 0 6px; } .msg p:last-child { margin: 0; } .msg ul, .msg ol { margin: 4px 0; padding-left: 20px; }
    .msg a { color: ${config.color}; }
    .user { align-self: flex-end; background: ${config.color}; color: #fff; white-space: pre-wrap; }
    .bot { align-self: flex-start; background: #fff; border: 1px solid #e3e6ea; }
    .agent { align-self: flex-start; background: #e9f7ef; border: 1px solid #b7e4c7; }
    .who { display: block; font-size: 12px; color: #1a7f37; margin-bottom: 2px; }
    .system { align-self: center; background: none; color: #6b7280; font-size: 12px; text-align: center; }
    .replies { display: flex; flex-wrap: wrap; gap: 6px; align-self: flex-start; max-width: 95%; }
    .replies button { border: 1px solid ${config.color}; color: ${config.color}; background: #fff; border-radius: 16px;
                      padding: 4px 12px; font-size: 13px; cursor: pointer; }
    .replies button:disabled { opacity: .45; cursor: default; }
    .typing { align-self: flex-start; color: #6b7280; font-size: 13px; }
    form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e3e6ea; align-items: flex-end; }
    textarea { flex: 1; resize: none; border: 1px solid #d0d4da; border-radius: 8px; padding: 8px; font-size: 14px; max-height: 120px; }
    form button { background: ${config.color}; color: #fff; border: none; border-radius: 8px; padding: 8px 14px; font-size: 14px; cursor: pointer; }
    .hint { color: #e5484d; font-size: 12px; padding: 0 12px 6px; min-height: 0; }
    .offline { background: #fdecec; color: #b42318; font-size: 12px; padding: 4px 14px; }
    button:focus-visible, textarea:focus-visible { outline: 2px solid #111; outline-offset: 2px; }
    @media (max-width: 600px) {
      .panel { right: 0; bottom: 0; width: 100vw; height: 100dvh; border-radius: 0; }
    }` });

  const badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
  const bubble = el("button", { class: "bubble", "aria-label": `打开${config.title}`, "aria-expanded": "false",
                                "data-testid": "widget-bubble", onclick: () => toggle(true) }, "💬", badge);
  const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "对话记录", "data-testid": "widget-log" });
  const status = el("div", { class: "status", hidden: true, role: "status", "data-testid": "widget-status" });
  const offline = el("div", { class: "offline", hidden: true, role: "status", text: "网络已断开，正在重新连接…" });
  const input = el("textarea", { rows: "1", "aria-label": "输入您的问题", placeholder: "输入您的问题（Enter 发送）", title: "Enter 发送，Shift+Enter 换行",
                                 maxlength: String(config.maxLength + 1), "data-testid": "widget-input" });
  const hint = el("div", { class: "hint", role: "alert", "data-testid": "widget-hint" });
  const form = el("form", { onsubmit: (e) => { e.preventDefault(); sendText(input.value); } }, input,
                  el("button", { type: "submit", "data-testid": "widget-send" }, "发送"));
  const panel = el("section", { class: "panel", role: "dialog", "aria-label": config.title, hidden: true, "data-testid": "widget-panel", lang: config.lang },
    el("div", { class: "head" }, config.avatar ? el("img", { src: config.avatar, alt: "" }) : null,
       el("h2", { text: config.title }),
       el("button", { class: "clear", title: "清除本设备上的对话记录，开始新的对话", "data-testid": "widget-clear",
                      onclick: () => clearConversation() }, "清除对话"),
       el("button", { "aria-label": "关闭对话窗口", "data-testid": "widget-close", onclick: () => toggle(false) }, "×")),
    status, offline, log, hint, form);
  root.append(style, bubble, panel);

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(input.value); }
    if (e.key === "Escape") toggle(false);
  });
  input.addEventListener("input", () => {
    hint.textContent = input.value.length > config.maxLength
      ? `消息最长 ${config.maxLength} 字，当前 ${input.value.length} 字，请精简后发送。` : "";
  });

  // Screen readers hear the unread count on the button itself (the badge is only visual).
  function labelBubble() {
    bubble.setAttribute("aria-label", state.unread ? `打开${config.title}，${state.unread} 条未读消息` : `打开${config.title}`);
  }

  function toggle(open) {
    state.open = open;
    panel.hidden = !open;
    bubble.hidden = open;
    bubble.setAttribute("aria-expanded", String(open));
    if (open) { state.unread = 0; badge.hidden = true; labelBubble(); input.focus(); log.scrollTop = log.scrollHeight; }
    else bubble.focus();
    persist();
  }

  // -- messages ------------------------------------------------------------------
  function draw(m) {
    let node;
    if (m.from === "user") node = el("div", { class: "msg user", "data-testid": "widget-msg", "data-from": "user", text: m.text });
    else if (m.from === "system") node = el("div", { class: "msg system", "data-testid": "widget-msg", "data-from": "system", text: m.text });
    else {
      node = el("div", { class: `msg ${m.from === "agent" ? "agent" : "bot"}`, "data-testid": "widget-msg", "data-from": m.from });
      if (m.from === "agent") node.append(el("span", { class: "who", text: `人工客服 ${m.name || ""}` }));
      node.append(markdown(m.text));
    }
    log.append(node);
    if (m.buttons && m.buttons.length) {
      const row = el("div", { class: "replies", role: "group", "aria-label": "快捷回复" });
      for (const b of m.buttons) {
        row.append(el("button", { type: "button", "data-testid": "widget-reply", disabled: m.used ? "" : null,
          onclick: () => { if (!m.used) { m.used = true; sendPayload(b.title, b.payload); for (const x of row.children) x.disabled = true; } } }, b.title));
      }
      log.append(row);
    }
    log.scrollTop = log.scrollHeight;
  }

  // Only the latest turn's buttons can be clicked: an old 有帮助 must not rate a newer answer.
  function retireButtons() {
    for (const old of state.history) if (old.buttons && old.buttons.length) old.used = true;
    for (const b of log.querySelectorAll(".replies button")) b.disabled = true;
  }

  function add(m) {
    if (m.from !== "user") retireButtons();
    state.history.push(m);
    if (state.history.length > 200) state.history.shift();
    persist();
    draw(m);
    if (!state.open && m.from !== "user") { state.unread += 1; badge.textContent = String(state.unread); badge.hidden = false; labelBubble(); }
  }

  let typing = null;
  function showTyping(on) {
    clearTimeout(state.typingTimer);
    if (typing) { typing.remove(); typing = null; }
    if (on) {
      typing = el("div", { class: "typing", "data-testid": "widget-typing", "aria-label": "对方正在输入" }, "对方正在输入…");
      log.append(typing);
      log.scrollTop = log.scrollHeight;
      state.typingTimer = setTimeout(() => showTyping(false), 6000);
    }
  }

  function receive(message) {
    const meta = message.metadata || {};
    if (meta.seq) {
      if (meta.seq <= state.lastSeq) return;  // already shown (a catch-up after reconnecting)
      state.lastSeq = meta.seq;
    }
    showTyping(false);
    const buttons = (message.quick_replies || message.buttons || []).map((b) => ({ title: b.title, payload: b.payload }));
    add({ from: meta.from === "agent" ? "agent" : meta.from === "system" ? "system" : "bot",
          name: meta.name, text: message.text || "", buttons });
    refreshStatus();
  }

  function sendText(raw) {
    const text = raw.trim();
    if (!text) return;
    if (text.length > config.maxLength) {
      hint.textContent = `消息最长 ${config.maxLength} 字，当前 ${text.length} 字，请精简后发送。`;
      return;
    }
    input.value = "";
    hint.textContent = "";
    add({ from: "user", text });
    emit(text);
  }

  function sendPayload(title, payload) {
    add({ from: "user", text: title });
    emit(payload);
  }

  // No "对方正在输入…" after the customer's own message: nobody may be typing (the bot answers at once).
  // The first message on each page says where the customer is, for the agent's customer panel.
  let reported = false;
  function emit(message) {
    const payload = { message, session_id: state.session };
    if (!reported) { reported = true; payload.metadata = { customer: customerInfo() }; }
    state.socket.emit("user_uttered", payload);
  }

  function customerInfo() {
    const info = { page_url: location.href, page_title: document.title, referrer: document.referrer,
                   user_agent: navigator.userAgent, language: navigator.language };
    const user = config.user;
    if (user && user.id) info.user = { id: String(user.id), name: user.name ? String(user.name) : undefined,
                                       signature: user.signature ? String(user.signature) : undefined };
    return info;
  }

  // -- hand-off state and catch-up (the bot's /handoff endpoints) --------------------
  async function refreshStatus() {
    try {
      const reply = await fetch(`${config.server}/handoff/status?sender=${encodeURIComponent(state.session)}`);
      const s = await reply.json();
      status.classList.toggle("agent", s.state === "with_agent");
      if (s.state === "waiting") status.textContent = `正在为您转接人工客服（编号 ${s.ticket}）` + (s.waiting_ahead ? `，前面还有 ${s.waiting_ahead} 位` : "") + "…";
      else if (s.state === "with_agent") status.textContent = `人工客服 ${s.agent || ""} 正在为您服务`;
      else if (s.state === "message") status.textContent = "正在为您登记留言";
      status.hidden = !["waiting", "with_agent", "message"].includes(s.state);
    } catch (e) { /* the status bar is a convenience */ }
  }

  async function catchUp() {
    try {
      const reply = await fetch(`${config.server}/handoff/messages?sender=${encodeURIComponent(state.session)}&after=${state.lastSeq}`);
      const missed = await reply.json();
      for (const m of missed.messages || []) receive({ text: m.text, quick_replies: m.buttons,
        metadata: { from: m.from === "agent" ? "agent" : "system", seq: m.seq, name: m.name } });
      // Answers to a 留言 left earlier that this chat has not shown yet.
      for (const t of missed.tickets || []) {
        if (t.shown) continue;
        receive({ text: t.text, quick_replies: t.buttons, metadata: { from: "agent", name: t.agent } });
        fetch(`${config.server}/handoff/tickets/shown`, { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ sender: state.session, ticket: t.ticket }) });
      }
    } catch (e) { /* next reconnect tries again */ }
    refreshStatus();
  }

  // -- start ---------------------------------------------------------------------
  function connect() {
    // Long-polling only: Rasa 3.6's Sanic answers the WebSocket upgrade with frames browsers reject
    // ("Invalid frame header"), and each failed upgrade costs a reconnect.
    // `session` in the query lets a load balancer keep this socket's polls on one server
    // (bot/process/nginx_conf.py); the server never reads it.
    const socket = window.io(config.server, {
      path: "/socket.io", transports: ["polling"], upgrade: false, query: { session: state.session },
    });
    state.socket = socket;
    socket.on("connect", () => { offline.hidden = true; socket.emit("session_request", { session_id: state.session }); });
    socket.on("session_confirm", () => {
      // A new conversation gets the server's one welcome, with the hot questions as buttons.
      if (!state.history.length && !state.greeted) { state.greeted = true; emit("/greet"); }
      catchUp();
    });
    socket.on("bot_uttered", receive);
    socket.on("agent_typing", () => showTyping(true));  // sent only while an agent types a reply
    socket.on("disconnect", () => { offline.hidden = false; });
  }

  // 清除对话: this browser forgets the conversation and starts a new one under a new session id.
  function clearConversation() {
    localStorage.removeItem(KEY);
    state.session = newSession();
    state.history = [];
    state.lastSeq = 0;
    state.greeted = false;
    showTyping(false);
    log.replaceChildren();
    hint.textContent = "本设备上的对话记录已清除，已开始新的对话。客服系统中的记录按网站的隐私政策保存和删除。";
    persist();
    if (state.socket) { state.socket.off(); state.socket.disconnect(); state.socket = null; }
    if (window.io) connect();
  }

  function start() {
    document.body.append(host);
    for (const m of state.history) draw(m);
    toggle(state.open);
    if (!state.open) bubble.blur();
    if (window.io) connect();
    else document.head.append(el("script", { src: `${config.server}/widget/socket.io.min.js`, onload: connect }));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
  window.FaqbotWidgetApi = { open: () => toggle(true), close: () => toggle(false), session: () => state.session,
                             clear: clearConversation };
})();
