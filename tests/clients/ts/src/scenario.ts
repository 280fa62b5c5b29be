// The scenario every client runs: the four RPCs with paging, and two Twirp errors.

import assert from "node:assert/strict";

import { Conversation_Role as Role } from "../gen/acai/chat/chat";
import type { Timestamp } from "../gen/google/protobuf/timestamp";
import type { ClientUnderTest } from "./clients";

export interface CheckResult {
  name: string;
  passed: boolean;
  error?: string;
}

export interface ClientResult {
  client: string;
  encoding: string;
  passed: boolean;
  checks: CheckResult[];
}

const UNKNOWN_ID = "ffffffffffffffffffffffff";
const MAX_LIST_PAGES = 50;

/** Runs every check on `client`; a failed check is recorded and the next one still runs. */
export async function runScenario(client: ClientUnderTest): Promise<ClientResult> {
  const { calls } = client;
  const label = `${client.library}/${client.encoding}`;
  const checks: CheckResult[] = [];
  const check = async (name: string, body: () => Promise<void>): Promise<void> => {
    try {
      await body();
      checks.push({ name, passed: true });
    } catch (error) {
      checks.push({ name, passed: false, error: describe(error) });
    }
  };
  const state = { id: "", title: "", replies: [] as string[] };
  const first = `first message from ${label}`;
  const second = `second message from ${label}`;

  await check("StartConversation", async () => {
    const started = await calls.StartConversation({
      message: first,
      sessionMetadata: { platform: "api", userId: `user ${label}`, chatId: "chat-1" },
    });
    assert.match(started.conversationId, /^[0-9a-f]{24}$/);
    assert.ok(started.title.length > 0, "title is empty");
    assert.ok(started.reply.length > 0, "reply is empty");
    Object.assign(state, { id: started.conversationId, title: started.title });
    state.replies.push(started.reply);
  });

  await check("ContinueConversation", async () => {
    const continued = await calls.ContinueConversation({
      conversationId: state.id,
      message: second,
    });
    assert.ok(continued.reply.length > 0, "reply is empty");
    state.replies.push(continued.reply);
  });

  await check("DescribeConversation", async () => {
    const described = await calls.DescribeConversation({
      conversationId: state.id,
      pageSize: 0,
      pageToken: "",
    });
    const conversation = described.conversation;
    assert.ok(conversation, "no conversation in the response");
    assert.equal(conversation.id, state.id);
    assert.equal(conversation.title, state.title);
    assertRecent(conversation.timestamp);
    assert.deepEqual(
      conversation.messages.map((m) => [Role[m.role], m.content]),
      [
        ["USER", first],
        ["ASSISTANT", state.replies[0]],
        ["USER", second],
        ["ASSISTANT", state.replies[1]],
      ]
    );
    for (const message of conversation.messages) {
      assert.ok(message.id.length > 0, "message id is empty");
      assertRecent(message.timestamp);
    }
    assert.equal(described.nextPageToken, "");
  });

  await check("DescribeConversation paging", async () => {
    const page1 = await calls.DescribeConversation({
      conversationId: state.id,
      pageSize: 3,
      pageToken: "",
    });
    assert.equal(page1.conversation?.messages.length, 3);
    assert.notEqual(page1.nextPageToken, "");
    const page2 = await calls.DescribeConversation({
      conversationId: state.id,
      pageSize: 3,
      pageToken: page1.nextPageToken,
    });
    assert.deepEqual(
      page2.conversation?.messages.map((m) => [Role[m.role], m.content]),
      [["ASSISTANT", state.replies[1]]]
    );
    assert.equal(page2.nextPageToken, "");
  });

  await check("ListConversations paging", async () => {
    const middle = await calls.StartConversation({ message: `conversation 2 from ${label}` });
    const newest = await calls.StartConversation({ message: `conversation 3 from ${label}` });
    const expected = [newest.conversationId, middle.conversationId, state.id];
    const seen: string[] = [];
    let pageToken = "";
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const listed = await calls.ListConversations({ pageSize: 2, pageToken });
      assert.ok(listed.conversations.length <= 2, `page of ${listed.conversations.length}`);
      for (const conversation of listed.conversations) {
        assert.equal(conversation.messages.length, 0, "listed conversation carries messages");
        assertRecent(conversation.timestamp);
        seen.push(conversation.id);
      }
      pageToken = listed.nextPageToken;
      if (page === 0) assert.notEqual(pageToken, "", "a full first page has no next_page_token");
      if (pageToken === "" || expected.every((id) => seen.includes(id))) break;
    }
    assert.equal(new Set(seen).size, seen.length, "a conversation appears on two pages");
    assert.deepEqual(
      seen.filter((id) => expected.includes(id)),
      expected
    );
  });

  await check("not_found error", async () => {
    const error = await twirpErrorOf(client, () =>
      calls.DescribeConversation({ conversationId: UNKNOWN_ID, pageSize: 0, pageToken: "" })
    );
    assert.deepEqual([error.code, error.meta], ["not_found", {}]);
  });

  await check("invalid_argument error", async () => {
    const blank = await twirpErrorOf(client, () => calls.StartConversation({ message: "   " }));
    assert.deepEqual([blank.code, blank.meta], ["invalid_argument", { argument: "message" }]);
    const badId = await twirpErrorOf(client, () =>
      calls.ContinueConversation({ conversationId: "not-an-id", message: "hi" })
    );
    assert.deepEqual(
      [badId.code, badId.meta],
      ["invalid_argument", { argument: "conversation_id" }]
    );
  });

  return {
    client: client.library,
    encoding: client.encoding,
    passed: checks.every((c) => c.passed),
    checks,
  };
}

async function twirpErrorOf(client: ClientUnderTest, call: () => Promise<unknown>) {
  try {
    await call();
  } catch (thrown) {
    const error = client.twirpError(thrown);
    assert.ok(error, `not the library's Twirp error type: ${describe(thrown)}`);
    return error;
  }
  assert.fail("the call succeeded");
}

// The clients parse RFC 3339 (JSON) or seconds/nanos (protobuf); a zone or unit slip shows as
// hours or years of difference, so within an hour of this machine's clock is the bar.
function assertRecent(timestamp: Timestamp | undefined): void {
  assert.ok(timestamp, "timestamp missing");
  const millis = Number(timestamp.seconds) * 1000 + timestamp.nanos / 1e6;
  assert.ok(
    Math.abs(Date.now() - millis) < 3_600_000,
    `timestamp ${new Date(millis).toISOString()}`
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return String(error);
}
