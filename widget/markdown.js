/* faqbot's Markdown subset, drawn as DOM nodes: the one renderer of the widget and the console.
 *
 * What the KB's answers use (and agents may type): paragraphs, **bold**, "-" and "1." lists,
 * [text](url) and bare URLs. Everything is built with createElement and textContent, never
 * innerHTML, so no text can inject markup or script. Only http(s), mailto:, tel: and site-relative
 * links become links (what the KB validator allows); anything else, javascript: included, stays
 * text. Links open in a new tab with rel="noopener noreferrer".
 *
 * One source, two pages (bot/server/widget.py):
 * - the widget: /widget/widget.js is served as this file followed by widget/widget.js, so a host
 *   site still embeds one <script> tag and makes one request;
 * - the agent console: loads /widget/markdown.js with its own <script> tag.
 *
 *   FaqbotMarkdown.render(text) -> DocumentFragment
 *   FaqbotMarkdown.isSafeLink(url) -> boolean
 */
(function (global) {
  "use strict";
  const SAFE_LINK = /^(https?:\/\/|mailto:|tel:|\/(?!\/))/i;  // "/x" is on the page's own site

  function node(tag, text) {
    const made = document.createElement(tag);
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function link(href, text) {
    const a = node("a", text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  const isSafeLink = (url) => SAFE_LINK.test(String(url));

  function inline(text, into) {
    const pattern = /\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s)）]+)/g;
    let last = 0, m;
    while ((m = pattern.exec(text))) {
      into.append(text.slice(last, m.index));
      if (m[1] !== undefined) into.append(node("strong", m[1]));
      else if (m[2] !== undefined) {
        into.append(isSafeLink(m[3]) ? link(m[3], m[2]) : `${m[2]} (${m[3]})`);  // javascript: and friends stay text
      } else into.append(link(m[4], m[4]));
      last = pattern.lastIndex;
    }
    into.append(text.slice(last));
    return into;
  }

  function list(tag, lines, marker) {
    const box = node(tag);
    for (const line of lines) box.append(inline(line.replace(marker, ""), node("li")));
    return box;
  }

  function render(text) {
    const box = document.createDocumentFragment();
    for (const block of String(text === null || text === undefined ? "" : text).split(/\n{2,}/)) {
      const lines = block.split("\n");
      if (lines.every((l) => /^\s*[-*]\s+/.test(l))) box.append(list("ul", lines, /^\s*[-*]\s+/));
      else if (lines.every((l) => /^\s*\d+[.、]\s*/.test(l))) box.append(list("ol", lines, /^\s*\d+[.、]\s*/));
      else {
        const p = node("p");
        lines.forEach((l, i) => { if (i) p.append(node("br")); inline(l, p); });
        box.append(p);
      }
    }
    return box;
  }

  global.FaqbotMarkdown = Object.freeze({ render, isSafeLink });
})(window);
