// Client-side search over the sharded index written by site_src/search/index.py.
//
// One ES module, three layers:
//   1. the tokenizer, identical to site_src/search/tokenize.py (shared test vectors);
//   2. the engine: reads only the shards a query needs, ranks with BM25F impacts;
//   3. the search page: search-as-you-type, filters, URL state, keyboard navigation.
// Node imports layers 1 and 2 for its tests; layer 3 starts only in a page that
// has the #search-app element. Results are built with DOM nodes and textContent.

// ---------------------------------------------------------------- tokenizer

export const STOP_WORDS = new Set(
  ("a an and are as at be by for from has have in is it its of on or that the their " +
   "this to was were which with").split(" "));
export const MAX_TERM_LENGTH = 40;

const FOLD = { "ß": "ss", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "œ": "oe", "þ": "th", "ı": "i",
  "ð": "d", "ħ": "h" };
const FOLD_RE = new RegExp("[" + Object.keys(FOLD).join("") + "]", "g");
const WORD = "[\\p{L}\\p{N}]+(?:(?<=[0-9])\\.[0-9][\\p{L}\\p{N}]*)*";
const GROUP_RE = new RegExp(WORD + "(?:[-\\u2010\\u2011]" + WORD + ")*", "gu");
const HYPHEN_RE = /[-\u2010\u2011]/u;
const ARXIV_VERSION_RE = /^([0-9]{4}\.[0-9]{4,5}|[0-9]{7})v[0-9]+$/;
// eslint-disable-next-line no-control-regex
const ASCII_RE = /^[\x00-\x7f]*$/;

/** Lower-case text, strip accents and fold a few letters to ASCII. */
export function fold(text) {
  text = text.toLowerCase();
  if (ASCII_RE.test(text)) return text;
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(FOLD_RE, (c) => FOLD[c]);
}

function clean(part) {
  const m = ARXIV_VERSION_RE.exec(part);
  return m ? m[1] : part;
}

function tooLong(term) {
  // Code points, as Python's len() counts them.
  return term.length > MAX_TERM_LENGTH && [...term].length > MAX_TERM_LENGTH;
}

/** Split text into hyphen groups of folded words. */
export function wordGroups(text) {
  const out = [];
  for (const m of fold(text).matchAll(GROUP_RE)) out.push(m[0].split(HYPHEN_RE).map(clean));
  return out;
}

/** The (term, position) pairs a text puts in the index, and the next free position. */
export function indexTerms(text, start = 0) {
  const out = [];
  let pos = start;
  for (const parts of wordGroups(text)) {
    for (const part of parts) {
      if (!STOP_WORDS.has(part) && !tooLong(part)) out.push([part, pos]);
      pos += 1;
    }
    if (parts.length > 1) {
      const compound = parts.join("");
      if (!tooLong(compound)) out.push([compound, pos - 1]);
    }
  }
  return [out, pos];
}

/** The terms a query (or a title) stands for: one per word or hyphen group. */
export function queryTerms(text) {
  const out = [];
  for (const parts of wordGroups(text)) {
    const term = parts.join("");
    if ((parts.length > 1 || !STOP_WORDS.has(term)) && !tooLong(term)) out.push(term);
  }
  return out;
}

/** Compare two strings by code point, like Python's str ordering. */
export function compareTerms(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i), y = b.codePointAt(i);
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------- query parsing

const QUOTE_RE = /["\u201c\u201d\u201e]([^"\u201c\u201d\u201e]*)(["\u201c\u201d\u201e]?)/g;
const ARXIV_ID_RE = /(?:\d{4}\.\d{4,5}|[a-z][a-z.-]*\/\d{7})(?:v\d+)?/i;
const ARXIV_NOISE = new Set(["arxiv", "abs", "pdf", "https", "http", "www", "org", "html"]);

/**
 * Parse a query into clauses, all of which a result must match.
 * Clause kinds: {kind: "word", term, prefix}, {kind: "group", parts, compound, prefix},
 * {kind: "phrase", terms: [[term, offset], ...]}.
 */
export function parseQuery(text) {
  const clauses = [];
  const free = [];
  let last = 0;
  for (const m of text.matchAll(QUOTE_RE)) {
    free.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    const [terms] = phraseTerms(m[1]);
    if (terms.length === 1) clauses.push({ kind: "word", term: terms[0][0], prefix: false });
    else if (terms.length > 1) clauses.push({ kind: "phrase", terms });
  }
  free.push(text.slice(last));
  const loose = free.join(" ");
  const hasId = ARXIV_ID_RE.test(loose);
  const typing = last < text.length && /[\p{L}\p{N}]$/u.test(text);
  const groups = wordGroups(loose);
  groups.forEach((parts, i) => {
    const isLast = i === groups.length - 1 && typing;
    if (hasId && parts.length === 1 && ARXIV_NOISE.has(parts[0])) return;
    if (parts.length === 1) {
      const term = parts[0];
      if (tooLong(term)) return;
      // A stop word being typed may be the start of a real word ("in" -> "interpretability").
      if (STOP_WORDS.has(term) && !(isLast && term.length >= 2)) return;
      clauses.push({ kind: "word", term, prefix: isLast && term.length >= 2 });
    } else {
      const compound = parts.join("");
      if (tooLong(compound)) return;
      clauses.push({ kind: "group", parts: parts.filter((p) => !STOP_WORDS.has(p)), compound,
        prefix: isLast });
    }
  });
  return clauses;
}

/** Terms of a quoted phrase with their offsets; a hyphen group counts as its compound. */
export function phraseTerms(text) {
  const out = [];
  let pos = 0;
  for (const parts of wordGroups(text)) {
    pos += parts.length;
    const term = parts.join("");
    if ((parts.length > 1 || !STOP_WORDS.has(term)) && !tooLong(term)) out.push([term, pos - 1]);
  }
  return [out, pos];
}

/** Damerau-Levenshtein distance, stopping early once it exceeds 1. */
export function withinOneEdit(a, b) {
  if (a === b) return true;
  const la = a.length, lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

// ---------------------------------------------------------------- binary shards

class Reader {
  constructor(bytes) { this.b = bytes; this.i = 0; }
  varint() {
    let shift = 0, value = 0, byte;
    do {
      byte = this.b[this.i++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  }
  byte() { return this.b[this.i++]; }
  bytes(n) { const out = this.b.subarray(this.i, this.i + n); this.i += n; return out; }
}

const utf8 = new TextDecoder();

function asciiString(bytes) {
  // Most terms are ASCII; building them directly is much faster than TextDecoder per term.
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 0x7f) return null;
    out += String.fromCharCode(bytes[i]);
  }
  return out;
}

function decodeVocab(bytes, hashLength) {
  const r = new Reader(bytes);
  const nFiles = r.varint();
  const files = [];
  for (let k = 0; k < nFiles; k++) {
    files.push({ postings: utf8.decode(r.bytes(hashLength)), positions: utf8.decode(r.bytes(hashLength)) });
  }
  const n = r.varint();
  const terms = new Array(n), df = new Uint32Array(n), file = new Uint32Array(n);
  let previous = new Uint8Array(0);
  let previousTerm = "", previousAscii = true;
  for (let k = 0; k < n; k++) {
    const shared = r.varint();
    const suffix = r.bytes(r.varint());
    const tail = previousAscii ? asciiString(suffix) : null;
    if (tail !== null) {
      terms[k] = previousTerm.slice(0, shared) + tail;
      previous = null;
    } else {
      if (previous === null) previous = new TextEncoder().encode(previousTerm);
      const current = new Uint8Array(shared + suffix.length);
      current.set(previous.subarray(0, shared));
      current.set(suffix, shared);
      terms[k] = utf8.decode(current);
      previous = current;
    }
    previousTerm = terms[k];
    previousAscii = tail !== null;
    df[k] = r.varint();
    file[k] = r.varint();
  }
  return { files, terms, df, file };
}

/** Split a postings or positions file into {term: [count, block bytes]} without decoding blocks. */
function decodeTermFile(bytes) {
  const r = new Reader(bytes);
  const n = r.varint();
  const blocks = new Map();
  for (let k = 0; k < n; k++) {
    const term = utf8.decode(r.bytes(r.varint()));
    const count = r.varint();
    blocks.set(term, [count, r.bytes(r.varint())]);
  }
  return blocks;
}

function decodeComboKey(key) {
  if (typeof key === "string") {
    const [head, ...rest] = key.split(",");
    return decodeComboKey(Number(head)).concat(rest.map(Number));
  }
  const topics = [];
  for (; key > 0; key = Math.floor(key / 1025)) topics.unshift((key % 1025) - 1);
  return topics;
}

/**
 * Decode one term's postings in one segment into `out` ({docs, impacts, flags}) from index
 * `at` on, documents numbered from `start`; record the facts of documents not seen before.
 */
function decodePostings(count, block, facts, start, out, at) {
  const r = new Reader(block);
  const { docs, impacts, flags } = out;
  let doc = start;
  for (let i = 0; i < count; i++) {
    const k = at + i;
    doc += r.varint();
    docs[k] = doc;
    impacts[k] = r.byte();
    const f = r.byte();
    flags[k] = f;
    const titleLength = r.byte();
    const nTopics = f >> 2;
    if (facts.combo[doc] === 0) {
      // Up to four topics below 1024 make a numeric key (fast to look up); more make a string.
      let key = 0;
      for (let j = 0; j < nTopics; j++) {
        const t = r.varint();
        key = j < 4 && t < 1024 && typeof key === "number" ? key * 1025 + t + 1 : `${key},${t}`;
      }
      facts.flags[doc] = f & ~1;
      facts.titleLength[doc] = titleLength;
      facts.combo[doc] = facts.intern(key);
    } else {
      for (let j = 0; j < nTopics; j++) r.varint();
    }
  }
}

function decodePositions(count, block, out) {
  const r = new Reader(block);
  for (let k = 0; k < count; k++) {
    const n = r.varint();
    const at = new Int32Array(n);
    let p = 0;
    for (let j = 0; j < n; j++) { p += r.varint(); at[j] = p; }
    out.push(at);
  }
}

// ---------------------------------------------------------------- engine

export const PREFIX_LIMIT = 8;      // completions of the word being typed
export const PREFIX_WEIGHT = 0.7;   // a completion counts less than the word itself
export const TYPO_WEIGHT = 0.6;     // a one-edit correction counts less still
export const TYPO_MIN_LENGTH = 5;
export const TYPO_LIMIT = 5;
export const TITLE_BOOST = 1.25;    // the query's words are exactly the title's words
export const SORTS = ["relevance", "newest", "discussed"];

/**
 * A search index read through `load(path) -> Promise<Uint8Array>` (decompressed) and
 * `loadJSON(path)`, paths relative to the folder of manifest.json.
 */
export class SearchIndex {
  constructor(load, loadJSON) {
    this.load = load;
    this.loadJSON = loadJSON;
    this.cache = new Map();
    this.manifest = null;
  }

  _once(key, make) {
    let promise = this.cache.get(key);
    if (!promise) {
      promise = make();
      this.cache.set(key, promise);
      promise.catch(() => this.cache.delete(key));
    }
    return promise;
  }

  async open() {
    if (!this.manifest) {
      const m = await this._once("manifest", () => this.loadJSON("manifest.json"));
      if (!this.manifest) {
        this.manifest = m;
        this.n = m.docs;
        // Segments: runs of documents, each with its own vocabulary and postings (a term's
        // postings are the concatenation of its postings in every segment, in order).
        this.segments = m.segments.map((s, i) => ({ index: i, start: s.start, vocab: s.vocab,
          vocabStarts: s.vocab.map((v) => v[0]) }));
        this.yearStarts = m.years;
        this.topicTree = buildTopicTree(m.topics);
        this.docFlags = new Uint8Array(this.n);
        this.docTitleLength = new Uint8Array(this.n);
        this.docComments = new Uint32Array(this.n);  // filled on demand (loadComments)
        // Each document's topic set, as an index into `combos` (0: not seen yet). A set is
        // stored once with its closure (the topics and all their ancestors).
        this.docCombo = new Uint32Array(this.n);
        this.combos = [null];
        const comboIndex = new Map();
        this.facts = {
          flags: this.docFlags, titleLength: this.docTitleLength,
          combo: this.docCombo,
          intern: (key) => {
            let i = comboIndex.get(key);
            if (i === undefined) {
              const topics = decodeComboKey(key);
              const closure = new Set();
              for (const t of topics) for (const a of this.topicTree.ancestors[t] || []) closure.add(a);
              i = this.combos.length;
              this.combos.push({ topics, closure: [...closure] });
              comboIndex.set(key, i);
            }
            return i;
          },
        };
      }
    }
    return this.manifest;
  }

  _vocabIndex(seg, term) {
    // Last shard whose first term is <= term.
    let lo = 0, hi = seg.vocabStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareTerms(seg.vocabStarts[mid], term) <= 0) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  _vocab(seg, i) {
    const hash = seg.vocab[i][1];
    return this._once("v" + hash, async () => decodeVocab(await this.load(`v-${hash}.bin`),
      this.manifest.hashLength));
  }

  async _shardsFor(seg, from, to) {
    // Vocabulary shards of one segment that may hold terms in [from, to).
    const first = this._vocabIndex(seg, from);
    let last = first;
    while (last + 1 < seg.vocabStarts.length && compareTerms(seg.vocabStarts[last + 1], to) < 0) last++;
    const wanted = [];
    for (let i = first; i <= last; i++) wanted.push(this._vocab(seg, i));
    return Promise.all(wanted);
  }

  /** Terms of [from, to) accepted by keep(term), over every segment: [{term, df, parts}]. */
  async _termsIn(from, to, keep) {
    const found = new Map();
    const perSegment = await Promise.all(this.segments.map((seg) => this._shardsFor(seg, from, to)));
    this.segments.forEach((seg, i) => {
      for (const shard of perSegment[i]) {
        for (let k = bisect(shard.terms, from); k < shard.terms.length; k++) {
          const t = shard.terms[k];
          if (compareTerms(t, to) >= 0) break;
          if (keep(t)) addPart(found, shard, k, seg);
        }
      }
    });
    return [...found.values()];
  }

  /** The vocabulary entry of one term: {term, df (over all segments), parts}, or null. */
  async lookup(term) {
    const shards = await Promise.all(this.segments.map((seg) => this._vocab(seg, this._vocabIndex(seg, term))));
    const found = new Map();
    this.segments.forEach((seg, i) => {
      const shard = shards[i];
      const k = bisect(shard.terms, term);
      if (k < shard.terms.length && shard.terms[k] === term) addPart(found, shard, k, seg);
    });
    return found.get(term) || null;
  }

  /** Up to `limit` terms starting with prefix (not the prefix itself), most frequent first. */
  async completions(prefix, limit = PREFIX_LIMIT) {
    const found = await this._termsIn(prefix, prefix + "\u{10ffff}", (t) => t.startsWith(prefix) && t !== prefix);
    found.sort((a, b) => b.df - a.df || compareTerms(a.term, b.term));
    return found.slice(0, limit);
  }

  /** Terms one edit away from word that share its first two letters, most frequent first. */
  async corrections(word, limit = TYPO_LIMIT) {
    const head = [...word].slice(0, 2).join("");
    const found = await this._termsIn(head, head + "\u{10ffff}",
      (t) => t.startsWith(head) && t !== word && withinOneEdit(t, word));
    found.sort((a, b) => b.df - a.df || compareTerms(a.term, b.term));
    return found.slice(0, limit);
  }

  _termFile(kind, hash) {
    return this._once(kind + hash, async () => decodeTermFile(await this.load(`${kind}-${hash}.bin`)));
  }

  async postings(e) {
    return this._once("P" + e.term, async () => {
      const files = await Promise.all(e.parts.map((part) => this._termFile("p", part.file.postings)));
      const blocks = files.map((file) => file.get(e.term));
      const total = blocks.reduce((sum, [count]) => sum + count, 0);
      const out = { docs: new Uint32Array(total), impacts: new Uint8Array(total), flags: new Uint8Array(total) };
      let at = 0;
      e.parts.forEach((part, i) => {
        const [count, block] = blocks[i];
        decodePostings(count, block, this.facts, part.start, out, at);
        at += count;
      });
      return out;
    });
  }

  async positions(e) {
    return this._once("Q" + e.term, async () => {
      const files = await Promise.all(e.parts.map((part) => this._termFile("q", part.file.positions)));
      const out = [];
      for (const file of files) {
        const [count, block] = file.get(e.term);
        decodePositions(count, block, out);
      }
      return out;
    });
  }

  /** Make sure docComments holds the comment counts of these documents (sorting by comments). */
  async loadComments(ids) {
    const m = this.manifest;
    const chunks = new Set();
    for (const d of ids) chunks.add(Math.floor(d / m.commentChunk));
    await Promise.all([...chunks].map((c) => this._once("c" + c, async () => {
      const r = new Reader(await this.load(`c-${m.comments[c]}.bin`));
      const end = Math.min(this.n, (c + 1) * m.commentChunk);
      for (let d = c * m.commentChunk; d < end; d++) this.docComments[d] = r.varint();
    })));
  }

  /** Year of a document (ids are sorted by date, the manifest gives where each year starts). */
  yearOf(doc) {
    const ys = this.yearStarts;
    let lo = 0, hi = ys.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ys[mid][1] <= doc) lo = mid; else hi = mid - 1;
    }
    return ys.length ? ys[lo][0] : null;
  }

  /** What a result shows for one document: {u, t, d, a, p, c, s, x?, g?}. */
  async meta(doc) {
    const m = this.manifest;
    const chunk = Math.floor(doc / m.metaChunk);
    const dirIndex = Math.floor(chunk / m.metaDir);
    const dir = await this._once("d" + dirIndex, async () =>
      utf8.decode(await this.load(`d-${m.dirs[dirIndex]}.bin`)));
    const at = (chunk % m.metaDir) * m.hashLength;
    const hash = dir.slice(at, at + m.hashLength);
    const docs = await this._once("m" + hash, async () =>
      JSON.parse(utf8.decode(await this.load(`m-${hash}.bin`))));
    return docs[doc % m.metaChunk];
  }

  idf(df) {
    return Math.log(1 + (this.n - df + 0.5) / (df + 0.5));
  }

  /** Resolve parsed clauses to the index terms each one may match. */
  async resolve(clauses) {
    // Clauses resolve in parallel: each may need its own vocabulary shards.
    const resolved = await Promise.all(clauses.map(async (clause) => {
      if (clause.kind === "word") {
        return { alternatives: [[await this._slot(clause.term, clause.prefix, true)]], size: 1 };
      }
      if (clause.kind === "group") {
        const [whole, ...parts] = await Promise.all([this._slot(clause.compound, clause.prefix, true),
          ...clause.parts.map((p) => this._slot(p, false, false))]);
        return { alternatives: [[whole], parts], size: 1 };
      }
      const slots = await Promise.all(clause.terms.map(async ([term, offset]) => {
        const e = await this.lookup(term);
        return { entries: e ? [[e, 1]] : [], offset, term };
      }));
      return { alternatives: [slots], phrase: true, size: slots.length };
    }));
    // "pre trained" also finds "pretrained" (and "pre-trained", indexed as both).
    for (let i = 0; i + 1 < clauses.length; i++) {
      const a = clauses[i], b = clauses[i + 1];
      if (!a || !b || a.kind !== "word" || b.kind !== "word" || resolved[i].merged || resolved[i + 1].merged) continue;
      const joined = await this.lookup(a.term + b.term);
      if (!joined) continue;
      const pair = [resolved[i].alternatives[0][0], resolved[i + 1].alternatives[0][0]];
      const merged = { alternatives: [pair, [{ entries: [[joined, 1]], term: joined.term }]], size: 1,
        merged: true };
      resolved.splice(i, 2, merged);
      clauses = clauses.slice(0, i).concat([null], clauses.slice(i + 2));
    }
    return resolved;
  }

  async _slot(term, prefix, typos) {
    const entries = [];
    const [exact, completions] = await Promise.all([this.lookup(term), prefix ? this.completions(term) : []]);
    if (exact) entries.push([exact, 1]);
    // A rare completion must not outrank the word itself: its idf is capped at the word's.
    const cap = exact ? this.idf(exact.df) : Infinity;
    for (const e of completions) entries.push([e, PREFIX_WEIGHT, cap]);
    if (!exact && typos && [...term].length >= TYPO_MIN_LENGTH) {
      for (const e of await this.corrections(term)) {
        if (!entries.some(([x]) => x.term === e.term)) entries.push([e, TYPO_WEIGHT]);
      }
    }
    return { entries, term };
  }

  /** Documents matching one slot: dense scores, in-title marks, and the sorted matching ids. */
  async _slotMatches(slot) {
    const n = this.n;
    const scores = new Float32Array(n);
    const title = new Uint8Array(n);
    const scale = this.manifest.impactScale / 255;
    let count = 0;
    for (const [e, weight, cap = Infinity] of slot.entries) {
      const p = await this.postings(e);
      const w = weight * Math.min(this.idf(e.df), cap) * scale;
      const { docs, impacts, flags } = p;
      for (let k = 0; k < docs.length; k++) {
        const d = docs[k];
        const s = w * impacts[k];
        if (scores[d] === 0) count++;
        if (s > scores[d]) scores[d] = s;
        if (flags[k] & 1) title[d] = 1;
      }
    }
    const docs = new Int32Array(count);
    if (slot.entries.length === 1) {
      docs.set((await this.postings(slot.entries[0][0])).docs);
    } else {
      for (let d = 0, i = 0; i < count; d++) if (scores[d] > 0) docs[i++] = d;
    }
    return { scores, title, docs };
  }

  async _phraseOK(slots, docs) {
    const lists = [];
    for (const slot of slots) {
      const [e] = slot.entries[0];
      const p = await this.postings(e);
      const pos = await this.positions(e);
      const byDoc = new Map();
      for (let k = 0; k < p.docs.length; k++) byDoc.set(p.docs[k], pos[k]);
      lists.push([byDoc, slot.offset]);
    }
    return docs.filter((d) => {
      const [first, offset0] = lists[0];
      for (const start of first.get(d)) {
        if (lists.every(([m, off]) => {
          const at = m.get(d);
          return at && indexOfSorted(at, start + off - offset0);
        })) return true;
      }
      return false;
    });
  }

  /** The documents matching one clause (its best alternative): {scores, title, docs}. */
  async _clauseMatches(clause) {
    const usable = clause.alternatives.filter((slots) => slots.length && slots.every((s) => s.entries.length));
    if (usable.length === 1 && usable[0].length === 1) return this._slotMatches(usable[0][0]);
    const n = this.n;
    const scores = new Float32Array(n);
    const title = new Uint8Array(n);
    for (const slots of clause.alternatives) {
      if (!slots.length || slots.some((s) => !s.entries.length)) continue;
      const matches = [];
      for (const slot of slots) matches.push(await this._slotMatches(slot));
      matches.sort((a, b) => a.docs.length - b.docs.length);
      let docs = [];
      for (const d of matches[0].docs) {
        let ok = true;
        for (let m = 1; m < matches.length && ok; m++) ok = matches[m].scores[d] > 0;
        if (ok) docs.push(d);
      }
      if (clause.phrase && slots.length > 1) docs = await this._phraseOK(slots, docs);
      for (const d of docs) {
        let s = 0, inTitle = 1;
        for (const m of matches) { s += m.scores[d]; inTitle &= m.title[d]; }
        if (s > scores[d]) scores[d] = s;
        if (inTitle) title[d] = 1;
      }
    }
    let count = 0;
    for (let d = 0; d < n; d++) if (scores[d] > 0) count++;
    const docs = new Int32Array(count);
    for (let d = 0, i = 0; i < count; d++) if (scores[d] > 0) docs[i++] = d;
    return { scores, title, docs };
  }

  /**
   * Run a query: (q, {topic, year, code, sort}) -> {clauses, total, ids (filtered, sorted),
   * scores (dense, by document), facets: {topics: Map, years: Map, code}, terms (index terms matched)}.
   */
  async search(q, { topic = "", year = "", code = false, sort = "relevance" } = {}) {
    await this.open();
    const clauses = parseQuery(q);
    const empty = { clauses, total: 0, ids: [], scores: new Float32Array(0), facets: emptyFacets(), terms: new Set() };
    if (!clauses.length) return empty;
    const resolved = await this.resolve(clauses);
    const terms = new Set();
    let titleWords = 0;
    for (const c of resolved) {
      titleWords += c.size;
      for (const alt of c.alternatives) for (const s of alt) for (const [e] of s.entries) terms.add(e.term);
    }
    // Fetch every postings (and, for phrases, positions) file at once, then score from memory.
    const fetches = [];
    for (const c of resolved) for (const alt of c.alternatives) for (const slot of alt) {
      for (const [e] of slot.entries) {
        fetches.push(this.postings(e));
        if (c.phrase) fetches.push(this.positions(e));
      }
    }
    await Promise.all(fetches);
    const matches = [];
    for (const clause of resolved) matches.push(await this._clauseMatches(clause));
    matches.sort((a, b) => a.docs.length - b.docs.length);
    const scores = new Float32Array(this.n);
    const matched = [];
    for (const d of matches[0].docs) {
      let s = 0, inTitle = 1, ok = true;
      for (const m of matches) {
        const x = m.scores[d];
        if (x === 0) { ok = false; break; }
        s += x;
        inTitle &= m.title[d];
      }
      if (!ok) continue;
      scores[d] = inTitle && this.docTitleLength[d] === titleWords ? s * TITLE_BOOST : s;
      matched.push(d);
    }
    const filters = { topic: topic ? this.topicTree.byId.get(topic) : undefined, year: String(year), code };
    const facets = this.facets(matched, filters);
    const ids = matched.filter((d) => this._passes(d, filters, null));
    if (sort === "discussed") await this.loadComments(ids);
    return { clauses, total: matched.length, ids: sortIds(ids, sort, scores, this.docComments), scores,
      facets, terms };
  }

  _passes(d, { topic, year, code }, skip) {
    if (skip !== "code" && code && !(this.docFlags[d] & 2)) return false;
    if (skip !== "year" && year !== "" && String(this.yearOf(d)) !== year) return false;
    if (skip !== "topic" && topic !== undefined && !this.combos[this.docCombo[d]].closure.includes(topic)) {
      return false;
    }
    return true;
  }

  /** Live counts: each facet counts the matches that pass the other two filters. */
  facets(matched, filters) {
    const out = emptyFacets();
    const topicCounts = new Uint32Array(this.manifest.topics.length);
    for (const d of matched) {
      if (this._passes(d, filters, "topic")) {
        for (const t of this.combos[this.docCombo[d]].closure) topicCounts[t]++;
      }
      if (this._passes(d, filters, "year")) {
        const y = this.yearOf(d);
        out.years.set(y, (out.years.get(y) || 0) + 1);
      }
      if (this._passes(d, filters, "code") && (this.docFlags[d] & 2)) out.code += 1;
    }
    topicCounts.forEach((c, t) => { if (c) out.topics.set(t, c); });
    return out;
  }
}

function emptyFacets() {
  return { topics: new Map(), years: new Map(), code: 0 };
}

/** Add term k of a segment's vocabulary shard to found (term -> {term, df, parts}). */
function addPart(found, shard, k, seg) {
  const term = shard.terms[k];
  let e = found.get(term);
  if (!e) found.set(term, e = { term, df: 0, parts: [] });
  e.df += shard.df[k];
  e.parts.push({ start: seg.start, file: shard.files[shard.file[k]] });
}

function bisect(sorted, term) {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareTerms(sorted[mid], term) < 0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function indexOfSorted(arr, value) {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < value) lo = mid + 1; else hi = mid;
  }
  return lo < arr.length && arr[lo] === value;
}

/** Topic index -> set of itself and its ancestors (a paper in a sub-topic is in its parents). */
function buildTopicTree(topics) {
  const byId = new Map(topics.map((t, i) => [t.id, i]));
  const ancestors = topics.map((_, i) => {
    const set = new Set();
    for (let at = i; at !== null && at !== undefined && !set.has(at); at = topics[at].parent) set.add(at);
    return set;
  });
  const depth = ancestors.map((s) => s.size - 1);
  return { byId, ancestors, depth };
}

const ID_SPACE = 2 ** 21; // document ids fit in 21 bits (2 million papers)

/** Sort document ids: relevance (ties: newer first), newest, or most discussed. */
export function sortIds(ids, sort, scores, comments) {
  if (sort === "newest") return Array.from(ids).sort((a, b) => b - a);
  // One numeric key per id, sorted natively: much faster than a comparator at 100k results.
  const keys = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const d = ids[i];
    const primary = sort === "discussed" ? comments[d] : Math.round(scores[d] * 1e4);
    keys[i] = -(primary * ID_SPACE + d);
  }
  keys.sort();
  const out = new Array(ids.length);
  for (let i = 0; i < keys.length; i++) out[i] = -keys[i] % ID_SPACE;
  return out;
}

// ---------------------------------------------------------------- snippets

const SNIPPET_WORDS = 32;

/**
 * Cut a snippet of text around the matched terms: [[text, highlighted], ...].
 * Words are matched as whole hyphen groups or single parts, folded like the index.
 */
export function snippet(text, terms, size = SNIPPET_WORDS) {
  const words = [];
  const re = new RegExp(WORD + "(?:[-\\u2010\\u2011]" + WORD + ")*", "gu");
  for (const m of text.matchAll(re)) {
    const parts = wordGroups(m[0]);
    const flat = parts.flat();
    const hit = parts.some((p) => terms.has(p.join("")) || p.some((x) => terms.has(x))) ||
      flat.some((x) => terms.has(x));
    words.push({ start: m.index, end: m.index + m[0].length, hit });
  }
  if (!words.length) return [[text.slice(0, 200), false]];
  let bestStart = 0, bestHits = -1, hits = 0;
  for (let i = 0; i < words.length; i++) {
    if (words[i].hit) hits++;
    if (i >= size && words[i - size].hit) hits--;
    const start = Math.max(0, i - size + 1);
    if (hits > bestHits) { bestHits = hits; bestStart = start; }
  }
  if (bestHits <= 0) bestStart = 0;
  const window = words.slice(bestStart, bestStart + size);
  const from = bestStart === 0 ? 0 : window[0].start;
  const lastWord = window[window.length - 1];
  const to = bestStart + size >= words.length ? text.length : lastWord.end;
  const out = [];
  if (from > 0) out.push(["… ", false]);
  let at = from;
  for (const w of window) {
    if (!w.hit) continue;
    if (w.start > at) out.push([text.slice(at, w.start), false]);
    out.push([text.slice(w.start, w.end), true]);
    at = w.end;
  }
  if (to > at) out.push([text.slice(at, to), false]);
  if (to < text.length) out.push([" …", false]);
  return out;
}

// ---------------------------------------------------------------- browser loader

/** Inflate gzip bytes (shards are stored gzipped); pass other bytes through. */
export async function gunzipIfNeeded(bytes) {
  // Servers that add Content-Encoding: gzip hand us the inflated bytes already.
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A SearchIndex that fetches shards relative to the manifest URL. */
export function openIndex(manifestURL) {
  const base = new URL(".", manifestURL);
  const get = async (path) => {
    const response = await fetch(new URL(path, base));
    if (!response.ok) throw new Error(`search index: ${path}: HTTP ${response.status}`);
    return response;
  };
  return new SearchIndex(
    async (path) => gunzipIfNeeded(new Uint8Array(await (await get(path)).arrayBuffer())),
    async (path) => (await get(path)).json(),
  );
}

// ---------------------------------------------------------------- the search page

const PAGE_SIZE = 10;
const DEBOUNCE_MS = 60;
const PUSH_AFTER_MS = 1000;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function formatDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  return `${months[m - 1]} ${d}, ${y}`;
}

class SearchPage {
  constructor(root) {
    this.root = root;
    this.form = root.querySelector("form.search-main");
    this.input = root.querySelector("#search-q");
    this.topic = root.querySelector("#search-topic");
    this.year = root.querySelector("#search-year");
    this.code = root.querySelector("#search-code");
    this.codeLabel = root.querySelector("#search-code-count");
    this.sort = root.querySelector("#search-sort");
    this.status = root.querySelector("#search-status");
    this.list = root.querySelector("#search-results");
    this.more = root.querySelector("#search-more");
    this.siteRoot = new URL(root.dataset.root || "../", document.baseURI);
    this.index = openIndex(new URL(root.dataset.index, document.baseURI));
    this.generation = 0;
    this.shown = 0;
    this.result = null;
    this.pushTimer = 0;
    this.lastPushed = location.search;
  }

  async start() {
    this.readURL();
    this.input.addEventListener("input", () => { this.mirror(this.input); this.schedule(); });
    for (const control of [this.topic, this.year, this.code, this.sort]) {
      control.addEventListener("change", () => { this.run(); this.writeURL(true); });
    }
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
      this.writeURL(true);
    });
    this.more.addEventListener("click", () => this.showMore(true));
    this.root.addEventListener("keydown", (event) => this.onKey(event));
    window.addEventListener("popstate", () => { this.readURL(); this.run(); });
    // On this page the header box is the same search: typing in either drives both.
    this.header = document.getElementById("site-search");
    if (this.header) {
      this.header.value = this.input.value;
      this.header.addEventListener("input", () => { this.mirror(this.header); this.schedule(); });
      this.header.addEventListener("keydown", (event) => this.onKey(event));
      this.header.closest("form")?.addEventListener("submit", (event) => {
        event.preventDefault();
        this.run();
        this.writeURL(true);
      });
    }
    try {
      await this.index.open();
    } catch (error) {
      this.say("The search index could not be loaded; browse by topic or year below.");
      throw error;
    }
    this.root.classList.add("search-ready");
    for (const node of this.root.querySelectorAll("[data-needs-js]")) node.hidden = false;
    this.fillTopics();
    await this.run();
  }

  mirror(from) {
    const other = from === this.input ? this.header : this.input;
    if (other && other.value !== from.value) other.value = from.value;
  }

  readURL() {
    const params = new URLSearchParams(location.search);
    this.input.value = params.get("q") || "";
    if (this.header) this.header.value = this.input.value;
    this.wantTopic = params.get("topic") || "";
    this.wantYear = params.get("year") || "";
    this.code.checked = params.get("code") === "1";
    const sort = params.get("sort");
    this.sort.value = SORTS.includes(sort) ? sort : "relevance";
    if (this.topic.options.length > 1) this.topic.value = this.wantTopic;
    this.setYearOption(this.wantYear);
  }

  state() {
    const params = new URLSearchParams();
    const q = this.input.value.trim();
    if (q) params.set("q", q);
    if (this.topic.value) params.set("topic", this.topic.value);
    if (this.year.value) params.set("year", this.year.value);
    if (this.code.checked) params.set("code", "1");
    if (this.sort.value !== "relevance") params.set("sort", this.sort.value);
    const s = params.toString();
    return s ? "?" + s : "";
  }

  writeURL(push) {
    clearTimeout(this.pushTimer);
    const search = this.state();
    if (search === location.search) return;
    const url = location.pathname + search + location.hash;
    // Each keystroke replaces the entry; a pause, Enter or a filter change makes a new one,
    // so Back steps through searches, not letters.
    if (push && search !== this.lastPushed) {
      history.pushState(null, "", url);
      this.lastPushed = search;
    } else {
      history.replaceState(null, "", url);
    }
  }

  schedule() {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => { this.run(); this.writeURL(false); }, DEBOUNCE_MS);
    clearTimeout(this.pushTimer);
    this.pushTimer = setTimeout(() => this.writeURL(true), PUSH_AFTER_MS);
  }

  fillTopics() {
    const m = this.index.manifest;
    const tree = this.index.topicTree;
    for (const [i, t] of m.topics.entries()) {
      this.topic.append(el("option", { value: t.id, "data-index": i, "data-name": t.name,
        text: "\u2003".repeat(tree.depth[i]) + t.name }));
    }
    this.topic.value = this.wantTopic;
    const years = [...new Set(m.years.map(([y]) => y).filter((y) => y !== null))].sort((a, b) => b - a);
    for (const y of years) this.year.append(el("option", { value: String(y), "data-name": String(y), text: String(y) }));
    this.setYearOption(this.wantYear);
  }

  setYearOption(value) {
    if (value && ![...this.year.options].some((o) => o.value === value)) {
      this.year.append(el("option", { value, "data-name": value, text: value }));
    }
    this.year.value = value;
  }

  async run() {
    const generation = ++this.generation;
    const q = this.input.value;
    const options = { topic: this.topic.value, year: this.year.value, code: this.code.checked,
      sort: this.sort.value };
    let result;
    try {
      result = await this.index.search(q, options);
    } catch (error) {
      if (generation === this.generation) this.say(`Search failed: ${error.message}`);
      return;
    }
    if (generation !== this.generation) return; // a newer keystroke won
    this.result = result;
    this.updateFacets(result);
    this.list.replaceChildren();
    this.shown = 0;
    await this.showMore(false);
    if (generation !== this.generation) return;
    this.announce(q, result);
    // What is on screen, for tests and scripts that wait on it: query and filters.
    performance.mark("search-rendered");
    this.root.dataset.rendered = [q, options.topic, options.year, options.code ? "1" : "", options.sort].join("|");
    document.title = (q.trim() ? `${q.trim()} · ` : "") + this.baseTitle();
  }

  baseTitle() {
    if (!this.titleBase) this.titleBase = document.title;
    return this.titleBase;
  }

  announce(q, result) {
    const n = result.ids.length;
    if (!result.clauses.length) {
      this.say(q.trim() ? "Keep typing: words like “the” or “of” are not searched." :
        "Type to search titles, abstracts, authors and arXiv ids.");
    } else if (!n) {
      this.say(result.total ? `No results with these filters (${result.total} without).` : "No papers match.");
    } else {
      this.say(`${n} ${n === 1 ? "paper" : "papers"} found` +
        (n > this.shown ? `, showing ${this.shown}.` : "."));
    }
  }

  say(text) {
    this.status.textContent = text;
  }

  updateFacets({ facets, total }) {
    const index = this.index;
    const label = (option, count) => {
      const depth = option.dataset.index ? index.topicTree.depth[+option.dataset.index] : 0;
      option.textContent = "\u2003".repeat(depth) + option.dataset.name + ` (${count})`;
    };
    for (const option of this.topic.options) {
      if (!option.value) { option.textContent = `All topics`; continue; }
      label(option, facets.topics.get(+option.dataset.index) || 0);
    }
    for (const option of this.year.options) {
      if (!option.value) { option.textContent = "All years"; continue; }
      label(option, facets.years.get(+option.value) || 0);
    }
    this.codeLabel.textContent = `(${facets.code})`;
    this.root.dataset.total = String(total);
  }

  async showMore(focusNew) {
    const result = this.result;
    const generation = this.generation;
    const ids = result.ids.slice(this.shown, this.shown + PAGE_SIZE);
    const metas = await Promise.all(ids.map((d) => this.index.meta(d)));
    if (generation !== this.generation) return;
    let firstNew = null;
    ids.forEach((d, i) => {
      const item = this.renderResult(d, metas[i], result.terms);
      firstNew ??= item;
      this.list.append(item);
    });
    this.shown += ids.length;
    this.more.hidden = this.shown >= result.ids.length;
    if (focusNew && firstNew) firstNew.querySelector("a").focus();
    if (focusNew) this.announce(this.input.value, result);
  }

  renderResult(doc, meta, terms) {
    const topics = this.index.manifest.topics;
    const link = el("a", { href: new URL(meta.u, this.siteRoot).href, class: "result-link" });
    link.append(...highlight(meta.t, terms));
    const info = el("p", { class: "card-meta" });
    if (meta.d) info.append(el("time", { datetime: meta.d, text: formatDate(meta.d) }));
    const names = meta.p.map((t) => topics[t]).filter(Boolean);
    if (names.length) {
      const span = el("span", { class: "result-topics" });
      names.forEach((topic, i) => {
        if (i) span.append(", ");
        span.append(topic.url ? el("a", { href: new URL(topic.url, this.siteRoot).href, tabindex: "-1",
          text: topic.name }) : topic.name);
      });
      info.append(span);
    }
    if (meta.c) info.append(el("span", { text: `${meta.c} ${meta.c === 1 ? "comment" : "comments"}` }));
    if (meta.g) info.append(el("span", { class: "badge badge-code", text: "Code" }));
    const extra = [];
    if (meta.a && meta.a.length) {
      const more = (meta.n || meta.a.length) - meta.a.length;
      const authors = el("p", { class: "result-authors" });
      authors.append(...highlight(meta.a.join(", ") + (more > 0 ? ` and ${more} more` : ""), terms));
      extra.push(authors);
    }
    if (meta.x) info.append(el("span", { class: "result-id" }, ...highlight(`arXiv:${meta.x}`, terms)));
    const snip = el("p", { class: "card-snippet" });
    for (const [text, hit] of snippet(meta.s || "", terms)) snip.append(hit ? el("mark", { text }) : text);
    return el("li", { class: "card result", "data-doc": String(doc) },
      el("h2", { class: "card-title" }, link), info, ...extra, snip);
  }

  onKey(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const links = [...this.list.querySelectorAll("a.result-link")];
    if (!links.length) return;
    const at = links.indexOf(document.activeElement);
    if (event.target === this.input || event.target === this.header) {
      if (event.key !== "ArrowDown") return;
      links[0].focus();
    } else if (at === -1) {
      return;
    } else if (event.key === "ArrowDown") {
      (links[at + 1] || (this.more.hidden ? links[at] : this.more)).focus();
    } else {
      (at === 0 ? this.input : links[at - 1]).focus();
    }
    event.preventDefault();
  }
}

/** The title as text nodes and <mark> elements for matched words. */
function highlight(text, terms) {
  const out = [];
  let at = 0;
  const re = new RegExp(WORD + "(?:[-\\u2010\\u2011]" + WORD + ")*", "gu");
  for (const m of text.matchAll(re)) {
    const parts = wordGroups(m[0]);
    const hit = parts.some((p) => terms.has(p.join("")) || p.some((x) => terms.has(x)));
    if (!hit) continue;
    if (m.index > at) out.push(document.createTextNode(text.slice(at, m.index)));
    out.push(el("mark", { text: m[0] }));
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  return out;
}

// ---------------------------------------------------------------- the header box on other pages

const QUICK_LIMIT = 5;

/**
 * Search as you type from the header box of any page: the best five papers drop down
 * under the box, with a link to all results on the search page (where Enter also goes).
 * site.js loads this module when the box is first focused.
 */
class QuickSearch {
  constructor(box) {
    this.box = box;
    this.form = box.closest("form");
    this.manifestURL = new URL("data/manifest.json", this.form.action);
    this.index = openIndex(this.manifestURL);
    this.generation = 0;
    this.panel = el("div", { class: "quick-results", id: "quick-results", hidden: true });
    this.status = el("p", { class: "quick-status", role: "status", "aria-live": "polite" });
    this.list = el("ul", { class: "quick-list", "aria-label": "Best matches" });
    this.all = el("a", { class: "quick-all", href: this.form.action });
    this.panel.append(this.status, this.list, this.all);
    this.form.append(this.panel);
    box.setAttribute("aria-controls", "quick-results");
    const style = el("link", { rel: "stylesheet", href: new URL("search.css", import.meta.url).href });
    document.head.append(style);
  }

  start() {
    this.box.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(), DEBOUNCE_MS);
    });
    this.form.addEventListener("keydown", (event) => this.onKey(event));
    this.form.addEventListener("focusout", (event) => {
      if (!this.form.contains(event.relatedTarget)) this.hide();
    });
    if (this.box.value.trim()) this.run(); // typed while this module was loading
  }

  hide() {
    this.panel.hidden = true;
  }

  async run() {
    const generation = ++this.generation;
    const q = this.box.value;
    if (!q.trim()) { this.hide(); return; }
    let result;
    try {
      await this.index.open();
      result = await this.index.search(q);
    } catch (error) {
      return; // the form still submits to the search page
    }
    const ids = result.ids.slice(0, QUICK_LIMIT);
    const metas = await Promise.all(ids.map((d) => this.index.meta(d)));
    if (generation !== this.generation) return;
    const root = new URL(this.index.manifest.root, this.manifestURL);
    this.list.replaceChildren(...metas.map((meta) => {
      const link = el("a", { href: new URL(meta.u, root).href });
      link.append(...highlight(meta.t, result.terms));
      const item = el("li", {}, link);
      if (meta.d) item.append(" ", el("time", { datetime: meta.d, text: meta.d.slice(0, 4) }));
      return item;
    }));
    const n = result.ids.length;
    this.status.textContent = n ? `${n} ${n === 1 ? "paper" : "papers"} found` : "No papers match.";
    const all = new URL(this.form.action);
    all.search = new URLSearchParams({ q: q.trim() }).toString();
    this.all.href = all.href;
    this.all.textContent = n > QUICK_LIMIT ? `All ${n} results` : "Open the search page";
    this.panel.hidden = false;
    this.box.dataset.rendered = q;
  }

  onKey(event) {
    if (event.key === "Escape") {
      this.hide();
      this.box.focus();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    if (this.panel.hidden) return;
    const links = [...this.panel.querySelectorAll("a")];
    const at = links.indexOf(document.activeElement);
    if (event.target === this.box) {
      if (event.key === "ArrowDown" && links.length) links[0].focus();
    } else if (at !== -1) {
      (event.key === "ArrowDown" ? links[at + 1] || links[at] : at === 0 ? this.box : links[at - 1]).focus();
    } else {
      return;
    }
    event.preventDefault();
  }
}

if (typeof document !== "undefined") {
  const root = document.getElementById("search-app");
  const box = document.getElementById("site-search");
  if (root) {
    new SearchPage(root).start();
  } else if (box && box.closest("form")) {
    new QuickSearch(box).start();
  }
}
