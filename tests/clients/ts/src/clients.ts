// The four TypeScript Twirp clients under test, behind one shape so one scenario runs on each.
//
// protobuf-ts: the generated ChatServiceClient over @protobuf-ts/twirp-transport (fetch), sending
// lowerCamelCase JSON or binary protobuf. twirp-ts: its generated ChatServiceClientJSON (proto
// field names) and ChatServiceClientProtobuf over twirp-ts's NodeHttpRPC (node:http).

import { RpcError } from "@protobuf-ts/runtime-rpc";
import { TwirpFetchTransport } from "@protobuf-ts/twirp-transport";
import { NodeHttpRPC, TwirpError } from "twirp-ts";

import {
  ContinueConversationRequest,
  type ContinueConversationResponse,
  DescribeConversationRequest,
  type DescribeConversationResponse,
  ListConversationsRequest,
  type ListConversationsResponse,
  StartConversationRequest,
  type StartConversationResponse,
} from "../gen/acai/chat/chat";
import { ChatServiceClient } from "../gen/acai/chat/chat.client";
import {
  ChatServiceClientJSON,
  ChatServiceClientProtobuf,
} from "../gen/acai/chat/chat.twirp-client";

/** The four RPCs as plain promise-returning calls, taking requests as generated clients do. */
interface GeneratedCalls {
  StartConversation(request: StartConversationRequest): Promise<StartConversationResponse>;
  ContinueConversation(request: ContinueConversationRequest): Promise<ContinueConversationResponse>;
  ListConversations(request: ListConversationsRequest): Promise<ListConversationsResponse>;
  DescribeConversation(request: DescribeConversationRequest): Promise<DescribeConversationResponse>;
}

/** The four RPCs with partial requests: unset fields take their defaults, as a caller
 * written before newer optional fields existed would send them. */
export interface ChatCalls {
  StartConversation(
    request: Partial<StartConversationRequest>,
  ): Promise<StartConversationResponse>;
  ContinueConversation(
    request: Partial<ContinueConversationRequest>,
  ): Promise<ContinueConversationResponse>;
  ListConversations(request: Partial<ListConversationsRequest>): Promise<ListConversationsResponse>;
  DescribeConversation(
    request: Partial<DescribeConversationRequest>,
  ): Promise<DescribeConversationResponse>;
}

function withDefaults(calls: GeneratedCalls): ChatCalls {
  return {
    StartConversation: (r) => calls.StartConversation(StartConversationRequest.create(r)),
    ContinueConversation: (r) => calls.ContinueConversation(ContinueConversationRequest.create(r)),
    ListConversations: (r) => calls.ListConversations(ListConversationsRequest.create(r)),
    DescribeConversation: (r) => calls.DescribeConversation(DescribeConversationRequest.create(r)),
  };
}

/** A Twirp error as the client library surfaced it. */
export interface SurfacedError {
  /** The library's error class, e.g. "RpcError". */
  type: string;
  code: string;
  meta: Record<string, string>;
}

export interface ClientUnderTest {
  library: "protobuf-ts" | "twirp-ts";
  encoding: "json" | "protobuf";
  calls: ChatCalls;
  /** Returns the Twirp error in `thrown` if it is the library's own error type, else null. */
  twirpError(thrown: unknown): SurfacedError | null;
}

/** Returns every client/encoding pair, all pointed at `baseUrl` (e.g. http://host:port/twirp). */
export function clientsFor(baseUrl: string): ClientUnderTest[] {
  return [
    protobufTs(baseUrl, "json"),
    protobufTs(baseUrl, "protobuf"),
    twirpTs(baseUrl, "json"),
    twirpTs(baseUrl, "protobuf"),
  ];
}

function protobufTs(baseUrl: string, encoding: "json" | "protobuf"): ClientUnderTest {
  const transport = new TwirpFetchTransport({ baseUrl, sendJson: encoding === "json" });
  const client = new ChatServiceClient(transport);
  return {
    library: "protobuf-ts",
    encoding,
    calls: withDefaults({
      StartConversation: async (request) => (await client.startConversation(request)).response,
      ContinueConversation: async (request) =>
        (await client.continueConversation(request)).response,
      ListConversations: async (request) => (await client.listConversations(request)).response,
      DescribeConversation: async (request) =>
        (await client.describeConversation(request)).response,
    }),
    twirpError(thrown) {
      if (!(thrown instanceof RpcError)) return null;
      const meta: Record<string, string> = {};
      for (const [key, value] of Object.entries(thrown.meta)) {
        meta[key] = typeof value === "string" ? value : value.join(",");
      }
      return { type: "RpcError", code: thrown.code, meta };
    },
  };
}

function twirpTs(baseUrl: string, encoding: "json" | "protobuf"): ClientUnderTest {
  const rpc = NodeHttpRPC({ baseUrl });
  const calls =
    encoding === "json" ? new ChatServiceClientJSON(rpc) : new ChatServiceClientProtobuf(rpc);
  return {
    library: "twirp-ts",
    encoding,
    calls: withDefaults(calls),
    twirpError(thrown) {
      if (!(thrown instanceof TwirpError)) return null;
      return { type: "TwirpError", code: thrown.code, meta: { ...thrown.meta } };
    },
  };
}
