// The query engine over a real index written by the Python builder (tests/js/build_fixture_index.py).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { SearchIndex, snippet } from "../../templates/static/search.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A SearchIndex reading an index folder from disk, counting the files it opens. */
export function diskIndex(dataDir) {
  const opened = [];
  const read = (path) => { opened.push(path); return readFileSync(join(dataDir, path)); };
  const index = new SearchIndex(
    async (path) => new Uint8Array(gunzipSync(read(path))),
    async (path) => JSON.parse(read(path).toString("utf8")),
  );
  index.opened = opened;
  return index;
}

function python() {
  if (process.env.PYTHON) return process.env.PYTHON;
  const venv = join(ROOT, ".venv/bin/python");
  return existsSync(venv) ? venv : "python3";
}

let dataDir;
let slugs;
before(() => {
  const out = mkdtempSync(join(tmpdir(), "search-index-"));
  execFileSync(python(), [join(ROOT, "tests/js/build_fixture_index.py"), out]);
  dataDir = join(out, "search/data");
});

async function search(q, options = {}) {
  const index = diskIndex(dataDir);
  const result = await index.search(q, options);
  const metas = await Promise.all(result.ids.map((d) => index.meta(d)));
  result.slugs = metas.map((m) => m.u.split("/")[1]);
  result.index = index;
  return result;
}

test("two words rank the paper about both first", async () => {
  const r = await search("label noise");
  assert.equal(r.slugs[0], "noisy-labels");
  assert.ok(!r.slugs.includes("label-smoothing") || r.slugs.indexOf("label-smoothing") > 0);
});

test("every word must match", async () => {
  const r = await search("label smoothing noise ");
  assert.deepEqual(r.slugs, ["label-smoothing"]);
});

test("a one-letter typo in a long word is forgiven", async () => {
  const r = await search("adversrial ");
  assert.equal(r.slugs[0], "free-adversarial-training");
});

test("words shorter than five letters get no typo tolerance", async () => {
  assert.deepEqual((await search("rnak ")).slugs, []);
  assert.ok((await search("lable ")).slugs.includes("noisy-labels"));
});

test("the word being typed matches as a prefix", async () => {
  const r = await search("certif");
  assert.deepEqual(r.slugs, ["randomized-smoothing"]);
  const done = await search("certif ");
  assert.deepEqual(done.slugs, []);
});

test("hyphenated, closed and split forms find each other", async () => {
  for (const q of ["pre-trained ", "pretrained ", "pre trained "]) {
    const r = await search(q);
    assert.deepEqual(new Set(r.slugs), new Set(["pretrained-robust", "pretraining-noise"]), q);
  }
});

test("a quoted phrase needs its words in order", async () => {
  const loose = await search("learning rank ");
  assert.deepEqual(new Set(loose.slugs), new Set(["learning-to-rank", "rank-of-learning"]));
  const phrase = await search('"learning to rank"');
  assert.deepEqual(phrase.slugs, ["learning-to-rank"]);
});

test("an arXiv id finds its paper, with or without version and prefix", async () => {
  for (const q of ["2407.13168", "arXiv:2407.13168v2", "https://arxiv.org/abs/2407.13168"]) {
    assert.deepEqual((await search(q)).slugs, ["learning-to-rank"], q);
  }
});

test("author names are found with accents folded", async () => {
  assert.deepEqual((await search("zoe muller ")).slugs, ["pretraining-noise"]);
});

test("a topic filter includes its sub-topics and counts stay live", async () => {
  const all = await search("robust");
  const filtered = await search("robust", { topic: "robustness" });
  assert.ok(filtered.slugs.length < all.slugs.length);
  assert.ok(filtered.slugs.includes("randomized-smoothing"), "sub-topic paper kept");
  const robustness = all.index.topicTree.byId.get("robustness");
  assert.equal(all.facets.topics.get(robustness), filtered.slugs.length);
});

test("year and code filters narrow results and their counts agree", async () => {
  const all = await search("training");
  const y2019 = await search("training", { year: "2019" });
  assert.equal(y2019.ids.length, all.facets.years.get(2019));
  assert.ok(y2019.slugs.every((s) => ["randomized-smoothing", "free-adversarial-training"].includes(s)));
  const code = await search("training", { code: true });
  assert.equal(code.ids.length, all.facets.code);
  assert.ok(code.slugs.includes("free-adversarial-training"));
});

test("sorting by newest and by discussion reorders the same results", async () => {
  const relevance = await search("robust");
  const newest = await search("robust", { sort: "newest" });
  const discussed = await search("robust", { sort: "discussed" });
  assert.deepEqual(new Set(newest.slugs), new Set(relevance.slugs));
  const dates = await Promise.all(newest.ids.map(async (d) => (await newest.index.meta(d)).d || "0"));
  assert.deepEqual(dates, [...dates].sort().reverse());
  const comments = await Promise.all(discussed.ids.map(async (d) => (await discussed.index.meta(d)).c));
  assert.deepEqual(comments, [...comments].sort((a, b) => b - a));
});

test("the exact title wins over papers that merely mention its words", async () => {
  const r = await search("adversarial training for free");
  assert.equal(r.slugs[0], "free-adversarial-training");
});

test("a one-word query opens the manifest, one vocabulary shard and one postings file", async () => {
  const index = diskIndex(dataDir);
  await index.search("smoothing ");
  const kinds = index.opened.map((p) => p.split("-")[0]);
  assert.deepEqual(kinds.sort(), ["manifest.json", "p", "v"]);
});

test("snippets highlight matched words and keep the original spelling", () => {
  const parts = snippet("Pre-trained models memorize Noisy labels.", new Set(["pretrained", "noisy"]));
  assert.deepEqual(parts.filter(([, hit]) => hit).map(([t]) => t), ["Pre-trained", "Noisy"]);
  assert.equal(parts.map(([t]) => t).join(""), "Pre-trained models memorize Noisy labels.");
});
