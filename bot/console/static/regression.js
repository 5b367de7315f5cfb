// 知识库 › 回归测试集: the questions editors keep with the FAQ that should answer each, run against
// the published index (答对 x/y and the threshold curve), and 重新校准, which writes the thresholds
// and publishes a new index version after the editor confirms. Uses app.js's api, el, $, percent.
"use strict";

const SOURCES = { hit_test: "命中测试", gap: "未解决问题", import: "导入", manual: "手工添加" };
const REGRESSION_ACTIONS = { answer: "直接回答", clarify: "反问", fallback: "没找到" };

function regressionError(error) {
  $("regression-error").textContent = error.message;
}

async function deleteCase(id) {
  const reply = await fetch(`/console/api/studio/regression/${id}`, {
    method: "DELETE", credentials: "same-origin",
    headers: { Accept: "application/json", "X-Faqbot-Console": "1" },
  });
  if (!reply.ok) {
    const data = await reply.json().catch(() => ({}));
    throw new ApiError(chinese(data.error || ""), reply.status, data.error);
  }
}

// The hit test's button on each result row: the question tested, that row's FAQ.
function regressionButton(question, faqId) {
  const button = el("button", { type: "button", class: "link", "data-testid": "hit-add-regression", text: "加入回归集" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const data = await api("/console/api/studio/regression", { question, faq_id: faqId, source: "hit_test" });
      button.textContent = data.added ? "已加入" : "已在回归集中";
      await loadRegression();
    } catch (error) {
      button.disabled = false;
      $("hit-error").textContent = error.message;
    }
  });
  return button;
}

let regressionResults = new Map();  // "question\u0000faq_id" -> the last run's result

async function loadRegression() {
  $("regression-error").textContent = "";
  let data;
  try {
    data = await api("/console/api/studio/regression");
  } catch (error) {
    regressionError(error);
    return;
  }
  const rows = data.cases.map((c) => {
    const result = regressionResults.get(`${c.question}\u0000${c.faq_id}`);
    const outcome = result
      ? (result.correct ? "答对" : `${REGRESSION_ACTIONS[result.action] || result.action}${result.answered ? `：${result.answered}` : ""}`)
      : "";
    const remove = el("button", { type: "button", class: "link", "data-testid": "regression-delete", text: "删除" });
    remove.addEventListener("click", async () => {
      try {
        await deleteCase(c.id);
        await loadRegression();
      } catch (error) {
        regressionError(error);
      }
    });
    return el("tr", { "data-testid": "regression-row", "data-faq": c.faq_id, class: result && !result.correct ? "wrong" : "" },
      el("td", { text: c.question }), el("td", { text: c.faq_id }),
      el("td", { text: SOURCES[c.source] || c.source }), el("td", { text: c.added_by || "-" }),
      el("td", { "data-testid": "regression-outcome", text: outcome }), el("td", {}, remove));
  });
  $("regression-cases").replaceChildren(
    el("tr", {}, ...["用户问题", "应答条目", "来源", "添加人", "上次运行", ""].map((t) => el("th", { text: t }))),
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6", class: "muted", text: "还没有用例：在上面的命中测试结果里点“加入回归集”" }))]));
}

function showCurve(points, answerThreshold) {
  const table = $("regression-curve");
  table.hidden = false;
  table.replaceChildren(
    el("tr", {}, ...["阈值", "准确率", "覆盖率", "回答数"].map((t) => el("th", { text: t }))),
    ...points.map((p) => el("tr", { "data-testid": "curve-row", class: Math.abs(p.threshold - answerThreshold) < 0.025 ? "chosen" : "" },
      el("td", { text: p.threshold.toFixed(2) }), el("td", { text: percent(p.precision) }),
      el("td", { text: percent(p.coverage) }), el("td", { text: String(p.answered) }))));
}

$("regression-run").addEventListener("click", async () => {
  $("regression-error").textContent = "";
  $("regression-summary").textContent = "运行中…";
  try {
    const data = await api("/console/api/studio/regression/run");
    regressionResults = new Map(data.results.map((r) => [`${r.question}\u0000${r.expected}`, r]));
    $("regression-summary").textContent =
      `答对 ${data.right_after}/${data.total} · 直接回答阈值 ${data.answer_threshold} · 索引版本 ${data.index_version}`;
    showCurve(data.curve, data.answer_threshold);
    await loadRegression();
  } catch (error) {
    $("regression-summary").textContent = "";
    regressionError(error);
  }
});

function calibrationText(data) {
  const b = data.before, a = data.after;
  return `校准前：直接回答阈值 ${data.answer_threshold.before}，反问阈值 ${data.clarify_threshold.before}，`
    + `准确率 ${percent(b.precision)}，覆盖率 ${percent(b.coverage)}；`
    + `校准后：直接回答阈值 ${data.answer_threshold.after}，反问阈值 ${data.clarify_threshold.after}，`
    + `准确率 ${percent(a.precision)}，覆盖率 ${percent(a.coverage)}`;
}

$("regression-recalibrate").addEventListener("click", async () => {
  $("regression-error").textContent = "";
  const line = $("regression-calibration");
  const target = Number($("regression-target").value);
  try {
    const looked = await api("/console/api/studio/recalibrate", { target, write: false });
    line.hidden = false;
    line.textContent = calibrationText(looked);
    if (!looked.reached) {
      line.textContent += "。没有哪个阈值能达到目标准确率：阈值不变，请先改进没答对的条目。";
      return;
    }
    if (!looked.changed) {
      line.textContent += "。阈值不需要改变。";
      return;
    }
    if (!window.confirm(`${calibrationText(looked)}\n\n确定写入新的阈值并发布新的索引版本吗？`)) return;
    line.textContent = "正在发布新的索引版本…";
    const wrote = await api("/console/api/studio/recalibrate", { target, write: true });
    line.textContent = `${calibrationText(wrote)}。已发布索引版本 ${wrote.published || wrote.index_version}。`;
  } catch (error) {
    regressionError(error);
  }
});
