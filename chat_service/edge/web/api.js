// The Twirp JSON client of the chat page: one POST per call, Twirp errors thrown as TwirpError.

const SERVICE = "acai.chat.ChatService";
const KEY_STORAGE = "chat.apiKey";

export class TwirpError extends Error {
  constructor(code, msg, meta = {}) {
    super(`${code}: ${msg}`);
    this.code = code;
    this.msg = msg;
    this.meta = meta;
  }
}

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

export class ChatApi {
  constructor(prefix) {
    this.base = `${prefix}/${SERVICE}/`;
  }

  async call(method, body) {
    const headers = { "Content-Type": "application/json" };
    const key = apiKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let response;
    try {
      response = await fetch(this.base + method, { method: "POST", headers, body: JSON.stringify(body) });
    } catch (err) {
      throw new TwirpError("unavailable", `cannot reach the service (${err.message})`);
    }
    const text = await response.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (response.ok && parsed) return parsed;
    if (parsed && typeof parsed.code === "string") throw new TwirpError(parsed.code, parsed.msg || "", parsed.meta || {});
    throw new TwirpError("unknown", `HTTP ${response.status} ${response.statusText}`.trim());
  }

  start(message, session) {
    return this.call("StartConversation", { message, session_metadata: session });
  }

  continue(conversationId, message, session) {
    return this.call("ContinueConversation", { conversation_id: conversationId, message, session_metadata: session });
  }

  list(pageToken = "", pageSize = 30) {
    return this.call("ListConversations", { page_size: pageSize, page_token: pageToken });
  }

  rename(conversationId, title) {
    return this.call("UpdateConversation", { conversation_id: conversationId, title });
  }

  remove(conversationId) {
    return this.call("DeleteConversation", { conversation_id: conversationId });
  }

  // The conversation with all its messages (every page).
  async conversation(conversationId) {
    let token = "";
    let conversation = null;
    const messages = [];
    do {
      const page = await this.call("DescribeConversation", { conversation_id: conversationId, page_size: 1000, page_token: token });
      conversation = conversation || page.conversation;
      messages.push(...(page.conversation.messages || []));
      token = page.next_page_token;
    } while (token);
    return { ...conversation, messages };
  }
}
