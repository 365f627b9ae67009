// Run queries against a built index folder with the browser's engine; print JSON results.
// Usage: node tests/js/run_queries.mjs DATA_DIR QUERIES_JSON   (QUERIES_JSON: [{"q": ..., "options": {...}}])
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { SearchIndex } from "../../templates/static/search.js";

const [dataDir, queriesPath] = process.argv.slice(2);
const read = (path) => readFileSync(join(dataDir, path));
const index = new SearchIndex(
  async (path) => new Uint8Array(gunzipSync(read(path))),
  async (path) => JSON.parse(read(path).toString("utf8")),
);
const out = [];
for (const { q, options } of JSON.parse(readFileSync(queriesPath, "utf8"))) {
  const result = await index.search(q, options || {});
  const top = [];
  for (const d of result.ids.slice(0, 10)) {
    const meta = await index.meta(d);
    top.push({ url: meta.u, title: meta.t, score: result.scores[d] });
  }
  out.push({ q, total: result.total, top });
}
process.stdout.write(JSON.stringify(out));
