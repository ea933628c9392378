/**
 * A procedural, seeded generator of MRPC-style paraphrase pairs. Each pair starts from a small meaning
 * record (who did what to whom, how much, when, who said so). A positive renders one meaning twice with
 * different surface choices (synonyms, active/passive, clause order, number formats, name forms); a
 * negative renders a meaning and a near-miss of it (one entity, number, verb, time or place changed, or a
 * different event about the same company), often with the very same surface choices so that only the
 * changed words differ, or the same event reported as denied ("officials denied that ..."). Length and word
 * overlap therefore do not decide the label.
 *
 * Learnability: a randomly initialized BERT learns the denials within the first epoch (they are visible in
 * one sentence), but not the near-misses (they need cross-sentence word matching, which a from-scratch model
 * does not pick up in a minute of CPU). `denialRate` thus sets the reachable dev metrics; the default makes
 * them rise well above the majority baseline while the near-misses keep them clear of 100%.
 */
import {
  ACTIONS,
  AMOUNTS,
  CLOSE_VERBS,
  DAYS,
  FACILITIES,
  FALL_INTRANSITIVE,
  FALL_TRANSITIVE,
  GROUP_SPEAKERS,
  JOB_COUNTS,
  JOB_NOUNS,
  MEASURES,
  OPEN_VERBS,
  ORGS,
  PEOPLE,
  PERCENTS,
  PLACES,
  QUARTERS,
  RELATIVE_TIMES,
  REPORTED,
  RESULT_KINDS,
  RISE_INTRANSITIVE,
  RISE_TRANSITIVE,
  SAID,
  YEARS,
} from './lexicon.js';
import { createRng, type Rng } from './prng.js';

export interface ParaphrasePair {
  /** 1: sentence2 is a paraphrase of sentence1 (MRPC "equivalent"), 0: it is not. */
  label: 0 | 1;
  id1: number;
  id2: number;
  sentence1: string;
  sentence2: string;
}

export interface ParaphraseCorpus {
  train: ParaphrasePair[];
  dev: ParaphrasePair[];
  test: ParaphrasePair[];
}

export interface ParaphraseCorpusOptions {
  seed: number;
  /** Number of pairs per split. */
  train: number;
  dev: number;
  test: number;
  /** Share of positives; MRPC has about 0.68. */
  positiveRate?: number;
  /**
   * Share of negatives where one sentence reports the same event as denied or untrue. A BERT trained from
   * scratch learns these in the default epochs; it barely learns the other near-misses, which need token-level
   * comparison across the two sentences (see perturbCore), so this share sets how high the dev metrics can go.
   */
  denialRate?: number;
  /** Share of near-miss negatives that swap a name, number or place rather than flip an attribute. */
  fillerRate?: number;
}

type Entity = { kind: 'org' | 'person'; i: number };
type Time = { kind: 'day' | 'relative' | 'year'; i: number };
type Speaker = { kind: 'person' | 'group'; i: number };

interface ActionCore {
  type: 'action';
  verb: number;
  agent: Entity;
  patient: Entity;
  /** Index into AMOUNTS of a price ("for $20 million"), acquisitions only. */
  price: number | undefined;
  billion: boolean;
  time: Time | undefined;
}
interface ChangeCore {
  type: 'change';
  org: number;
  measure: number;
  up: boolean;
  pct: number;
  time: Time | undefined;
}
interface ResultCore {
  type: 'result';
  org: number;
  kind: number;
  amount: number;
  billion: boolean;
  quarter: number;
}
interface SiteCore {
  type: 'site';
  org: number;
  open: boolean;
  facility: number;
  place: number;
  jobs: number | undefined;
}
type Core = ActionCore | ChangeCore | ResultCore | SiteCore;

interface Meaning {
  core: Core;
  speaker: Speaker | undefined;
  /** The sentence reports the event as denied or untrue ("X denied that ..."). */
  denied: boolean;
}

/** Index of another element of a list of length n: often a neighbour (a closer near-miss), else any. */
function otherIndex(rng: Rng, n: number, current: number, preferNeighbour = false): number {
  if (preferNeighbour && rng.chance(0.5)) {
    const step = rng.chance(0.5) ? 1 : -1;
    const j = current + step;
    return j >= 0 && j < n ? j : current - step;
  }
  const j = rng.int(n - 1);
  return j >= current ? j + 1 : j;
}

function randomTime(rng: Rng): Time {
  const kind = rng.pick(['day', 'relative', 'year'] as const);
  const n = kind === 'day' ? DAYS.length : kind === 'relative' ? RELATIVE_TIMES.length : YEARS.length;
  return { kind, i: rng.int(n) };
}

function randomEntity(rng: Rng, kind: Entity['kind'], avoid?: Entity): Entity {
  const n = kind === 'org' ? ORGS.length : PEOPLE.length;
  const i = avoid && avoid.kind === kind ? otherIndex(rng, n, avoid.i) : rng.int(n);
  return { kind, i };
}

function actionRoles(rng: Rng, roles: (typeof ACTIONS)[number]['roles']): [Entity, Entity] {
  if (roles === 'org') {
    const a = randomEntity(rng, 'org');
    return [a, randomEntity(rng, 'org', a)];
  }
  if (roles === 'org-person') return [randomEntity(rng, 'org'), randomEntity(rng, 'person')];
  const a = randomEntity(rng, rng.chance(0.5) ? 'org' : 'person');
  return [a, randomEntity(rng, rng.chance(0.5) ? 'org' : 'person', a)];
}

function verbFits(verb: number, agent: Entity, patient: Entity): boolean {
  const roles = ACTIONS[verb]!.roles;
  if (roles === 'org') return agent.kind === 'org' && patient.kind === 'org';
  if (roles === 'org-person') return agent.kind === 'org' && patient.kind === 'person';
  return true;
}

function randomCore(rng: Rng, org?: number): Core {
  const type = rng.pick(['action', 'change', 'result', 'site'] as const);
  const company = org ?? rng.int(ORGS.length);
  switch (type) {
    case 'action': {
      const verb = rng.int(ACTIONS.length);
      let [agent, patient] = actionRoles(rng, ACTIONS[verb]!.roles);
      // A topic-shift negative keeps the company: put it in the agent slot (every verb allows an org agent).
      if (org !== undefined && !(agent.kind === 'org' && agent.i === org)) {
        agent = { kind: 'org', i: org };
        if (patient.kind === 'org' && patient.i === org) patient = randomEntity(rng, 'org', agent);
      }
      const priced = ACTIONS[verb]!.roles === 'org' && rng.chance(0.4);
      return {
        type,
        verb,
        agent,
        patient,
        price: priced ? rng.int(AMOUNTS.length) : undefined,
        billion: rng.chance(0.2),
        time: rng.chance(0.5) ? randomTime(rng) : undefined,
      };
    }
    case 'change':
      return {
        type,
        org: company,
        measure: rng.int(MEASURES.length),
        up: rng.chance(0.5),
        pct: rng.int(PERCENTS.length),
        time: rng.chance(0.5) ? randomTime(rng) : undefined,
      };
    case 'result':
      return {
        type,
        org: company,
        kind: rng.int(RESULT_KINDS.length),
        amount: rng.int(AMOUNTS.length),
        billion: rng.chance(0.15),
        quarter: rng.int(QUARTERS.length),
      };
    case 'site':
      return {
        type,
        org: company,
        open: rng.chance(0.5),
        facility: rng.int(FACILITIES.length),
        place: rng.int(PLACES.length),
        jobs: rng.chance(0.6) ? rng.int(JOB_COUNTS.length) : undefined,
      };
  }
}

function randomSpeaker(rng: Rng): Speaker {
  return rng.chance(0.5)
    ? { kind: 'person', i: rng.int(PEOPLE.length) }
    : { kind: 'group', i: rng.int(GROUP_SPEAKERS.length) };
}

function mainOrg(core: Core): number | undefined {
  if (core.type !== 'action') return core.org;
  if (core.agent.kind === 'org') return core.agent.i;
  return core.patient.kind === 'org' ? core.patient.i : undefined;
}

function otherTime(rng: Rng, t: Time): Time {
  const n = t.kind === 'day' ? DAYS.length : t.kind === 'relative' ? RELATIVE_TIMES.length : YEARS.length;
  return { kind: t.kind, i: otherIndex(rng, n, t.i, t.kind === 'year') };
}

/**
 * One meaning-changing edit of a core: the near-miss a negative pair is made of. Reversals flip the event
 * (bought/sold, rose/fell, open/close, profit/loss, praised/criticized); filler edits swap a name, number,
 * place, date or a non-reversing word (another verb, measure or facility). Both need comparing words across
 * the two sentences, which a BERT trained from scratch does not learn in a few hundred steps (measured: even
 * "identical vs one word replaced" stays near 0.73 accuracy after 30k examples), so these are the hard part of
 * the task; `fillerRate` sets how many of them are filler edits.
 */
function perturbCore(rng: Rng, core: Core, fillerRate: number): Core {
  const reversal: (() => Core)[] = [];
  const filler: (() => Core)[] = [];
  switch (core.type) {
    case 'action': {
      const opposite = ACTIONS[core.verb]!.opposite;
      if (opposite !== undefined) reversal.push(() => ({ ...core, verb: opposite }));
      filler.push(
        () => ({ ...core, agent: randomEntity(rng, core.agent.kind, core.agent) }),
        () => {
          let patient = randomEntity(rng, core.patient.kind, core.patient);
          if (patient.kind === core.agent.kind && patient.i === core.agent.i) {
            patient = randomEntity(rng, patient.kind, patient);
          }
          return { ...core, patient };
        },
        () => {
          const fits = ACTIONS.map((_, v) => v).filter(
            (v) => v !== core.verb && verbFits(v, core.agent, core.patient),
          );
          return { ...core, verb: rng.pick(fits) };
        },
      );
      if (ACTIONS[core.verb]!.roles !== 'org-person') {
        filler.push(() => ({ ...core, agent: core.patient, patient: core.agent }));
      }
      const { price, time } = core;
      if (price !== undefined) {
        filler.push(() =>
          rng.chance(0.8)
            ? { ...core, price: otherIndex(rng, AMOUNTS.length, price, true) }
            : { ...core, billion: !core.billion },
        );
      }
      if (time) filler.push(() => ({ ...core, time: otherTime(rng, time) }));
      break;
    }
    case 'change': {
      reversal.push(() => ({ ...core, up: !core.up }));
      filler.push(
        () => ({ ...core, org: otherIndex(rng, ORGS.length, core.org) }),
        () => ({ ...core, measure: otherIndex(rng, MEASURES.length, core.measure) }),
        () => ({ ...core, pct: otherIndex(rng, PERCENTS.length, core.pct, true) }),
      );
      const { time } = core;
      if (time) filler.push(() => ({ ...core, time: otherTime(rng, time) }));
      break;
    }
    case 'result':
      // profit (0) and loss (1) reverse each other; revenue (2) only differs from them.
      if (core.kind < 2) reversal.push(() => ({ ...core, kind: 1 - core.kind }));
      filler.push(
        () => ({ ...core, org: otherIndex(rng, ORGS.length, core.org) }),
        () => ({ ...core, quarter: otherIndex(rng, QUARTERS.length, core.quarter, true) }),
        () =>
          rng.chance(0.8)
            ? { ...core, amount: otherIndex(rng, AMOUNTS.length, core.amount, true) }
            : { ...core, billion: !core.billion },
      );
      if (core.kind === 2) filler.push(() => ({ ...core, kind: rng.int(2) }));
      break;
    case 'site': {
      reversal.push(() => ({ ...core, open: !core.open }));
      filler.push(
        () => ({ ...core, org: otherIndex(rng, ORGS.length, core.org) }),
        () => ({ ...core, facility: otherIndex(rng, FACILITIES.length, core.facility) }),
        () => ({ ...core, place: otherIndex(rng, PLACES.length, core.place) }),
      );
      const { jobs } = core;
      if (jobs !== undefined)
        filler.push(() => ({ ...core, jobs: otherIndex(rng, JOB_COUNTS.length, jobs, true) }));
      break;
    }
  }
  return rng.pick(reversal.length > 0 && !rng.chance(fillerRate) ? reversal : filler)();
}

// ---- rendering: every choice below is drawn from the style stream `s`, so two renders that share a style
// seed make the same surface choices wherever their meanings agree.

function renderEntity(s: Rng, e: Entity): string {
  if (e.kind === 'org') {
    const org = ORGS[e.i]!;
    return s.chance(0.5) ? org.name : `${org.name} ${s.pick(org.suffixes)}`;
  }
  const p = PEOPLE[e.i]!;
  return s.pick([
    `${p.first} ${p.last}`,
    `${p.female ? 'Ms.' : 'Mr.'} ${p.last}`,
    `${p.title} ${p.first} ${p.last}`,
  ]);
}

function renderOrg(s: Rng, i: number): string {
  return renderEntity(s, { kind: 'org', i });
}

function possessive(name: string): string {
  return name.endsWith('s') ? `${name}'` : `${name}'s`;
}

function renderMoney(s: Rng, amount: number, billion: boolean): string {
  const n = AMOUNTS[amount]!;
  const unit = billion ? 'billion' : 'million';
  const forms = [`$${n} ${unit}`, `${n} ${unit} dollars`, `US$${n} ${unit}`];
  if (!billion && !n.includes('.')) forms.push(`$${n},000,000`);
  return s.pick(forms);
}

function renderPercent(s: Rng, pct: number): string {
  const n = PERCENTS[pct]!;
  return s.pick([`${n} percent`, `${n}%`, `${n} per cent`]);
}

function renderCount(s: Rng, n: number): string {
  if (n < 1000 || s.chance(0.5)) return String(n);
  return `${Math.floor(n / 1000)},${String(n % 1000).padStart(3, '0')}`;
}

function renderTime(s: Rng, t: Time): string {
  if (t.kind === 'day') return `on ${DAYS[t.i]!}`;
  if (t.kind === 'relative') return s.pick(RELATIVE_TIMES[t.i]!);
  return `${s.pick(['in', 'during'])} ${YEARS[t.i]!}`;
}

/** Puts an optional time phrase before ("On Monday, ...") or after the clause. */
function withTime(s: Rng, clause: string, time: Time | undefined): string {
  if (!time) return clause;
  const t = renderTime(s, time);
  return s.chance(0.4) ? `${t}, ${clause}` : `${clause} ${t}`;
}

function renderAction(s: Rng, c: ActionCore): string {
  const verb = ACTIONS[c.verb]!;
  const agent = renderEntity(s, c.agent);
  const patient = renderEntity(s, c.patient);
  const price = c.price === undefined ? '' : ` for ${renderMoney(s, c.price, c.billion)}`;
  const clause = s.chance(0.6)
    ? `${agent} ${s.pick(verb.active)} ${patient}${price}`
    : `${patient} was ${s.pick(verb.passive)} by ${agent}${price}`;
  return withTime(s, clause, c.time);
}

function renderChange(s: Rng, c: ChangeCore): string {
  const measure = MEASURES[c.measure]!;
  const noun = s.pick(measure.nouns);
  const org = renderOrg(s, c.org);
  const pct = renderPercent(s, c.pct);
  const by = s.chance(0.5) ? 'by ' : '';
  const forms = [
    () => `${possessive(org)} ${noun} ${s.pick(c.up ? RISE_INTRANSITIVE : FALL_INTRANSITIVE)} ${by}${pct}`,
    () => `${noun} at ${org} ${s.pick(c.up ? RISE_INTRANSITIVE : FALL_INTRANSITIVE)} ${by}${pct}`,
  ];
  if (measure.controllable) {
    forms.push(() => `${org} ${s.pick(c.up ? RISE_TRANSITIVE : FALL_TRANSITIVE)} its ${noun} by ${pct}`);
  }
  return withTime(s, s.pick(forms)(), c.time);
}

function renderResult(s: Rng, c: ResultCore): string {
  const q = QUARTERS[c.quarter]!;
  const org = renderOrg(s, c.org);
  const noun = s.pick(RESULT_KINDS[c.kind]!);
  const money = renderMoney(s, c.amount, c.billion);
  const period = s.pick([
    `in the ${q.ordinal} quarter`,
    `for the ${q.ordinal} quarter`,
    `in the three months to ${q.month}`,
  ]);
  const reported = s.pick(REPORTED);
  const ownVerb = c.kind === 0 ? 'earned' : c.kind === 1 ? 'lost' : 'took in';
  return s.pick([
    () => `${org} ${reported} ${q.ordinal}-quarter ${noun} of ${money}`,
    () => `${org} ${reported} ${noun} of ${money} ${period}`,
    () => `${possessive(org)} ${q.ordinal}-quarter ${noun} was ${money}`,
    () => `${org} ${ownVerb} ${money} ${period}`,
    () => `${period}, ${org} ${reported} ${noun} of ${money}`,
  ])();
}

function renderSite(s: Rng, c: SiteCore): string {
  const org = renderOrg(s, c.org);
  const facility = s.pick(FACILITIES[c.facility]!);
  const place = PLACES[c.place]!;
  const verb = s.pick(c.open ? OPEN_VERBS : CLOSE_VERBS);
  let jobs = '';
  if (c.jobs !== undefined) {
    const count = `${renderCount(s, JOB_COUNTS[c.jobs]!)} ${s.pick(JOB_NOUNS)}`;
    jobs = c.open
      ? s.pick([`, creating ${count}`, `, adding ${count}`])
      : s.pick([`, cutting ${count}`, `, eliminating ${count}`, ` with the loss of ${count}`]);
  }
  if (c.open) {
    return s.pick([
      () => `${org} will ${verb.base} a new ${facility} in ${place}${jobs}`,
      () =>
        `${org} plans to ${verb.base} ${/^[aeiou]/.test(facility) ? 'an' : 'a'} ${facility} in ${place}${jobs}`,
      () => `a new ${facility} will be ${verb.participle} in ${place} by ${org}${jobs}`,
    ])();
  }
  return s.pick([
    () => `${org} will ${verb.base} its ${facility} in ${place}${jobs}`,
    () => `${org} plans to ${verb.base} its ${place} ${facility}${jobs}`,
    () => `the ${place} ${facility} of ${org} will be ${verb.participle}${jobs}`,
    () => `${org} is to ${verb.base} its ${facility} in ${place}${jobs}`,
  ])();
}

function renderSpeaker(s: Rng, sp: Speaker): string {
  return sp.kind === 'person' ? renderEntity(s, { kind: 'person', i: sp.i }) : s.pick(GROUP_SPEAKERS[sp.i]!);
}

function render(meaning: Meaning, styleSeed: number): string {
  const s = createRng(styleSeed);
  const c = meaning.core;
  let clause =
    c.type === 'action'
      ? renderAction(s, c)
      : c.type === 'change'
        ? renderChange(s, c)
        : c.type === 'result'
          ? renderResult(s, c)
          : renderSite(s, c);
  if (meaning.denied) {
    const who = meaning.speaker ? renderSpeaker(s, meaning.speaker) : undefined;
    clause = s.pick([
      `${who ?? 'officials'} denied that ${clause}`,
      `${who ?? 'the company'} said it was not true that ${clause}`,
      who ? `${who} said reports that ${clause} were false` : `there is no truth to reports that ${clause}`,
    ]);
  } else if (meaning.speaker) {
    const who = renderSpeaker(s, meaning.speaker);
    const said = s.pick(SAID);
    clause = s.pick([
      `${who} ${said} ${clause}`,
      `${who} ${said} that ${clause}`,
      `${clause}, ${who} ${said}`,
      `according to ${who}, ${clause}`,
    ]);
  }
  return finishSentence(clause);
}

/** Capitalizes the first letter and ends with one period (an abbreviation's period counts). */
function finishSentence(text: string): string {
  const body = text.endsWith('.') ? text : `${text}.`;
  return body.charAt(0).toUpperCase() + body.slice(1);
}

/** Drops the attribution (a paraphrase may leave out "officials said"). */
function withoutSpeaker(m: Meaning): Meaning {
  return { ...m, speaker: undefined };
}

/** How the pairs are drawn; see ParaphraseCorpusOptions. */
interface PairMix {
  positiveRate: number;
  denialRate: number;
  fillerRate: number;
}

function makePair(rng: Rng, mix: PairMix): { label: 0 | 1; a: string; b: string } | undefined {
  const first: Meaning = {
    core: randomCore(rng),
    speaker: rng.chance(0.35) ? randomSpeaker(rng) : undefined,
    denied: false,
  };
  const label: 0 | 1 = rng.chance(mix.positiveRate) ? 1 : 0;
  let second: Meaning;
  if (label === 1) {
    second = first;
  } else if (rng.chance(mix.denialRate)) {
    second = { ...first, denied: true };
  } else if (rng.chance(0.12)) {
    // A different event about the same company: overlapping names, different news.
    const org = mainOrg(first.core);
    second = { ...first, core: randomCore(rng, org) };
  } else if (first.speaker && rng.chance(0.15 * mix.fillerRate)) {
    const sp = first.speaker;
    const n = sp.kind === 'person' ? PEOPLE.length : GROUP_SPEAKERS.length;
    second = { ...first, speaker: { kind: sp.kind, i: otherIndex(rng, n, sp.i) } };
  } else {
    second = { ...first, core: perturbCore(rng, first.core, mix.fillerRate) };
  }
  // Either side may leave out the attribution, in both classes, so its absence carries no label signal.
  const dropSpeaker =
    second.speaker !== undefined && second.speaker === first.speaker && !second.denied && rng.chance(0.2);
  if (dropSpeaker) second = withoutSpeaker(second);

  const styleA = rng.int(2 ** 31);
  // Negatives often share the surface choices (only the changed slot differs); positives never do.
  const styleB = label === 0 && rng.chance(0.5) ? styleA : rng.int(2 ** 31);
  const a = render(first, styleA);
  const b = render(second, styleB);
  if (a === b) return undefined;
  return rng.chance(0.5) ? { label, a, b } : { label, a: b, b: a };
}

/**
 * Generates train/dev/test splits of MRPC-style pairs, deterministic for a seed. Sentences never repeat
 * across the corpus, so dev and test measure generalization to new combinations.
 */
export function generateParaphraseCorpus(options: ParaphraseCorpusOptions): ParaphraseCorpus {
  const { seed, positiveRate = 0.68, denialRate = 0.6, fillerRate = 0.25 } = options;
  for (const split of ['train', 'dev', 'test'] as const) {
    const n = options[split];
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`${split} size must be a non-negative integer, got ${n}`);
  }
  for (const [name, rate] of Object.entries({ positiveRate, denialRate, fillerRate })) {
    if (!(rate >= 0 && rate <= 1)) throw new Error(`${name} must be in [0, 1], got ${rate}`);
  }
  if (positiveRate === 0 || positiveRate === 1)
    throw new Error(`positiveRate must be in (0, 1), got ${positiveRate}`);
  const mix = { positiveRate, denialRate, fillerRate };
  const rng = createRng(seed);
  const seen = new Set<string>();
  let nextId = 100000 + rng.int(900000);
  const split = (size: number): ParaphrasePair[] => {
    const pairs: ParaphrasePair[] = [];
    for (let attempts = 0; pairs.length < size; attempts++) {
      if (attempts > size * 50) throw new Error(`could not generate ${size} distinct pairs`);
      const pair = makePair(rng, mix);
      if (!pair || seen.has(pair.a) || seen.has(pair.b)) continue;
      seen.add(pair.a);
      seen.add(pair.b);
      nextId += 1 + rng.int(5000);
      const id1 = nextId;
      nextId += 1 + rng.int(500);
      pairs.push({ label: pair.label, id1, id2: nextId, sentence1: pair.a, sentence2: pair.b });
    }
    return pairs;
  };
  const train = split(options.train);
  const dev = split(options.dev);
  const test = split(options.test);
  return { train, dev, test };
}

export const MRPC_HEADER = ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'] as const;

/** Serializes pairs as a GLUE MRPC TSV file (tab-separated, header line, no quoting). */
export function toMrpcTsv(pairs: readonly ParaphrasePair[]): string {
  const lines = [MRPC_HEADER.join('\t')];
  for (const p of pairs) {
    for (const text of [p.sentence1, p.sentence2]) {
      if (/[\t\r\n]/.test(text))
        throw new Error(`sentence contains a tab or newline: ${JSON.stringify(text)}`);
    }
    lines.push([p.label, p.id1, p.id2, p.sentence1, p.sentence2].join('\t'));
  }
  return `${lines.join('\n')}\n`;
}
