#!/usr/bin/env node
// gen.js writes the oracle fixtures of package sms: what Twilio's own
// segment calculator (npm sms-segments-calculator, pinned in package.json)
// says about a few thousand deterministic strings, and its GSM-7 and smart
// encoding tables as seen through its public API.
//
// Regenerate (from the repository root):
//
//	cd sms/testdata/gen && npm ci && node gen.js
//
// It writes ../segments.json, ../gsm_table.json and ../smart_table.json.
// The output depends only on the seed below and the pinned calculator, so
// running it twice gives the same files. The Go tests read the JSON; they
// never need node or npm.
'use strict';

const fs = require('fs');
const path = require('path');
const { SegmentedMessage } = require('sms-segments-calculator');
const oracleVersion = require('sms-segments-calculator/package.json').version;

const SEED = 20261122;
const OUT = path.join(__dirname, '..');

// ---------------------------------------------------------------------------
// A small deterministic PRNG (xorshift32), so the corpus never changes
// unless this file does.
function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  return {
    float: next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
  };
}
const R = rng(SEED);

const cp = (...cps) => String.fromCodePoint(...cps);
const isSurrogate = (c) => c >= 0xd800 && c <= 0xdfff;
function rangeChars(lo, hi) {
  const out = [];
  for (let c = lo; c <= hi; c++) if (!isSurrogate(c)) out.push(cp(c));
  return out;
}

// ---------------------------------------------------------------------------
// Character pools.
const POOLS = {
  ascii: rangeChars(0x20, 0x7e).filter((c) => !'^{}\\[~]|`'.includes(c)),
  gsmLatin: [...'£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà_@$\n'],
  extension: [...'\f^{}\\[~]|€'],
  nearGsm: [...'çÊêáíóúâîôûãõšžčćłńśźżαβγδεζηθλμπσωАБВабв\u00a0\t`’‘“”…—–•©®™°±×÷¼½¾«»'],
  smart: null, // filled from the oracle's smart table below
  emojiBMP: [...'☺☹☀☁★☆♥♦♣♠✈✉✌✍✔✖❤❓❗⚽⚡⌚⌛⏰'],
  emoji: rangeChars(0x1f600, 0x1f64f).concat(rangeChars(0x1f680, 0x1f6c5), rangeChars(0x1f300, 0x1f320)),
  newEmoji: rangeChars(0x1fa70, 0x1fa7c).concat(rangeChars(0x1fa90, 0x1fabd), rangeChars(0x1f9d0, 0x1f9ff)),
  modifier: rangeChars(0x1f3fb, 0x1f3ff),
  regional: rangeChars(0x1f1e6, 0x1f1ff),
  joiners: ['\u200d', '\ufe0f', '\ufe0e', '\u20e3', '\u200c'],
  tags: rangeChars(0xe0061, 0xe007a).concat([cp(0xe007f)]),
  zwj: [
    cp(0x1f468, 0x200d, 0x1f469, 0x200d, 0x1f467, 0x200d, 0x1f466), // family
    cp(0x1f469, 0x200d, 0x2764, 0xfe0f, 0x200d, 0x1f48b, 0x200d, 0x1f468), // kiss
    cp(0x1f3f3, 0xfe0f, 0x200d, 0x1f308), // rainbow flag
    cp(0x1f3f4, 0x200d, 0x2620, 0xfe0f), // pirate flag
    cp(0x2764, 0xfe0f, 0x200d, 0x1f525), // heart on fire
    cp(0x1f9d1, 0x200d, 0x1f680), // astronaut
    cp(0x1f469, 0x1f3fd, 0x200d, 0x1f4bb), // technologist, medium skin tone
    cp(0x1f937, 0x200d, 0x2642, 0xfe0f), // man shrugging
    cp(0x1f415, 0x200d, 0x1f9ba), // service dog
    cp(0x1f636, 0x200d, 0x1f32b, 0xfe0f), // face in clouds
    cp(0x1f44d, 0x1f3fd), // thumbs up, skin tone
    cp(0x31, 0xfe0f, 0x20e3), // keycap 1
    cp(0x23, 0xfe0f, 0x20e3), // keycap #
    cp(0x1f3f4, 0xe0067, 0xe0062, 0xe0065, 0xe006e, 0xe0067, 0xe007f), // England
  ],
  flags: ['🇺🇸', '🇬🇧', '🇯🇵', '🇫🇷', '🇩🇪', '🇧🇷', '🇮🇳', '🇺🇦'],
  combining: rangeChars(0x300, 0x36f).concat(rangeChars(0x1ab0, 0x1abe), rangeChars(0x20d0, 0x20f0), rangeChars(0xfe20, 0xfe2f)),
  cjk: rangeChars(0x4e00, 0x9fff),
  kana: rangeChars(0x3041, 0x30ff),
  hangul: rangeChars(0xac00, 0xd7a3),
  jamo: rangeChars(0x1100, 0x11ff),
  devanagari: rangeChars(0x0900, 0x097f),
  thai: rangeChars(0x0e01, 0x0e5b),
  arabic: rangeChars(0x0600, 0x06ff),
  cyrillic: rangeChars(0x0400, 0x04ff),
  controls: rangeChars(0x00, 0x1f).filter((c) => c !== '\n' && c !== '\r' && c !== '\f')
    .concat(rangeChars(0x7f, 0x9f), ['\u00ad', '\u200b', '\u200e', '\u200f', '\u2028', '\u2029', '\ufeff', '\u2060']),
  astral: rangeChars(0x20000, 0x20100).concat(rangeChars(0x1d400, 0x1d4ff), rangeChars(0x10400, 0x1044f)),
  crlf: ['\r\n', '\r', '\n'],
};

// ---------------------------------------------------------------------------
// The oracle.
function ask(text, smart) {
  const m = new SegmentedMessage(text, 'auto', smart);
  const ucs2 = m.encodingName === 'UCS-2';
  const parts = m.segments.map((seg) => {
    let chars = 0;
    for (const c of seg) if (!c.isUserDataHeader) chars++;
    return [chars, seg.messageSizeInBits() / (ucs2 ? 16 : 7)];
  });
  const nonGsm = [];
  for (const c of m.getNonGsmCharacters()) if (!nonGsm.includes(c)) nonGsm.push(c);
  // Graphemes made of more than one code point, as [code point index,
  // code point count]; every other code point is a grapheme of its own.
  const clusters = [];
  let at = 0;
  for (const g of m.graphemes) {
    const n = [...g].length;
    if (n > 1) clusters.push([at, n]);
    at += n;
  }
  return {
    encoding: m.encodingName,
    segments: m.segmentsCount,
    characters: m.numberOfCharacters,
    parts,
    nonGsm,
    clusters,
    text: m.graphemes.join(''),
  };
}

// ---------------------------------------------------------------------------
// Tables, read through the public API: a one-character message per BMP
// code point.
const gsmTable = [];
const smartTable = [];
for (let c = 0; c <= 0xffff; c++) {
  if (isSurrogate(c)) continue;
  const s = cp(c);
  const m = new SegmentedMessage(s);
  if (m.encodingName === 'GSM-7') gsmTable.push([c, m.numberOfCharacters]);
  const sm = new SegmentedMessage(s, 'auto', true);
  const replaced = sm.graphemes.join('');
  if (replaced !== s) smartTable.push([c, replaced]);
}
POOLS.smart = smartTable.map(([c]) => cp(c));

// ---------------------------------------------------------------------------
// The corpus.
const cases = [];
const seen = new Set();
function add(name, text) {
  if (seen.has(text)) return;
  seen.add(text);
  cases.push({ name, text });
}

const rep = (s, n) => s.repeat(Math.max(0, n));

// Hand-picked cases: Twilio's documented examples and known traps.
add('edge/empty', '');
add('edge/one', 'a');
add('edge/hello', 'Hello, world!');
add('edge/every-gsm-basic', gsmTable.filter(([, n]) => n === 1).map(([c]) => cp(c)).join(''));
add('edge/every-gsm-extension', gsmTable.filter(([, n]) => n === 2).map(([c]) => cp(c)).join(''));
add('edge/lone-cr', 'a\rb');
add('edge/crlf', 'line one\r\nline two');
add('edge/lf', 'line one\nline two');
add('edge/c-cedilla-lower', 'français ç');
add('edge/c-cedilla-upper', 'FRANÇAIS Ç');
add('edge/nbsp', 'a\u00a0b');
add('edge/tab', 'a\tb');
add('edge/backtick', 'a`b');
add('edge/curly', '“Hello” it’s me…');
add('edge/dashes', 'a—b–c');
add('edge/greek-upper-gsm', 'ΔΦΓΛΩΠΨΣΘΞ');
add('edge/greek-lower', 'αβγ');
add('edge/euro', '€€€');
add('edge/decomposed-e', 'e\u0301');
add('edge/decomposed-e-70', rep('e\u0301', 70));
add('edge/precomposed-e-70', rep('é', 70));
add('edge/emoji-pipe', '😀|');
add('edge/zalgo', 'Z' + rangeChars(0x300, 0x36f).join('') + 'A');
add('edge/zalgo-huge', 'x' + rep(rangeChars(0x300, 0x36f).join(''), 2) + 'y' + rep('z', 80));
add('edge/family-only', POOLS.zwj[0]);
add('edge/england-only', POOLS.zwj[13]);
add('edge/flags', POOLS.flags.join(''));
add('edge/odd-regional', cp(0x1f1fa, 0x1f1f8, 0x1f1e6));
add('edge/modifier-alone', 'a' + cp(0x1f3fd) + 'b');
add('edge/hangul-jamo', cp(0x1100, 0x1161, 0x11a8, 0x1100, 0x1161));
add('edge/devanagari', 'नमस्ते दुनिया क्षत्रिय');
add('edge/thai', 'สวัสดีครับ');
add('edge/arabic-prepend', cp(0x600, 0x661, 0x662));
add('edge/soft-hyphen', 'co\u00adop');
add('edge/zwsp', 'a\u200bb');
add('edge/bom', '\ufeffhello');
add('edge/nul', 'a\u0000b');
add('edge/1600-gsm', rep('a', 1600));
add('edge/1600-ext', rep('€', 800));
add('edge/1600-ucs2', rep('中', 1600));

// Boundary lengths: 160/153 for GSM-7, 70/67 for UCS-2, and multiples.
const gsmEdges = [1, 2, 152, 153, 154, 159, 160, 161, 305, 306, 307, 458, 459, 460, 611, 612, 613, 1530, 1531];
for (const n of gsmEdges) {
  add(`gsm/ascii-${n}`, rep('a', n));
  add(`gsm/latin-${n}`, rep('é', n));
  for (const at of [n - 2, n - 1, 151, 152, 153, 159, 160, 304, 305, 306]) {
    if (at < 0 || at >= n || n > 700) continue;
    const base = rep('a', n - 1);
    add(`gsm/ext-${n}-at-${at}`, base.slice(0, at) + '€' + base.slice(at));
    add(`gsm/crlf-${n}-at-${at}`, base.slice(0, at) + '\r\n' + base.slice(at + 1));
  }
  add(`gsm/all-ext-${n}`, rep('{', Math.ceil(n / 2)));
}
const ucsEdges = [1, 2, 66, 67, 68, 69, 70, 71, 133, 134, 135, 136, 200, 201, 202, 268, 269, 1600];
for (const n of ucsEdges) {
  add(`ucs2/cjk-${n}`, rep('中', n));
  add(`ucs2/mixed-${n}`, 'ç' + rep('a', n - 1));
  add(`ucs2/gsm-ext-in-ucs2-${n}`, 'ç' + rep('|', n - 1));
  for (const at of [n - 3, n - 2, n - 1, 65, 66, 67, 68, 69, 132, 133, 134]) {
    if (at < 0 || at >= n || n > 300) continue;
    const base = rep('中', n - 1);
    const put = (what) => base.slice(0, at) + what + base.slice(at);
    add(`ucs2/emoji-${n}-at-${at}`, put('😀'));
    add(`ucs2/family-${n}-at-${at}`, put(POOLS.zwj[0]));
    add(`ucs2/flag-${n}-at-${at}`, put('🇺🇸'));
    add(`ucs2/combining-${n}-at-${at}`, put('e\u0301\u0302'));
    add(`ucs2/england-${n}-at-${at}`, put(POOLS.zwj[13]));
    add(`ucs2/keycap-${n}-at-${at}`, put(POOLS.zwj[11]));
    add(`ucs2/crlf-${n}-at-${at}`, put('\r\n'));
  }
  add(`ucs2/emoji-only-${n}`, rep('😀', n));
  add(`ucs2/flags-only-${n}`, rep('🇯🇵', n));
}

// Random strings, by profile.
const PROFILES = [
  ['ascii', [['ascii', 1]]],
  ['ascii-crlf', [['ascii', 20], ['crlf', 1]]],
  ['gsm', [['ascii', 8], ['gsmLatin', 2], ['extension', 1]]],
  ['gsm-ext-heavy', [['ascii', 1], ['extension', 1]]],
  ['near-gsm', [['ascii', 30], ['gsmLatin', 3], ['nearGsm', 1]]],
  ['smart', [['ascii', 10], ['smart', 1]]],
  ['smart-heavy', [['ascii', 2], ['smart', 1], ['extension', 1]]],
  ['emoji', [['ascii', 6], ['emoji', 2], ['emojiBMP', 1], ['modifier', 1], ['joiners', 1]]],
  ['emoji-zwj', [['ascii', 4], ['zwj', 2], ['flags', 1], ['emoji', 1]]],
  ['emoji-new', [['newEmoji', 2], ['joiners', 1], ['modifier', 1], ['ascii', 2]]],
  ['regional', [['regional', 3], ['ascii', 1]]],
  ['tags', [['tags', 2], ['emoji', 1], ['ascii', 1]]],
  ['combining', [['ascii', 3], ['combining', 2]]],
  ['zalgo', [['ascii', 1], ['combining', 12]]],
  ['cjk', [['cjk', 6], ['kana', 2], ['ascii', 1]]],
  ['hangul', [['hangul', 3], ['jamo', 2], ['ascii', 1]]],
  ['indic', [['devanagari', 4], ['thai', 2], ['ascii', 1]]],
  ['arabic', [['arabic', 4], ['ascii', 1]]],
  ['cyrillic', [['cyrillic', 5], ['ascii', 2]]],
  ['controls', [['ascii', 6], ['controls', 1], ['crlf', 1]]],
  ['astral', [['astral', 2], ['ascii', 1], ['cjk', 1]]],
  ['mixed', Object.keys(POOLS).map((k) => [k, 1])],
];

function lengthFor() {
  const roll = R.float();
  if (roll < 0.25) return R.range(1, 60);
  if (roll < 0.45) return R.range(55, 80);
  if (roll < 0.6) return R.range(140, 170);
  if (roll < 0.72) return R.range(125, 145);
  if (roll < 0.84) return R.range(190, 330);
  if (roll < 0.97) return R.range(330, 620);
  return R.range(620, 1700);
}

function randomText(weights) {
  const total = weights.reduce((a, [, w]) => a + w, 0);
  const n = lengthFor();
  let out = '';
  let units = 0;
  while (units < n) {
    let roll = R.float() * total;
    let pool = weights[0][0];
    for (const [k, w] of weights) {
      roll -= w;
      if (roll < 0) { pool = k; break; }
    }
    const piece = R.pick(POOLS[pool]);
    out += piece;
    units += piece.length;
  }
  return out;
}

const PER_PROFILE = 160;
for (const [name, weights] of PROFILES) {
  for (let i = 0; i < PER_PROFILE; i++) add(`random/${name}/${i}`, randomText(weights));
}

// ---------------------------------------------------------------------------
// Output: one case per line, so a regeneration diffs readably.
const out = cases.map(({ name, text }) => {
  const plain = ask(text, false);
  const smart = ask(text, true);
  return JSON.stringify({
    name,
    text,
    encoding: plain.encoding,
    segments: plain.segments,
    characters: plain.characters,
    parts: plain.parts,
    nonGsm: plain.nonGsm,
    clusters: plain.clusters,
    // smart.text is left out when smart encoding changed nothing.
    smart: smart.text === text
      ? { encoding: smart.encoding, segments: smart.segments }
      : { text: smart.text, encoding: smart.encoding, segments: smart.segments },
  });
});

const header = (extra) => JSON.stringify({
  generator: 'sms/testdata/gen/gen.js',
  oracle: `sms-segments-calculator ${oracleVersion}`,
  seed: SEED,
  ...extra,
});

function writeJSON(file, head, key, rows) {
  const h = JSON.parse(head);
  const body = rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join(',\n');
  const text = JSON.stringify(h).slice(0, -1) + `,"${key}":[\n` + body + '\n]}\n';
  fs.writeFileSync(path.join(OUT, file), text);
}

writeJSON('segments.json', header({ count: out.length }), 'cases', out);
writeJSON('gsm_table.json', header({ count: gsmTable.length }), 'table', gsmTable);
writeJSON('smart_table.json', header({ count: smartTable.length }), 'table', smartTable);
console.log(`wrote ${out.length} cases, ${gsmTable.length} GSM-7 characters, ${smartTable.length} smart replacements`);
