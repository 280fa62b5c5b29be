// The chat page: conversation list, new chat, continue, rename, delete, tool calls, plain errors;
// replies stream in (Markdown rendered safely), a Stop button ends a running turn, and a
// reload reattaches to a turn still running (its id and last seq kept in sessionStorage);
// the model and instructions of a conversation, Regenerate, Edit last message and alternatives.
import { ChatApi, TwirpError, apiKey, setApiKey } from "./api.js";
import { renderMarkdown } from "./markdown.js";

const $ = (id) => document.getElementById(id);
const prefix = document.querySelector('meta[name="twirp-prefix"]').content;
const api = new ChatApi(prefix);
const state = { conversationId: "", nextPageToken: "", busy: false, turnId: "", model: "", instructions: "", defaultModel: "" };
const RUNNING_TURN = "chat.runningTurn";

function browserId() {
  let id = localStorage.getItem("chat.browserId");
  if (!id) {
    id = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    localStorage.setItem("chat.browserId", id);
  }
  return id;
}
const session = { platform: "web", user_id: browserId(), chat_id: "" };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function when(timestamp) {
  return timestamp ? new Date(timestamp).toLocaleString() : "";
}

function showError(err) {
  let text = err instanceof TwirpError ? `${err.code}: ${err.msg}` : String(err.message || err);
  if (err instanceof TwirpError && err.meta && Object.keys(err.meta).length) {
    text += ` (${Object.entries(err.meta).map(([k, v]) => `${k}=${v}`).join(", ")})`;
  }
  if (err instanceof TwirpError && err.code === "unauthenticated") text += " — set your API key (top right).";
  $("error-text").textContent = text;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

function toolCallNode(call) {
  const details = el("details", "tool-call");
  details.append(el("summary", "", `🔧 ${call.name || "tool"}`));
  let args = call.arguments;
  if (args && typeof args !== "string") args = JSON.stringify(args, null, 2);
  details.append(el("pre", "", args || ""));
  return details;
}

// The reply's text as HTML: renderMarkdown escapes every character of it first.
function markdownNode(text) {
  const node = el("div", "text markdown");
  node.innerHTML = renderMarkdown(text);
  return node;
}

function messageNode(message) {
  const role = (message.role || "UNKNOWN").toLowerCase();
  const item = el("li", `message ${role}`);
  item.dataset.role = message.role || "UNKNOWN";
  const meta = el("div", "meta", `${message.role || "UNKNOWN"} · ${when(message.timestamp)}`);
  if (message.model) meta.append(` · ${message.model}`);
  if (message.version > 1 || message.inactive) meta.append(el("span", "badge", `version ${message.version}`));
  if (message.inactive) {
    item.classList.add("inactive");
    meta.append(el("span", "badge", "replaced"));
  }
  item.append(meta);
  for (const call of message.tool_calls || []) item.append(toolCallNode(call));
  if (message.content) {
    if (role === "tool") {
      const details = el("details", "tool-result");
      details.append(el("summary", "", "Tool result"), el("div", "text", message.content));
      item.append(details);
    } else if (role === "assistant") {
      item.append(markdownNode(message.content));
    } else {
      item.append(el("div", "text", message.content));
    }
  }
  if (message.finish_reason === "cancelled") item.append(el("div", "stopped", "Stopped"));
  return item;
}

function appendMessage(message) {
  const node = messageNode(message);
  $("messages").append(node);
  node.scrollIntoView({ block: "end" });
  return node;
}

function renderConversationItem(conversation, { atTop = false } = {}) {
  const existing = document.querySelector(`[data-conversation-id="${conversation.id}"]`);
  if (existing) existing.remove();
  const item = el("li");
  const button = el("button");
  button.type = "button";
  button.dataset.conversationId = conversation.id;
  button.append(el("span", "name", conversation.title || "(untitled)"), el("span", "when", when(conversation.timestamp)));
  button.addEventListener("click", () => { location.hash = conversation.id; });
  item.append(button);
  if (atTop) $("conversations").prepend(item);
  else $("conversations").append(item);
  $("no-conversations").hidden = true;
  markCurrent();
}

function markCurrent() {
  for (const button of document.querySelectorAll("[data-conversation-id]")) {
    button.setAttribute("aria-current", String(button.dataset.conversationId === state.conversationId));
  }
}

async function loadConversations({ reset = false } = {}) {
  if (reset) {
    $("conversations").replaceChildren();
    state.nextPageToken = "";
  }
  try {
    const page = await api.list(state.nextPageToken);
    for (const conversation of page.conversations) renderConversationItem(conversation);
    state.nextPageToken = page.next_page_token;
    $("more").hidden = !state.nextPageToken;
    $("no-conversations").hidden = $("conversations").children.length > 0;
  } catch (err) {
    showError(err);
  }
}

function showActions() {
  $("conversation-actions").hidden = !state.conversationId;
}

async function renameConversation() {
  const current = $("title").textContent;
  const title = window.prompt("New title for this conversation", current);
  if (title === null || !title.trim() || title.trim() === current) return;
  clearError();
  try {
    const { conversation } = await api.rename(state.conversationId, title);
    $("title").textContent = conversation.title;
    renderConversationItem(conversation);
  } catch (err) {
    showError(err);
  }
}

async function deleteConversation() {
  if (!window.confirm("Delete this conversation and everything stored for it? This cannot be undone.")) return;
  clearError();
  const conversationId = state.conversationId;
  try {
    await api.remove(conversationId);
    document.querySelector(`[data-conversation-id="${conversationId}"]`)?.closest("li")?.remove();
    $("no-conversations").hidden = $("conversations").children.length > 0;
    history.replaceState(null, "", location.pathname);
    newChat();
  } catch (err) {
    showError(err);
  }
}

function showSettings(model, instructions) {
  // The default model is the option "" whether the conversation names it or not.
  state.model = model && model !== state.defaultModel ? model : "";
  state.instructions = instructions || "";
  $("model").value = state.model;
  $("instructions").value = state.instructions;
  $("save-settings").hidden = true;
}

function settingsChanged() {
  $("save-settings").hidden = !state.conversationId
    || ($("model").value === state.model && $("instructions").value.trim() === state.instructions);
}

async function saveSettings() {
  clearError();
  try {
    const { conversation } = await api.configure(state.conversationId, $("model").value, $("instructions").value.trim());
    showSettings(conversation.model, conversation.instructions);
  } catch (err) {
    showError(err);
  }
}

async function loadModels() {
  try {
    const { models } = await api.models();
    const options = models.map((model) => {
      const option = el("option", "", model.is_default ? `${model.display_name} (default)` : model.display_name);
      option.value = model.is_default ? "" : model.id;
      option.dataset.modelId = model.id;
      return option;
    });
    state.defaultModel = models.find((model) => model.is_default)?.id || "";
    if (state.model === state.defaultModel) state.model = "";
    $("model").replaceChildren(...options);
    $("model").value = state.model;
  } catch (err) {
    showError(err);
  }
}

function countAlternatives() {
  $("alternative-count").textContent = String(document.querySelectorAll(".message.inactive").length);
}

async function revise(edit) {
  const users = [...document.querySelectorAll(".message.user:not(.inactive) .text")];
  let text = "";
  if (edit) {
    const last = users.length ? users[users.length - 1].textContent : "";
    const changed = window.prompt("Edit your last message", last);
    if (changed === null || !changed.trim() || changed.trim() === last) return;
    text = changed.trim();
  }
  clearError();
  setBusy(true);
  try {
    if (edit) await api.editLast(state.conversationId, text);
    else await api.regenerate(state.conversationId);
    await openConversation(state.conversationId);
  } catch (err) {
    showError(err);
  } finally {
    setBusy(false);
  }
}

function newChat() {
  state.conversationId = "";
  $("title").textContent = "New chat";
  $("messages").replaceChildren();
  showSettings("", "");
  countAlternatives();
  markCurrent();
  showActions();
  $("message").focus();
}

async function openConversation(conversationId) {
  clearError();
  state.conversationId = conversationId;
  markCurrent();
  showActions();
  $("messages").replaceChildren();
  $("title").textContent = "Loading…";
  try {
    const conversation = await api.conversation(conversationId);
    $("title").textContent = conversation.title || "(untitled)";
    showSettings(conversation.model, conversation.instructions);
    for (const message of conversation.messages) appendMessage(message);
    countAlternatives();
  } catch (err) {
    $("title").textContent = "";
    showError(err);
  }
}

function setBusy(busy) {
  state.busy = busy;
  $("send").disabled = busy;
  $("new-chat").disabled = busy;
  $("rename").disabled = busy;
  $("delete").disabled = busy;
  $("stop").hidden = !busy;
  $("stop").disabled = false;
  $("regenerate").disabled = busy;
  $("edit-last").disabled = busy;
}

function saveRunning(running) {
  if (running) sessionStorage.setItem(RUNNING_TURN, JSON.stringify(running));
  else sessionStorage.removeItem(RUNNING_TURN);
}

function loadRunning() {
  try {
    return JSON.parse(sessionStorage.getItem(RUNNING_TURN) || "null");
  } catch {
    return null;
  }
}

// The assistant's message while its turn runs: tool calls as they happen, then the text.
class LiveReply {
  constructor(running) {
    this.running = running;
    this.node = appendMessage({ role: "ASSISTANT", content: "", timestamp: "" });
    this.node.classList.add("pending", "streaming");
    this.tools = el("div", "live-tools");
    this.text = el("div", "text markdown");
    this.node.append(this.tools, this.text);
    this.calls = new Map();
    this.frame = 0;
    this.draw();
  }

  onEvent(kind, event, seq) {
    const running = this.running;
    running.lastSeq = seq;
    if (kind === "started") {
      running.conversationId = event.conversationId;
      if (event.newConversation) startedConversation(event.conversationId, event.title);
    } else if (kind === "title") {
      $("title").textContent = event.title;
      renderConversationItem({ id: running.conversationId, title: event.title, timestamp: new Date().toISOString() }, { atTop: true });
    } else if (kind === "delta") {
      running.text += event.text;
      this.scheduleDraw();
    } else if (kind === "tool_call_started") {
      const node = toolCallNode({ name: event.name, arguments: event.arguments });
      node.classList.add("running");
      this.calls.set(event.id, node);
      this.tools.append(node);
    } else if (kind === "tool_call_finished") {
      const node = this.calls.get(event.id);
      if (node) {
        node.classList.remove("running");
        node.classList.add(event.ok ? "ok" : "failed");
        if (!event.ok) node.append(el("div", "tool-error", event.error || "failed"));
      }
    }
    saveRunning(running);
  }

  // Text is redrawn once per animation frame, however many deltas came in it.
  scheduleDraw() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  draw() {
    this.text.innerHTML = renderMarkdown(this.running.text);
    this.node.scrollIntoView({ block: "end" });
  }

  finish(text, { stopped = false } = {}) {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.running.text = text;
    this.draw();
    this.node.classList.remove("pending", "streaming");
    this.node.querySelector(".meta").textContent = `ASSISTANT · ${when(new Date().toISOString())}`;
    if (stopped) this.node.append(el("div", "stopped", "Stopped"));
  }
}

function startedConversation(conversationId, title) {
  state.conversationId = conversationId;
  history.replaceState(null, "", `#${conversationId}`);
  showActions();
  markCurrent();
  $("title").textContent = title || "(untitled)";
  renderConversationItem({ id: conversationId, title, timestamp: new Date().toISOString() }, { atTop: true });
}

// Follows a turn to its end (`follow` starts or resumes its stream); returns how it ended.
async function runTurn(running, userNode, follow) {
  const live = new LiveReply(running);
  const onEvent = (kind, event, seq) => {
    live.onEvent(kind, event, seq);
    if (kind === "completed") live.finish((event.start || event.continue || {}).reply || running.text);
    else if (kind === "cancelled") live.finish(event.partialText || "", { stopped: true });
    else if (kind === "failed") throw new TwirpError(event.code, event.msg || "", event.meta || {});
  };
  try {
    const end = await follow(onEvent);
    if (end === "cancelled" && !running.text) {
      live.node.remove(); // stopped before any text: nothing of the turn is stored
      userNode.remove();
    }
    return end;
  } catch (err) {
    live.node.remove();
    userNode.remove();
    throw err;
  } finally {
    saveRunning(null);
    state.turnId = "";
  }
}

async function send(text) {
  clearError();
  setBusy(true);
  const userNode = appendMessage({ role: "USER", content: text, timestamp: new Date().toISOString() });
  const running = { turnId: "", conversationId: state.conversationId, lastSeq: 0, text: "", message: text };
  const method = state.conversationId ? "ContinueConversation" : "StartConversation";
  const body = state.conversationId
    ? { conversation_id: state.conversationId, message: text, session_metadata: session }
    : { message: text, session_metadata: session, model: $("model").value, instructions: $("instructions").value.trim() };
  try {
    await runTurn(running, userNode, (onEvent) => api.streamTurn(method, body, {
      onEvent,
      onTurn: (turnId) => {
        running.turnId = turnId;
        state.turnId = turnId;
        saveRunning(running);
      },
    }));
    if (method === "StartConversation") showSettings($("model").value, $("instructions").value.trim());
    $("message").value = "";
  } catch (err) {
    showError(err);
  } finally {
    setBusy(false);
    $("message").focus();
  }
}

async function stop() {
  if (!state.turnId) return;
  $("stop").disabled = true;
  try {
    await api.cancelTurn(state.turnId);
  } catch (err) {
    showError(err);
    $("stop").disabled = false;
  }
}

// After a reload: shows the conversation, then the running turn from where it was.
async function reattach(running) {
  location.hash = running.conversationId;
  await openConversation(running.conversationId);
  setBusy(true);
  state.turnId = running.turnId;
  const userNode = appendMessage({ role: "USER", content: running.message, timestamp: "" });
  try {
    await runTurn(running, userNode, (onEvent) => api.resumeTurn(running.turnId, running.lastSeq, { onEvent }));
  } catch (err) {
    if (err.code !== "not_found") showError(err); // not_found: the turn is long gone
  } finally {
    setBusy(false);
  }
  // What is stored is the truth (the turn may have ended while the page reloaded).
  if (state.conversationId === running.conversationId) await openConversation(running.conversationId);
}

function route() {
  const id = location.hash.slice(1);
  if (id && id !== state.conversationId) openConversation(id);
  else if (!id) newChat();
}

function setUpKeyForm() {
  const toggle = $("key-toggle");
  const form = $("key-form");
  const refreshLabel = () => { toggle.textContent = apiKey() ? "API key ✓" : "API key"; };
  refreshLabel();
  toggle.addEventListener("click", () => {
    form.hidden = !form.hidden;
    toggle.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) $("api-key").focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey($("api-key").value.trim());
    $("api-key").value = "";
    form.hidden = true;
    refreshLabel();
    clearError();
    loadConversations({ reset: true });
  });
  $("key-clear").addEventListener("click", () => {
    setApiKey("");
    $("api-key").value = "";
    refreshLabel();
  });
}

function setUp() {
  setUpKeyForm();
  $("error-close").addEventListener("click", clearError);
  $("new-chat").addEventListener("click", () => {
    if (location.hash) history.pushState(null, "", location.pathname);
    newChat();
  });
  $("more").addEventListener("click", () => loadConversations());
  $("rename").addEventListener("click", renameConversation);
  $("delete").addEventListener("click", deleteConversation);
  $("stop").addEventListener("click", stop);
  $("regenerate").addEventListener("click", () => revise(false));
  $("edit-last").addEventListener("click", () => revise(true));
  $("show-alternatives").addEventListener("change", (event) => {
    $("messages").classList.toggle("hide-alternatives", !event.target.checked);
  });
  $("model").addEventListener("change", settingsChanged);
  $("instructions").addEventListener("input", settingsChanged);
  $("save-settings").addEventListener("click", saveSettings);
  loadModels();
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("message").value.trim();
    if (text && !state.busy) send(text);
  });
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  window.addEventListener("hashchange", route);
  loadConversations({ reset: true });
  const running = loadRunning();
  if (running && running.turnId && running.conversationId) {
    state.conversationId = running.conversationId; // route() must not open it a second time
    reattach(running);
  } else {
    saveRunning(null);
    route();
  }
}

setUp();
