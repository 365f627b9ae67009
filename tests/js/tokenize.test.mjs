// The browser tokenizer must produce exactly the terms the Python index builder produced.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { indexTerms, queryTerms, parseQuery, phraseTerms, withinOneEdit, compareTerms, fold }
  from "../../templates/static/search.js";

const vectors = JSON.parse(readFileSync(new URL("../fixtures/search/token_vectors.json", import.meta.url)));

for (const v of vectors.vectors) {
  test(`index terms match Python for ${JSON.stringify(v.text.slice(0, 40))}`, () => {
    const [terms, end] = indexTerms(v.text);
    assert.deepEqual(terms, v.index);
    assert.equal(end, v.end);
  });
  test(`query terms match Python for ${JSON.stringify(v.text.slice(0, 40))}`, () => {
    assert.deepEqual(queryTerms(v.text), v.query);
  });
}

test("accents and case fold away", () => {
  assert.equal(fold("Café Übermäßig"), "cafe ubermassig");
});

test("a hyphenated query word becomes one group clause with its compound", () => {
  const [clause] = parseQuery("pre-trained ");
  assert.deepEqual(clause, { kind: "group", parts: ["pre", "trained"], compound: "pretrained", prefix: false });
});

test("the word being typed is a prefix, a finished word is not", () => {
  assert.deepEqual(parseQuery("label noi").map((c) => c.prefix), [false, true]);
  assert.deepEqual(parseQuery("label noise ").map((c) => c.prefix), [false, false]);
});

test("quoted words form a phrase with offsets that skip stop words", () => {
  const clauses = parseQuery('"learning to rank" graphs');
  assert.deepEqual(clauses[0], { kind: "phrase", terms: [["learning", 0], ["rank", 2]] });
  assert.equal(clauses[1].term, "graphs");
});

test("an unfinished quote is still a phrase", () => {
  assert.equal(parseQuery('"label noise').length, 1);
  assert.equal(parseQuery('"label noise')[0].kind, "phrase");
});

test("a hyphen group inside a phrase counts as its compound at its last part", () => {
  assert.deepEqual(phraseTerms("pre-trained models")[0], [["pretrained", 1], ["models", 2]]);
});

test("arXiv ids survive URL and prefix noise", () => {
  for (const q of ["2407.13168", "arXiv:2407.13168", "https://arxiv.org/abs/2407.13168v3"]) {
    const terms = parseQuery(q + " ").map((c) => c.term);
    assert.deepEqual(terms, ["2407.13168"], q);
  }
});

test("stop words alone make no clause", () => {
  assert.deepEqual(parseQuery("the of and "), []);
  assert.deepEqual(parseQuery("label noise a"), parseQuery("label noise "));
});

test("a stop word being typed counts as the start of a longer word", () => {
  assert.deepEqual(parseQuery("robust in").at(-1), { kind: "word", term: "in", prefix: true });
});

test("one edit covers substitution, insertion, deletion and transposition", () => {
  assert.ok(withinOneEdit("adversarial", "adversrial"));
  assert.ok(withinOneEdit("adversarial", "adversarail"));
  assert.ok(withinOneEdit("robust", "robusts"));
  assert.ok(withinOneEdit("robust", "rob1st"));
  assert.ok(!withinOneEdit("robust", "rbost"));
  assert.ok(!withinOneEdit("label", "lable1"));
});

test("terms compare by code point like Python", () => {
  const terms = ["b", "a", "\u{1d400}", "\uff21", "ab", "aa"];
  assert.deepEqual([...terms].sort(compareTerms), ["a", "aa", "ab", "b", "\uff21", "\u{1d400}"]);
});
