// The Twirp JSON client of the chat page: one POST per call, Twirp errors thrown as TwirpError;
// streamed turns read as Server-Sent Events from /stream/... (fetch, not EventSource: it must
// POST and send the key), reattached after a drop from the last event seen.

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

function headers(extra = {}) {
  const sent = { ...extra };
  const key = apiKey();
  if (key) sent.Authorization = `Bearer ${key}`;
  return sent;
}

async function twirpFailure(response) {
  const text = await response.text();
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (parsed && typeof parsed.code === "string") return new TwirpError(parsed.code, parsed.msg || "", parsed.meta || {});
  return new TwirpError("unknown", `HTTP ${response.status} ${response.statusText}`.trim());
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const REATTACH_ATTEMPTS = 5;

// Yields {id, event, data} for each event of an SSE body, as EventSource reads them.
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  let afterCR = false;
  let data = [];
  let event = "";
  let id = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    let text = decoder.decode(value, { stream: true });
    // A CR that ended the last chunk may be the first half of a CRLF: its LF ends nothing.
    if (afterCR && text.startsWith("\n")) text = text.slice(1);
    if (text) afterCR = text.endsWith("\r");
    const lines = (pending + text).split(/\r\n|\r|\n/);
    pending = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (data.length) yield { id, event: event || "message", data: data.join("\n") };
        data = [];
        event = "";
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        let field = colon < 0 ? "" : line.slice(colon + 1);
        if (field.startsWith(" ")) field = field.slice(1);
        if (name === "data") data.push(field);
        else if (name === "event") event = field;
        else if (name === "id" && !field.includes("\0")) id = field;
      }
    }
  }
}

export class ChatApi {
  constructor(prefix) {
    this.base = `${prefix}/${SERVICE}/`;
    this.streamBase = `/stream/${SERVICE}/`;
  }

  // Runs a streamed Start or Continue turn: `onEvent(kind, event, seq)` gets each event once,
  // in order (event: the TurnEvent's member, e.g. {text} of a delta); `onTurn(turnId)` is
  // called as soon as the turn has an id. Resolves after the terminal event. A refusal
  // before the turn starts throws its TwirpError.
  async streamTurn(method, body, { onEvent, onTurn }) {
    const response = await this.openStream(this.streamBase + method, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify(body),
    });
    const turnId = response.headers.get("X-Turn-Id") || "";
    if (onTurn) onTurn(turnId);
    return this.follow(turnId, 0, response, onEvent);
  }

  // Attaches to a turn (after a reload): its events after `after`, then the live ones.
  async resumeTurn(turnId, after, { onEvent }) {
    const response = await this.openStream(this.resumeUrl(turnId, after), { headers: headers({ Accept: "text/event-stream" }) });
    return this.follow(turnId, after, response, onEvent);
  }

  cancelTurn(turnId) {
    return this.call("CancelTurn", { turn_id: turnId });
  }

  resumeUrl(turnId, after) {
    return `/stream/turns/${encodeURIComponent(turnId)}?after=${after}`;
  }

  async openStream(url, init) {
    let response;
    try {
      response = await fetch(url, { ...init, cache: "no-store" });
    } catch (err) {
      throw new TwirpError("unavailable", `cannot reach the service (${err.message})`);
    }
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok || !type.startsWith("text/event-stream")) throw await twirpFailure(response);
    return response;
  }

  // Reads `response`, then resumes after the last event seen until the terminal event, with
  // backoff, at most REATTACH_ATTEMPTS times in a row without progress.
  async follow(turnId, after, response, onEvent) {
    let lastSeq = after;
    let failures = 0;
    for (;;) {
      try {
        for await (const message of sseEvents(response)) {
          const parsed = JSON.parse(message.data);
          const seq = Number(parsed.seq || message.id || 0);
          if (seq <= lastSeq) continue;
          lastSeq = seq;
          failures = 0;
          const kind = message.event;
          const camel = kind.replace(/_(\w)/g, (_, c) => c.toUpperCase());
          onEvent(kind, parsed[camel] || {}, seq);
          if (TERMINAL.has(kind)) return kind;
        }
      } catch (err) {
        if (err instanceof TwirpError) throw err;
      }
      for (;;) {
        failures += 1;
        if (failures > REATTACH_ATTEMPTS) throw new TwirpError("unavailable", "the reply's stream broke and could not be resumed");
        await new Promise((resolve) => { setTimeout(resolve, Math.min(4000, 200 * 2 ** failures) * Math.random()); });
        try {
          response = await this.openStream(this.resumeUrl(turnId, lastSeq), { headers: headers({ Accept: "text/event-stream" }) });
          break;
        } catch (err) {
          if (err.code !== "unavailable") throw err;
        }
      }
    }
  }

  async call(method, body) {
    let response;
    try {
      response = await fetch(this.base + method, {
        method: "POST",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify(body),
      });
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

  start(message, session, model = "", instructions = "") {
    return this.call("StartConversation", { message, session_metadata: session, model, instructions });
  }

  models() {
    return this.call("ListModels", {});
  }

  regenerate(conversationId) {
    return this.call("RegenerateReply", { conversation_id: conversationId });
  }

  editLast(conversationId, message) {
    return this.call("EditLastMessage", { conversation_id: conversationId, message });
  }

  // Sets the conversation's model and instructions ("" for the default model, no instructions).
  configure(conversationId, model, instructions) {
    return this.call("UpdateConversation", { conversation_id: conversationId, model, instructions });
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
