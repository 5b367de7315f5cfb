"use strict";
// The editors' studio (知识库 tab): browse and edit FAQ entries with a live preview and
// validation as you type, drafts → review → publish, versions and rollback.
// Uses app.js's helpers ($, el, api, markdown, percent, fullTime, me).

const KINDS = { create: "新建", edit: "修改", delete: "删除", synonyms: "修改", words: "修改" };
// The word lists' changes (bot/studio/changes.py): not entries.
const LISTS = { "@synonyms": "同义词表", "@words": "敏感词表" };
const changeTarget = (c) => LISTS[c.entry_id] || c.entry_id;
const studio = { entries: [], changes: [], selfPublish: false, editing: null, checkTimer: null };

const studioNote = (text, kind = "ok") => {
  $("studio-note").textContent = text;
  $("studio-note").className = `notice ${kind}`;
  $("studio-error").textContent = "";
};
const studioError = (error) => { $("studio-error").textContent = error.message || String(error); };
const splitList = (text) => text.split(/[,，、;；\n]/).map((s) => s.trim()).filter(Boolean);
const myName = () => (state.me ? state.me.name : "");

async function loadStudio() {
  const [listing, changes, versions] = await Promise.all([
    api("/console/api/studio/entries"), api("/console/api/studio/changes"), api("/console/api/studio/versions")]);
  studio.entries = listing.entries;
  studio.changes = changes.changes;
  studio.selfPublish = changes.self_publish;
  if (listing.problems.length) studioError(new Error(`知识库文件有错误：${listing.problems.join("；")}`));
  const categories = [...new Set(studio.entries.map((e) => e.category))].sort();
  const chosen = $("kb-category").value;
  $("kb-category").replaceChildren(el("option", { value: "", text: "全部" }),
    ...categories.map((c) => el("option", { value: c, text: c })));
  $("kb-category").value = categories.includes(chosen) ? chosen : "";
  const tags = [...new Set(studio.entries.flatMap((e) => e.tags))].sort();
  const tag = $("kb-tag").value;
  $("kb-tag").replaceChildren(el("option", { value: "", text: "全部" }), ...tags.map((t) => el("option", { value: t, text: t })));
  $("kb-tag").value = tags.includes(tag) ? tag : "";
  $("kb-categories").replaceChildren(...categories.map((c) => el("option", { value: c })));
  renderEntries();
  renderChanges();
  renderVersions(versions);
  loadSynonyms().catch(studioError);
  loadWords().catch(studioError);
}

// -- synonyms (同义词): the whole list edited as text, through the same drafts → review → publish --

async function loadSynonyms() {
  const found = await api("/console/api/studio/synonyms");
  const change = found.change;
  const box = $("synonyms-text");
  // The open draft's text when there is one (so an editor continues where they stopped).
  if (document.activeElement !== box) {
    box.value = change && change.data ? change.data.synonyms.join("\n") : found.text.replace(/\n$/, "");
  }
  $("synonyms-status").textContent = change
    ? `修改 #${change.id}（${change.author}，${change.status_label}）见下方“待审核与待发布的修改”` : "与已发布的相同";
  const busy = change && (change.author !== myName() || change.status !== "draft");
  box.readOnly = Boolean(busy);
  $("synonyms-save").disabled = Boolean(busy);
}

let synonymsTimer = null;
$("synonyms-text").addEventListener("input", () => {
  clearTimeout(synonymsTimer);
  synonymsTimer = setTimeout(() => {
    api("/console/api/studio/check", { kind: "synonyms", data: { text: $("synonyms-text").value } })
      .then((found) => showProblems($("synonyms-problems"), found.problems))
      .catch(studioError);
  }, 400);
});

$("synonyms-save").addEventListener("click", () => {
  api("/console/api/studio/changes", { kind: "synonyms", data: { text: $("synonyms-text").value } })
    .then((c) => { studioNote(`同义词草稿 #${c.id} 已保存（还没有发布）：提交审核、批准、发布后生效`); return loadStudio(); })
    .catch(studioError);
});

// -- sensitive words (敏感词): the whole list edited as text, like the synonyms; every publish
// keeps its text with the version, so 发布历史 is its audit trail --

async function loadWords() {
  const found = await api("/console/api/studio/words");
  const change = found.change;
  const box = $("words-text");
  if (document.activeElement !== box) {
    box.value = change && change.data ? change.data.words.join("\n") : found.text.replace(/\n$/, "");
  }
  $("words-status").textContent = change
    ? `修改 #${change.id}（${change.author}，${change.status_label}）见上方“待审核与待发布的修改”` : "与已发布的相同";
  const busy = change && (change.author !== myName() || change.status !== "draft");
  box.readOnly = Boolean(busy);
  $("words-save").disabled = Boolean(busy);
}

let wordsTimer = null;
$("words-text").addEventListener("input", () => {
  clearTimeout(wordsTimer);
  wordsTimer = setTimeout(() => {
    api("/console/api/studio/check", { kind: "words", data: { text: $("words-text").value } })
      .then((found) => showProblems($("words-problems"), found.problems))
      .catch(studioError);
  }, 400);
});

$("words-save").addEventListener("click", () => {
  api("/console/api/studio/changes", { kind: "words", data: { text: $("words-text").value } })
    .then((c) => { studioNote(`敏感词草稿 #${c.id} 已保存（还没有发布）：提交审核、批准、发布后生效`); return loadStudio(); })
    .catch(studioError);
});

function matches(entry, words, category, status, tag) {
  if (category && entry.category !== category) return false;
  if (tag && !entry.tags.includes(tag)) return false;
  if (status === "unused" && entry.health && entry.health.answers > 0) return false;
  if (status === "enabled" && !entry.enabled) return false;
  if (status === "disabled" && entry.enabled) return false;
  if (status === "changed" && !entry.change) return false;
  if (status === "review" && !(entry.health && entry.health.not_helpful > 0)) return false;
  if (status === "expired" && entry.expiry !== "expired") return false;
  if (status === "expiring" && entry.expiry !== "soon") return false;
  const text = [entry.id, entry.question, entry.answer, ...entry.similar, ...entry.tags].join(" ").toLowerCase();
  return words.every((w) => text.includes(w));
}

function renderEntries() {
  const words = $("kb-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = studio.entries.filter((e) => matches(e, words, $("kb-category").value, $("kb-status").value, $("kb-tag").value));
  if ($("kb-status").value === "review") {
    shown.sort((a, b) => (b.health ? b.health.not_helpful : 0) - (a.health ? a.health.not_helpful : 0));
  }
  $("kb-count").textContent = `共 ${shown.length} 条`;
  const rows = shown.map((e) => el("tr", { "data-testid": "kb-row", "data-faq": e.id,
      class: !e.enabled ? "disabled" : e.expiry === "expired" ? "kb-expired" : "" },
    el("td", {}, el("b", { text: e.question }), el("div", { class: "muted", text: e.id })),
    el("td", { text: e.category }),
    el("td", { text: e.tags.join("、") }),
    el("td", {}, e.enabled ? "启用" : "停用", studioExpiry(e)),
    el("td", { text: e.health ? String(e.health.answers) : "0" }),
    el("td", { text: e.health ? `${e.health.helpful} / ${e.health.not_helpful}` : "-" }),
    el("td", { text: e.change ? `${KINDS[e.change.kind]} · ${e.change.status_label}（${e.change.author}）` : "" }),
    el("td", {}, el("button", { type: "button", "data-testid": "kb-edit", text: "编辑",
      onclick: () => openEditor(e) }))));
  $("kb-entries").replaceChildren(
    el("tr", {}, ...["标准问题", "分类", "标签", "状态", "近 30 天回答", "有帮助 / 没帮助", "未发布的修改", ""]
      .map((t) => el("th", { text: t }))),
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "8", class: "muted", text: "没有符合条件的条目" }))]));
}

// 已过期 / 即将过期 (the server's day: the one the bot compares valid_until with).
function studioExpiry(entry) {
  if (!entry.expiry) return null;
  const text = entry.expiry === "expired" ? "已过期" : "即将过期";
  return el("div", { class: `expiry-${entry.expiry}`, "data-testid": "kb-expiry",
    title: `有效期至 ${entry.valid_until}`, text: `${text}（${entry.valid_until}）` });
}

function studioValidity() {
  const until = $("kb-valid-until").value;
  $("kb-validity").textContent = until ? `有效期至 ${until}（这天过后不再回答）` : "长期有效";
}

function fill(data) {
  $("kb-id").value = data.id || "";
  $("kb-field-category").value = data.category || "";
  $("kb-question").value = data.question || "";
  $("kb-similar").value = (data.similar || []).join("\n");
  $("kb-answer").value = (data.answer || "").trim();
  $("kb-tags").value = (data.tags || []).join("、");
  $("kb-related").value = (data.related || []).join(", ");
  $("kb-handoff").value = data.handoff || "never";
  $("kb-notice").value = data.handoff_notice || "";
  $("kb-enabled").checked = data.enabled !== false;
  $("kb-hot").checked = Boolean(data.hot);
  $("kb-valid-until").value = data.valid_until || "";
}

function formData() {
  return {
    category: $("kb-field-category").value.trim(),
    question: $("kb-question").value.trim(),
    similar: $("kb-similar").value.split("\n").map((s) => s.trim()).filter(Boolean),
    answer: $("kb-answer").value,
    tags: splitList($("kb-tags").value),
    related: splitList($("kb-related").value),
    handoff: $("kb-handoff").value,
    handoff_notice: $("kb-notice").value.trim(),
    enabled: $("kb-enabled").checked,
    hot: $("kb-hot").checked,
    valid_until: $("kb-valid-until").value,
  };
}

function openEditor(entry, prefill) {
  const open = entry ? studio.changes.find((c) => c.entry_id === entry.id) || entry.change : null;
  studio.editing = { id: entry ? entry.id : null, kind: entry ? "edit" : "create", change: open || null };
  const data = open && open.data ? { ...open.data, id: open.entry_id } : entry || prefill || {};
  fill(data);
  $("kb-id").readOnly = Boolean(entry);
  $("kb-editor-title").textContent = entry ? `编辑条目 ${entry.id}` : "新建条目";
  $("kb-delete").hidden = !entry;
  $("kb-editor").hidden = false;
  $("kb-problems").replaceChildren();
  preview();
  scheduleCheck();
  $("kb-question").focus();
}

function preview() {
  $("kb-preview").replaceChildren(markdown($("kb-answer").value, "answer"));
  studioValidity();
}

function showProblems(list, problems) {
  list.replaceChildren(...problems.map((p) => el("li", { "data-testid": "kb-problem",
    class: p.severity === "error" ? "error" : "warning",
    text: `${p.severity === "error" ? "错误" : "提醒"}：${p.field ? `[${p.field}] ` : ""}${p.message}` })));
}

function scheduleCheck() {
  clearTimeout(studio.checkTimer);
  studio.checkTimer = setTimeout(() => {
    const id = $("kb-id").value.trim();
    if (!id || $("kb-editor").hidden) return;
    api("/console/api/studio/check", { entry_id: id, kind: studio.editing.kind, data: formData() })
      .then((found) => showProblems($("kb-problems"), found.problems))
      .catch(studioError);
  }, 400);
}

for (const id of ["kb-question", "kb-similar", "kb-answer", "kb-tags", "kb-related", "kb-notice", "kb-id",
                  "kb-field-category"]) {
  $(id).addEventListener("input", () => { if (id === "kb-answer") preview(); scheduleCheck(); });
}
for (const id of ["kb-handoff", "kb-enabled", "kb-hot"]) $(id).addEventListener("change", scheduleCheck);
$("kb-valid-until").addEventListener("change", () => { studioValidity(); scheduleCheck(); });
for (const id of ["kb-search", "kb-category", "kb-tag", "kb-status"]) $(id).addEventListener("input", renderEntries);
$("kb-filter").addEventListener("submit", (event) => event.preventDefault());
$("kb-new").addEventListener("click", () => openEditor(null));
$("kb-close").addEventListener("click", () => { $("kb-editor").hidden = true; });

async function saveDraft(kind) {
  const id = $("kb-id").value.trim();
  const change = await api("/console/api/studio/changes",
    { entry_id: id, kind, data: kind === "delete" ? null : formData() });
  studio.editing = { id, kind: kind === "create" ? "create" : "edit", change };
  return change;
}

$("kb-editor").addEventListener("submit", (event) => {
  event.preventDefault();
  saveDraft(studio.editing.kind)
    .then((c) => { studioNote(`草稿 #${c.id} 已保存（还没有发布）`); return loadStudio(); })
    .catch(studioError);
});

$("kb-submit").addEventListener("click", () => {
  const when = $("kb-publish-at").value;
  const publishAt = when ? new Date(when).toISOString() : null;
  saveDraft(studio.editing.kind)
    .then((c) => api(`/console/api/studio/changes/${c.id}/submit`, { publish_at: publishAt }))
    .then((c) => {
      $("kb-editor").hidden = true;
      studioNote(`修改 #${c.id} 已提交审核${publishAt ? `，批准后于 ${fullTime(c.publish_at)} 发布` : ""}`);
      return loadStudio();
    })
    .catch(studioError);
});

$("kb-delete").addEventListener("click", () => {
  if (!window.confirm(`删除条目 ${$("kb-id").value}？删除也要审核后才发布，发布后机器人不再用它回答。`)) return;
  saveDraft("delete")
    .then((c) => api(`/console/api/studio/changes/${c.id}/submit`, {}))
    .then((c) => { $("kb-editor").hidden = true; studioNote(`删除 #${c.id} 已提交审核`); return loadStudio(); })
    .catch(studioError);
});

function changeAction(change, action, body = {}) {
  return api(`/console/api/studio/changes/${change.id}/${action}`, body)
    .then((c) => { studioNote(`修改 #${c.id}：${c.status_label}`); return loadStudio(); })
    .catch(studioError);
}

function changeButtons(c) {
  const mine = c.author === myName();
  const buttons = [];
  const button = (label, testid, onclick) => el("button", { type: "button", "data-testid": testid, text: label, onclick });
  if (mine && c.status === "draft") {
    buttons.push(button("提交审核", "change-submit", () => changeAction(c, "submit")));
  }
  if (c.status === "review" && (!mine || studio.selfPublish)) {
    buttons.push(button("批准", "change-approve", () => changeAction(c, "approve")));
  }
  if ((c.status === "review" || c.status === "approved") && !mine) {
    buttons.push(button("退回", "change-reject", () => {
      const note = window.prompt("退回原因（作者会看到）：");
      if (note) changeAction(c, "reject", { note });
    }));
  }
  if (mine && (c.status === "review" || c.status === "approved")) {
    buttons.push(button("改回草稿", "change-redraft", () => changeAction(c, "redraft")));
  }
  if (mine) buttons.push(button("撤回", "change-withdraw", () => changeAction(c, "withdraw")));
  return buttons;
}

function renderChanges() {
  $("changes-rule").textContent = studio.selfPublish
    ? "（本站允许编辑批准自己的修改）" : "（修改要由另一位编辑批准后才能发布）";
  const items = studio.changes.map((c) => el("li", { class: "item", "data-testid": "kb-change", "data-id": String(c.id),
      "data-faq": c.entry_id, "data-status": c.status },
    el("div", { class: "line1" },
      el("b", { text: `#${c.id} ${KINDS[c.kind]} ${changeTarget(c)}` }),
      el("span", { class: "tag", text: c.status_label })),
    el("div", { class: "muted", text: `${c.author} · ${fullTime(c.updated_at)}`
      + (c.reviewer ? ` · 审核：${c.reviewer}` : "") + (c.publish_at ? ` · 定时发布：${fullTime(c.publish_at)}` : "")
      + (c.review_note ? ` · 意见：${c.review_note}` : "") }),
    el("pre", { class: "diff", "data-testid": "change-diff" }, ...c.diff.map((line) => el("span", {
      class: line.startsWith("+") ? "added" : line.startsWith("-") ? "removed" : "kept", text: `${line}\n` }))),
    el("div", { class: "kpi-toolbar" }, ...changeButtons(c))));
  $("kb-changes").replaceChildren(...(items.length ? items
    : [el("li", { class: "muted", text: "没有未发布的修改" })]));
  const ready = studio.changes.filter((c) => c.status === "approved" && !c.publish_at).length;
  $("kb-publish").disabled = ready === 0;
  $("kb-publish").textContent = ready ? `发布已批准的修改（${ready} 项）` : "发布已批准的修改";
}

function regressionLine(r) {
  if (!r) return "";
  const before = r.right_before === null ? "" : `（之前 ${r.right_before}/${r.total}）`;
  return `；回归测试集答对 ${r.right_after}/${r.total}${before}，新答对 ${r.gained.length}、不再答对 ${r.lost.length}、换了答案 ${r.changed.length}`;
}

async function publishNow(confirm) {
  $("publish-problems").replaceChildren();
  $("kb-publish").disabled = true;
  studioNote(confirm ? "正在发布（已确认）…" : "正在发布：校验知识库、跑回归测试集、重建索引…");
  // fetch, not api(): a refused publish's body says what would be lost or what is invalid.
  let reply;
  let data = {};
  try {
    reply = await fetch("/console/api/studio/publish", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-Faqbot-Console": "1" },
      body: JSON.stringify({ confirm }) });
    data = await reply.json().catch(() => ({}));
  } catch (error) {
    studioError(new Error("暂时无法连接服务器，请稍后再试"));
    return loadStudio();
  }
  if (reply.ok) {
    studioNote(`已发布版本 #${data.version.id}（索引 ${data.index_version}）；机器人几秒内按新内容回答，无需重启`
      + regressionLine(data.regression));
    return loadAll();
  }
  studioError(new Error(data.error || `发布失败（${reply.status}）`));
  if (reply.status === 422) showProblems($("publish-problems"), data.problems || []);
  if (reply.status === 409 && data.regression) showLost(data.regression);
  return loadStudio().then(() => { if (reply.status === 409) $("kb-publish").disabled = false; });
}

// A publish that loses answers of the regression set: what would be lost, and a confirmation.
function showLost(report) {
  $("publish-problems").replaceChildren(
    ...report.lost.map((c) => el("li", { class: "error", "data-testid": "publish-lost",
      text: `不再答对：“${c.question}”（应答 ${c.expected}，发布后${c.after.answered ? `答 ${c.after.answered}` : "不直接回答"}）` })),
    el("li", {}, el("button", { type: "button", "data-testid": "publish-confirm", class: "danger",
      text: "我已了解，仍然发布", onclick: () => publishNow(true) })));
}

$("kb-publish").addEventListener("click", () => publishNow(false));

function renderVersions(data) {
  const rows = data.versions.map((v, i) => el("tr", { "data-testid": "kb-version", "data-id": String(v.id) },
    el("td", { text: `#${v.id}` }), el("td", { text: fullTime(v.at) }), el("td", { text: v.by }),
    el("td", { text: v.note }),
    el("td", { text: v.index_version === data.serving ? "正在使用" : "" }),
    el("td", {}, i === 0 ? "" : el("button", { type: "button", "data-testid": "version-rollback", text: "回滚到此版本",
      onclick: () => {
        if (!window.confirm(`回滚到版本 #${v.id}？知识库会恢复成当时的内容并立即发布。`)) return;
        studioNote("正在回滚…");
        api(`/console/api/studio/versions/${v.id}/rollback`, {})
          .then((o) => { studioNote(`已回滚到版本 #${v.id}（新版本 #${o.version.id}）`); return loadAll(); })
          .catch(studioError);
      } }))));
  $("kb-versions").replaceChildren(
    el("tr", {}, ...["版本", "时间", "发布人", "内容", "", ""].map((t) => el("th", { text: t }))),
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6", class: "muted", text: "还没有在工作室发布过" }))]));
  renderNodes(data);
}

// Several servers (``[index] shared``): the version each one serves and when it last said so,
// judged against the server's clock (``now``), not the browser's.
const NODE_SILENT_MS = 30_000;

function renderNodes(data) {
  const nodes = data.nodes || [];
  $("kb-nodes-section").hidden = !nodes.length;
  const now = Date.parse(data.now) || Date.now();
  const rows = nodes.map((n) => {
    const silent = now - Date.parse(n.seen_at) > NODE_SILENT_MS;
    return el("tr", { "data-testid": "kb-node", "data-node": n.node, "data-silent": String(silent) },
      el("td", { text: n.node }),
      el("td", { text: n.version }),
      el("td", {}, fullTime(n.seen_at), silent ? " " : "",
        silent ? el("span", { class: "tag offline-busy", "data-testid": "kb-node-silent", text: "可能已离线" }) : ""));
  });
  $("kb-nodes").replaceChildren(el("tr", {}, ...["服务器", "版本", "最后报告"].map((t) => el("th", { text: t }))), ...rows);
}

// The gaps after the entries (they name their nearest entries); again after a publish or rollback.
const loadAll = () => loadStudio().then(loadGaps).catch(studioError);
document.querySelector('.tabs button[data-tab="studio"]').addEventListener("click", loadAll);

// -- the gaps: what customers asked that the bot did not answer well --------------------

const GAP_SOURCES = { unanswered: "未答出", clarify: "反问", fallback: "兜底", not_helpful: "没帮助", file: "导入" };

async function loadGaps() {
  const data = await api("/console/api/studio/gaps?days=30");
  const byId = new Map(studio.entries.map((e) => [e.id, e]));
  const items = data.gaps.map((g) => {
    const near = g.nearest_faq ? byId.get(g.nearest_faq) : null;
    const others = g.questions.filter((q) => q !== g.typical);
    const target = el("input", { "data-testid": "gap-target", size: "18", value: g.nearest_faq || "",
      placeholder: "条目 id", "aria-label": "加到哪个条目" });
    return el("li", { class: "item", "data-testid": "gap", "data-nearest": g.nearest_faq || "" },
      el("div", { class: "line1" }, el("b", { text: g.typical }),
        el("span", { class: "tag", text: `${g.count} 人 · ${g.asks} 次` })),
      el("div", { class: "muted", text: Object.entries(g.sources).map(([s, n]) => `${GAP_SOURCES[s] || s} ${n}`).join(" · ")
        + (near ? ` · 最接近：${near.question}（${g.nearest_faq}，${g.nearest_score.toFixed(2)}）` : " · 知识库中没有接近的条目") }),
      others.length ? el("div", { class: "muted", text: `其他问法：${others.slice(0, 5).join("；")}${others.length > 5 ? ` 等 ${others.length} 种` : ""}` }) : "",
      el("div", { class: "kpi-toolbar" },
        el("button", { type: "button", "data-testid": "gap-similar", text: "加为相似问题到", onclick: () => {
          const entry = byId.get(target.value.trim());
          if (!entry) { studioError(new Error(`知识库里没有条目 ${target.value.trim() || "（未填写）"}`)); return; }
          gapAction("similar", g, entry.id).then(() => {
            openEditor(entry);
            const have = new Set($("kb-similar").value.split("\n").map((s) => s.trim()).filter(Boolean));
            const added = g.questions.filter((q) => !have.has(q) && q !== entry.question);
            $("kb-similar").value = [...have, ...added].join("\n");
            scheduleCheck();
            studioNote(`已把 ${added.length} 个问法加到 ${entry.id} 的相似问题：保存并提交审核，发布后生效`);
            $("kb-editor").scrollIntoView();
          }).catch(studioError);
        } }), target,
        el("button", { type: "button", "data-testid": "gap-draft", text: "新建条目", onclick: () => {
          gapAction("draft", g, null).then(() => {
            openEditor(null, { question: g.typical, similar: others, category: near ? near.category : "" });
            studioNote("已用这组问题起草新条目：填写 id 和答案，保存并提交审核");
            $("kb-editor").scrollIntoView();
          }).catch(studioError);
        } }),
        el("button", { type: "button", "data-testid": "gap-out-of-scope", text: "不在服务范围", onclick: () => {
          if (!window.confirm(`“${g.typical}”这组问题不在服务范围？之后的报告不再列出它们。`)) return;
          gapAction("out_of_scope", g, null).then(() => { studioNote("已标记为不在服务范围"); return loadGaps(); })
            .catch(studioError);
        } })));
  });
  $("gap-list").replaceChildren(...(items.length ? items
    : [el("li", { class: "muted", text: "近 30 天没有需要补充的问题" })]));
  const rows = data.handled.map((h) => el("tr", { "data-testid": "gap-handled-row", "data-faq": h.faq_id || "" },
    el("td", {}, el("b", { text: h.typical }), el("div", { class: "muted", text: `${h.questions.length} 种问法` })),
    el("td", { text: h.action_label }), el("td", { text: h.faq_id || "-" }),
    el("td", { text: `${h.by} · ${fullTime(h.at)}` }),
    el("td", { "data-testid": "gap-now", text: h.now ? `${h.now.answered}/${h.now.total} 现在能直接回答` : "-" }),
    el("td", {}, h.action === "out_of_scope" ? "" : gapRegressionButton(h))));
  $("gap-handled").replaceChildren(
    el("tr", {}, ...["问题", "处理", "条目", "处理人", "现在", "回归测试集"].map((t) => el("th", { text: t }))),
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6", class: "muted", text: "还没有处理过" }))]));
}

// The group's questions as regression cases of the entry that answers them now (a drafted
// group's new entry: its id typed once it is published).
function gapRegressionButton(h) {
  const target = el("input", { size: "14", value: h.faq_id || "", placeholder: "条目 id", "aria-label": "应答条目",
    "data-testid": "gap-regression-faq" });
  return el("span", {}, target, el("button", { type: "button", "data-testid": "gap-regression", text: "加入回归集",
    onclick: () => api(`/console/api/studio/gaps/${h.id}/regression`, { faq_id: target.value.trim() })
      .then((r) => studioNote(`已加入回归测试集 ${r.added} 个问题${r.already ? `（${r.already} 个已在其中）` : ""}`))
      .catch(studioError) }));
}

function gapAction(action, gap, faqId) {
  return api("/console/api/studio/gaps/actions",
    { action, questions: gap.questions, typical: gap.typical, faq_id: faqId });
}


// -- bulk import: every changed row becomes a change submitted for review ----------------

$("kb-import").addEventListener("change", async () => {
  const file = $("kb-import").files[0];
  if (!file) return;
  const kind = file.name.toLowerCase().endsWith(".xlsx") ? "xlsx" : "csv";
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    const data = await api("/console/api/studio/import", { format: kind, data: btoa(binary) });
    studioNote(`已导入：新建 ${data.created} 条、修改 ${data.edited} 条（已提交审核），${data.unchanged} 条没有变化`);
    await loadStudio();
  } catch (error) {
    studioError(error);
  } finally {
    $("kb-import").value = "";
  }
});
