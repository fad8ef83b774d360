// @huggingface/hub as a real client of Hugging Face cache folders, for
// tests/integration/test_hf_cache.py. Prints one JSON line.
//   node hf_cache.mjs scan DIR
//       scanCacheDir(DIR): {size, warnings: [messages], repos: [{id, type, size,
//       filesCount, revisions: [{commitOid, size, refs, files: [{path, size, blob}]}]}]}
//   node hf_cache.mjs download HUB_URL REPO DIR [REVISION]
//       snapshotDownload({repo, revision, hubUrl, cacheDir: DIR}): {path}; with HF_CACHE_ACCESS_TOKEN
//       set, it is sent as the access token (the library wants it to start with hf_)
import { scanCacheDir, snapshotDownload } from "@huggingface/hub";

console.debug = () => {}; // the library logs every file it downloads at debug level
const [mode, ...args] = process.argv.slice(2);
if (mode === "scan") {
  const info = await scanCacheDir(args[0]);
  const out = {
    size: info.size,
    warnings: info.warnings.map((w) => String(w && w.message ? w.message : w)),
    repos: info.repos.map((r) => ({
      id: r.id.name,
      type: r.id.type,
      path: r.path,
      size: r.size,
      filesCount: r.filesCount,
      revisions: r.revisions.map((v) => ({
        commitOid: v.commitOid,
        path: v.path,
        size: v.size,
        refs: v.refs,
        files: v.files.map((f) => ({ path: f.path, size: f.blob.size, blob: f.blob.path })),
      })),
    })),
  };
  console.log(JSON.stringify(out));
} else if (mode === "download") {
  const [hubUrl, repo, cacheDir, revision] = args;
  const accessToken = process.env.HF_CACHE_ACCESS_TOKEN || undefined;
  const path = await snapshotDownload({ repo, revision, hubUrl, cacheDir, accessToken });
  console.log(JSON.stringify({ path }));
} else {
  console.error("usage: hf_cache.mjs scan DIR | download HUB_URL REPO DIR [REVISION]");
  process.exit(2);
}
