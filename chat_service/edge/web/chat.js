// The chat page: conversation list, new chat, continue, rename, delete, tool calls, plain errors.
import { ChatApi, TwirpError, apiKey, setApiKey } from "./api.js";

const $ = (id) => document.getElementById(id);
const prefix = document.querySelector('meta[name="twirp-prefix"]').content;
const api = new ChatApi(prefix);
const state = { conversationId: "", nextPageToken: "", busy: false };

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

function messageNode(message) {
  const role = (message.role || "UNKNOWN").toLowerCase();
  const item = el("li", `message ${role}`);
  item.dataset.role = message.role || "UNKNOWN";
  item.append(el("div", "meta", `${message.role || "UNKNOWN"} · ${when(message.timestamp)}`));
  for (const call of message.tool_calls || []) item.append(toolCallNode(call));
  if (message.content) {
    if (role === "tool") {
      const details = el("details", "tool-result");
      details.append(el("summary", "", "Tool result"), el("div", "text", message.content));
      item.append(details);
    } else {
      item.append(el("div", "text", message.content));
    }
  }
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

function newChat() {
  state.conversationId = "";
  $("title").textContent = "New chat";
  $("messages").replaceChildren();
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
    for (const message of conversation.messages) appendMessage(message);
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
}

async function send(text) {
  clearError();
  setBusy(true);
  const userNode = appendMessage({ role: "USER", content: text, timestamp: new Date().toISOString() });
  const pending = appendMessage({ role: "ASSISTANT", content: "Thinking", timestamp: "" });
  pending.classList.add("pending");
  try {
    if (!state.conversationId) {
      const started = await api.start(text, session);
      state.conversationId = started.conversation_id;
      history.replaceState(null, "", `#${started.conversation_id}`);
      showActions();
      $("title").textContent = started.title || "(untitled)";
      pending.replaceWith(messageNode({ role: "ASSISTANT", content: started.reply, timestamp: new Date().toISOString() }));
      renderConversationItem({ id: started.conversation_id, title: started.title, timestamp: new Date().toISOString() }, { atTop: true });
    } else {
      const answer = await api.continue(state.conversationId, text, session);
      pending.replaceWith(messageNode({ role: "ASSISTANT", content: answer.reply, timestamp: new Date().toISOString() }));
    }
    $("message").value = "";
  } catch (err) {
    pending.remove();
    userNode.remove();
    showError(err);
  } finally {
    setBusy(false);
    $("message").focus();
  }
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
  route();
}

setUp();
