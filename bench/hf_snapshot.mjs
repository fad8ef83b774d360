// Runs @huggingface/hub's snapshotDownload() against a Hub-protocol endpoint and
// prints one JSON line: {"path": snapshot dir, "calls_ms": [ms of each call]}.
//
// Usage: node bench/hf_snapshot.mjs --hub URL --repo ORG/NAME --cache DIR
//                                   [--revision REV] [--calls N]
// --calls N calls snapshotDownload N times in this process, one after the other
// (the first call of a fresh cacheDir is a cold download, later ones are warm).
import { snapshotDownload } from "@huggingface/hub";

const args = { revision: undefined, calls: 1 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  args[key] = process.argv[i + 1];
}
if (!args.hub || !args.repo || !args.cache) {
  console.error("usage: hf_snapshot.mjs --hub URL --repo ORG/NAME --cache DIR [--revision REV] [--calls N]");
  process.exit(2);
}
console.debug = () => {}; // the library logs every file it downloads at debug level

const callsMs = [];
let path = null;
for (let i = 0; i < Number(args.calls); i++) {
  const t0 = process.hrtime.bigint();
  path = await snapshotDownload({
    repo: args.repo,
    revision: args.revision,
    hubUrl: args.hub,
    cacheDir: args.cache,
  });
  callsMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
console.log(JSON.stringify({ path, calls_ms: callsMs }));
