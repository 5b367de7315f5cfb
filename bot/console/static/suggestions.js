// 知识库 › 建议: 相似问法 (what customers asked before picking an entry from 您是想问, or before an
// agent answered with its answer) and 猜你想问 (the entry customers were answered with next).
// 加为相似问法 / 加入猜你想问 save a draft of the entry through the studio's change API; the editor
// submits it for review as usual. 忽略 keeps a suggestion from coming back.
// Uses app.js's $, el, api and studio.js's studio, loadStudio, studioNote, studioError, myName.
// Wrapped: app.js, studio.js and regression.js are classic scripts sharing one global scope.
(() => {
  "use strict";

  const SOURCE_LABELS = { clarify: "来自“您是想问”选择", agent: "来自人工客服回答" };
  const MAX_RELATED = 3;
  const ENTRY_FIELDS = ["question", "similar", "answer", "category", "tags", "related", "handoff",
                        "handoff_notice", "enabled", "hot", "valid_until"];

  // What the draft starts from: the editor's own open draft of the entry, else the entry as in the KB.
  function draftOf(faqId) {
    const entry = studio.entries.find((e) => e.id === faqId);
    if (!entry) throw new Error(`知识库里没有条目 ${faqId}`);
    const open = studio.changes.find((c) => c.entry_id === faqId) || entry.change;
    const own = open && open.author === myName() && open.status === "draft" && open.data ? open : null;
    const source = own ? own.data : entry;
    const data = {};
    for (const field of ENTRY_FIELDS) {
      if (source[field] !== undefined && source[field] !== null) data[field] = source[field];
    }
    data.similar = [...(data.similar || [])];
    data.related = [...(data.related || [])];
    return { data, own };
  }

  // Saves the draft (another editor's open change or one in review: the server says so, in Chinese).
  async function saveDraft(faqId, data, own, what) {
    const change = await api("/console/api/studio/changes", { entry_id: faqId, kind: "edit", data });
    await loadStudio();
    await load();
    studioNote(`${what}：${own ? `已加到草稿 #${change.id}` : `已创建草稿 #${change.id}`}，提交审核后发布`);
  }

  async function addSimilar(s) {
    const { data, own } = draftOf(s.faq_id);
    if (!data.similar.includes(s.question)) data.similar.push(s.question);
    await saveDraft(s.faq_id, data, own, `“${s.question}”加为 ${s.faq_id} 的相似问法`);
  }

  async function addRelated(s) {
    const { data, own } = draftOf(s.faq_id);
    if (!data.related.includes(s.next_id)) {
      if (data.related.length >= MAX_RELATED) {
        throw new Error(`条目 ${s.faq_id} 已有 ${MAX_RELATED} 个猜你想问（最多 ${MAX_RELATED} 个）：先在编辑器里去掉一个再加`);
      }
      data.related.push(s.next_id);
    }
    await saveDraft(s.faq_id, data, own, `${s.next_id} 加入 ${s.faq_id} 的猜你想问`);
  }

  async function dismiss(path, body, item) {
    const done = await api(path, body);
    item.remove();
    studioNote(done.dismissed ? "已忽略这条建议，之后不再出现" : "这条建议之前已被忽略");
  }

  function button(label, testid, run) {
    const node = el("button", { type: "button", "data-testid": testid, text: label });
    node.addEventListener("click", () => {
      node.disabled = true;
      Promise.resolve().then(run).catch(studioError).finally(() => { node.disabled = false; });
    });
    return node;
  }

  function similarItem(s) {
    const item = el("li", { class: "item", "data-testid": "similar-suggestion", "data-faq": s.faq_id,
                            "data-question": s.question },
      el("div", { class: "line1" },
        el("span", {}, el("b", { text: `“${s.question}”` }), ` → ${s.faq_question}（${s.faq_id}）`),
        el("span", { class: "tag", title: "问过的会话数", text: `${s.count} 人` })),
      el("div", { class: "muted", "data-testid": "similar-sources",
                  text: s.sources.map((k) => SOURCE_LABELS[k] || k).join(" · ")
                    + (s.examples.length > 1 ? ` · 用户的问法：${s.examples.join("；")}` : "") }));
    item.append(el("div", { class: "kpi-toolbar" },
      button("加为相似问法", "similar-add", () => addSimilar(s)),
      button("忽略", "similar-dismiss", () => dismiss("/console/api/studio/similar-suggestions/dismiss",
                                                     { faq_id: s.faq_id, question: s.question }, item))));
    return item;
  }

  function relatedItem(s) {
    const item = el("li", { class: "item", "data-testid": "related-suggestion", "data-faq": s.faq_id,
                            "data-next": s.next_id },
      el("div", { class: "line1" },
        el("span", { text: `${s.question || s.faq_id}（${s.faq_id}） → ${s.next_question || s.next_id}（${s.next_id}）` }),
        el("span", { class: "tag", text: `${s.count} 次` })));
    item.append(el("div", { class: "kpi-toolbar" },
      button("加入猜你想问", "related-add", () => addRelated(s)),
      button("忽略", "related-dismiss", () => dismiss("/console/api/studio/related-suggestions/dismiss",
                                                     { faq_id: s.faq_id, next_id: s.next_id }, item))));
    return item;
  }

  function show(list, items, empty) {
    list.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: empty })]));
  }

  async function load() {
    const [similar, related] = await Promise.all([
      api("/console/api/studio/similar-suggestions?days=30"), api("/console/api/studio/related-suggestions?days=30")]);
    show($("similar-suggestions"), similar.suggestions.map(similarItem), "近 30 天没有相似问法建议");
    show($("related-suggestions"), related.suggestions.map(relatedItem), "近 30 天没有猜你想问建议");
  }

  document.querySelector('.tabs button[data-tab="studio"]').addEventListener("click", () => {
    load().catch(studioError);
  });
})();
