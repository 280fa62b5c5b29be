// A small, safe Markdown renderer for replies: every character of the model's text is
// HTML-escaped first, then a few constructs are formatted: fenced code blocks, inline code,
// lists (- * + and 1.), headings, bold, italic, links (http, https and mailto only) and
// paragraphs. No HTML from the text survives, so nothing it says can run or load.
// An unclosed code fence (a reply still streaming) renders as code up to the end.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]);
}

const FENCE = /^\s*(```|~~~)\s*([\w+-]*)\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,9}[.)]\s+(.*)$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const SAFE_URL = /^(https?:\/\/|mailto:)/i;

// Inline formatting of one escaped line: code spans are cut out first, so nothing inside
// them is formatted; links, then bold and italic, are formatted in the rest.
function inline(escaped) {
  return escaped
    .split(/(`[^`]+`)/)
    .map((part, index) => (index % 2 === 1 ? `<code>${part.slice(1, -1)}</code>` : emphasis(links(part))))
    .join("");
}

function links(text) {
  return text.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label, url) => {
    // The URL is escaped text already: quotes are entities, so it cannot leave the attribute.
    const plain = url.replace(/&amp;/g, "&");
    if (!SAFE_URL.test(plain)) return whole;
    return `<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${label}</a>`;
  });
}

function emphasis(text) {
  return text
    .replace(/\*\*(?=\S)(.+?)(?<=\S)\*\*/g, "<strong>$1</strong>")
    .replace(/__(?=\S)(.+?)(?<=\S)__/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*(?=\S)(.+?)(?<=\S)\*(?!\*)/g, "$1<em>$2</em>")
    .replace(/(^|[^_\w])_(?=\S)(.+?)(?<=\S)_(?![_\w])/g, "$1<em>$2</em>");
}

// Returns the HTML of `text` (a reply in Markdown).
export function renderMarkdown(text) {
  const lines = escapeHtml(text).split(/\r\n|\r|\n/);
  const html = [];
  let paragraph = [];
  let list = null; // { tag: "ul" | "ol", items: [] }

  const flushParagraph = () => {
    if (paragraph.length) html.push(`<p>${paragraph.map(inline).join("<br>")}</p>`);
    paragraph = [];
  };
  const flushList = () => {
    if (list) html.push(`<${list.tag}>${list.items.map((item) => `<li>${inline(item)}</li>`).join("")}</${list.tag}>`);
    list = null;
  };
  const flush = () => {
    flushParagraph();
    flushList();
  };

  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const code = [];
      for (index += 1; index < lines.length && !lines[index].trim().startsWith(fence[1]); index += 1) {
        code.push(lines[index]);
      }
      const language = fence[2] ? ` class="language-${fence[2]}"` : "";
      html.push(`<pre><code${language}>${code.join("\n")}</code></pre>`);
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    if (bullet || numbered) {
      flushParagraph();
      const tag = bullet ? "ul" : "ol";
      if (list && list.tag !== tag) flushList();
      list = list || { tag, items: [] };
      list.items.push((bullet || numbered)[1]);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      const level = Math.min(6, heading[1].length + 2); // h3..h6: below the page's titles
      html.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    flushList();
    paragraph.push(line.trim());
  }
  flush();
  return html.join("");
}
