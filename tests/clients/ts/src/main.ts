// Runs the scenario with each TypeScript client against a live ChatService and prints a JSON
// summary on stdout. Usage: node build/src/main.js SERVER_URL [PREFIX]  (PREFIX: /twirp if omitted)
// Exit status: 0 when every client passed, 1 when one failed, 2 on bad usage.

import { clientsFor } from "./clients";
import { runScenario, type ClientResult } from "./scenario";

async function main(argv: string[]): Promise<number> {
  const [serverUrl, prefix = "/twirp"] = argv;
  if (!serverUrl) {
    console.error("usage: node build/src/main.js SERVER_URL [PREFIX]");
    return 2;
  }
  const baseUrl = serverUrl.replace(/\/+$/, "") + prefix;
  const results: ClientResult[] = [];
  // One client at a time: each one's paging check expects its own conversations to be the newest.
  for (const client of clientsFor(baseUrl)) {
    results.push(await runScenario(client));
  }
  const passed = results.every((r) => r.passed);
  console.log(JSON.stringify({ baseUrl, passed, results }, null, 2));
  return passed ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  }
);
