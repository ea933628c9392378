/**
 * The closed word lists the paraphrase generator draws from. Every word the generator can emit comes from
 * here or from the templates in corpus.ts; nothing is taken from MRPC. Names are invented.
 * Synonym groups: words within one inner list are interchangeable in a paraphrase; different groups are
 * different meanings (a negative may swap one group for another).
 */

export interface Org {
  readonly name: string;
  /** Legal suffix forms, any of which a paraphrase may use (or drop). */
  readonly suffixes: readonly string[];
}

export const ORGS: readonly Org[] = [
  { name: 'Northwind', suffixes: ['Corp.', 'Corporation'] },
  { name: 'Bluestone', suffixes: ['Inc.'] },
  { name: 'Redfield', suffixes: ['Group'] },
  { name: 'Westgate', suffixes: ['Holdings'] },
  { name: 'Ironbridge', suffixes: ['Systems'] },
  { name: 'Silverline', suffixes: ['Airlines'] },
  { name: 'Oakmont', suffixes: ['Bank'] },
  { name: 'Brightwater', suffixes: ['Energy'] },
  { name: 'Kestrel', suffixes: ['Motors'] },
  { name: 'Pinecrest', suffixes: ['Corp.', 'Corporation'] },
  { name: 'Stonebrook', suffixes: ['Inc.'] },
  { name: 'Clearview', suffixes: ['Telecom'] },
  { name: 'Greenfield', suffixes: ['Foods'] },
  { name: 'Lakeside', suffixes: ['Group'] },
  { name: 'Maplewood', suffixes: ['Holdings'] },
  { name: 'Ridgeway', suffixes: ['Co.', 'Company'] },
  { name: 'Sunvale', suffixes: ['Inc.'] },
  { name: 'Coldwater', suffixes: ['Steel'] },
  { name: 'Highland', suffixes: ['Bank'] },
  { name: 'Falconer', suffixes: ['Software'] },
  { name: 'Meridian', suffixes: ['Corp.', 'Corporation'] },
  { name: 'Vantage', suffixes: ['Media'] },
  { name: 'Crescent', suffixes: ['Pharmaceuticals'] },
  { name: 'Harborview', suffixes: ['Group'] },
];

export interface Person {
  readonly first: string;
  readonly last: string;
  readonly female: boolean;
  /** Title used before the name ("Senator Mary Walsh"). */
  readonly title: string;
}

export const PEOPLE: readonly Person[] = [
  { first: 'John', last: 'Miller', female: false, title: 'Senator' },
  { first: 'Mary', last: 'Walsh', female: true, title: 'Senator' },
  { first: 'David', last: 'Carter', female: false, title: 'Governor' },
  { first: 'Susan', last: 'Hughes', female: true, title: 'Governor' },
  { first: 'Robert', last: 'Bennett', female: false, title: 'Mayor' },
  { first: 'Linda', last: 'Porter', female: true, title: 'Mayor' },
  { first: 'James', last: 'Reyes', female: false, title: 'Judge' },
  { first: 'Karen', last: 'Foster', female: true, title: 'Judge' },
  { first: 'Thomas', last: 'Grant', female: false, title: 'Senator' },
  { first: 'Laura', last: 'Hayes', female: true, title: 'Representative' },
  { first: 'Peter', last: 'Brooks', female: false, title: 'Representative' },
  { first: 'Helen', last: 'Coleman', female: true, title: 'Governor' },
  { first: 'Richard', last: 'Dixon', female: false, title: 'Mayor' },
  { first: 'Anne', last: 'Ellis', female: true, title: 'Judge' },
  { first: 'Michael', last: 'Fleming', female: false, title: 'Governor' },
  { first: 'Sarah', last: 'Gordon', female: true, title: 'Senator' },
  { first: 'George', last: 'Harper', female: false, title: 'Representative' },
  { first: 'Nancy', last: 'Keller', female: true, title: 'Mayor' },
];

/** Unnamed speakers for attributions ("officials said"). */
export const GROUP_SPEAKERS: readonly (readonly string[])[] = [
  ['officials', 'authorities'],
  ['analysts', 'market analysts'],
  ['a spokesman', 'a company spokesman'],
  ['police', 'investigators'],
  ['union leaders', 'union officials'],
];

export const SAID: readonly string[] = ['said', 'told reporters'];

/** Transitive actions between entities: active forms, passive participle forms, and who may do them. */
export interface ActionVerb {
  readonly active: readonly string[];
  readonly passive: readonly string[];
  /** 'org' when both sides must be companies (acquisitions), 'any' otherwise. */
  readonly roles: 'org' | 'any' | 'org-person';
  /** Index of the action that reverses this one (bought/sold), if any. */
  readonly opposite?: number;
}

export const ACTIONS: readonly ActionVerb[] = [
  {
    active: ['acquired', 'bought', 'purchased'],
    passive: ['acquired', 'bought', 'purchased'],
    roles: 'org',
    opposite: 1,
  },
  { active: ['sold'], passive: ['sold'], roles: 'org', opposite: 0 },
  { active: ['sued', 'filed a lawsuit against'], passive: ['sued'], roles: 'any' },
  { active: ['criticized', 'attacked'], passive: ['criticized', 'attacked'], roles: 'any', opposite: 4 },
  {
    active: ['praised', 'commended', 'applauded'],
    passive: ['praised', 'commended'],
    roles: 'any',
    opposite: 3,
  },
  {
    active: ['supported', 'backed', 'endorsed'],
    passive: ['supported', 'backed'],
    roles: 'any',
    opposite: 6,
  },
  { active: ['opposed', 'resisted'], passive: ['opposed'], roles: 'any', opposite: 5 },
  { active: ['hired', 'recruited'], passive: ['hired', 'recruited'], roles: 'org-person', opposite: 8 },
  { active: ['fired', 'dismissed'], passive: ['fired', 'dismissed'], roles: 'org-person', opposite: 7 },
];

/** Measures that can rise or fall; `controllable` ones also take "X cut its prices". */
export interface Measure {
  readonly nouns: readonly string[];
  readonly controllable: boolean;
}

export const MEASURES: readonly Measure[] = [
  { nouns: ['sales'], controllable: false },
  { nouns: ['shares', 'stock'], controllable: false },
  { nouns: ['exports', 'foreign sales'], controllable: false },
  { nouns: ['prices', 'rates'], controllable: true },
  { nouns: ['workforce', 'staff'], controllable: true },
  { nouns: ['spending', 'expenditure'], controllable: true },
  { nouns: ['costs', 'expenses'], controllable: true },
  { nouns: ['output', 'production'], controllable: true },
  { nouns: ['dividend', 'payout'], controllable: true },
];

export const RISE_INTRANSITIVE: readonly string[] = ['rose', 'increased', 'climbed', 'grew', 'gained'];
export const FALL_INTRANSITIVE: readonly string[] = ['fell', 'dropped', 'declined', 'decreased', 'slipped'];
export const RISE_TRANSITIVE: readonly string[] = ['raised', 'increased', 'boosted'];
export const FALL_TRANSITIVE: readonly string[] = ['cut', 'reduced', 'lowered'];

/** Financial results: nouns per kind ("profit" / "net income" / "earnings" mean the same). */
export const RESULT_KINDS: readonly (readonly string[])[] = [
  ['profit', 'net income', 'earnings'],
  ['loss', 'net loss'],
  ['revenue', 'turnover'],
];
export const REPORTED: readonly string[] = ['reported', 'posted', 'announced'];

export const QUARTERS: readonly { readonly ordinal: string; readonly month: string }[] = [
  { ordinal: 'first', month: 'March' },
  { ordinal: 'second', month: 'June' },
  { ordinal: 'third', month: 'September' },
  { ordinal: 'fourth', month: 'December' },
];

/** Facilities a company opens or closes; inner lists are synonyms. */
export const FACILITIES: readonly (readonly string[])[] = [
  ['plant', 'factory'],
  ['office', 'office building'],
  ['store', 'shop'],
  ['warehouse', 'distribution center'],
  ['mine'],
  ['laboratory', 'research center'],
  ['call center'],
  ['refinery'],
];

export const CLOSE_VERBS: readonly { readonly base: string; readonly participle: string }[] = [
  { base: 'close', participle: 'closed' },
  { base: 'shut', participle: 'shut' },
  { base: 'shut down', participle: 'shut down' },
];
export const OPEN_VERBS: readonly { readonly base: string; readonly participle: string }[] = [
  { base: 'open', participle: 'opened' },
  { base: 'build', participle: 'built' },
];
export const JOB_NOUNS: readonly string[] = ['jobs', 'positions'];

export const PLACES: readonly string[] = [
  'Ohio',
  'Texas',
  'Oregon',
  'Georgia',
  'Michigan',
  'Arizona',
  'Nevada',
  'Kansas',
  'Iowa',
  'Vermont',
  'Denver',
  'Boston',
  'Seattle',
  'Chicago',
  'Atlanta',
  'Dallas',
  'Phoenix',
  'Detroit',
  'Toronto',
  'Mexico',
];

export const DAYS: readonly string[] = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'];
/** Relative times; inner lists are synonyms. */
export const RELATIVE_TIMES: readonly (readonly string[])[] = [
  ['last week', 'a week ago'],
  ['last month', 'a month ago'],
  ['earlier this year', 'this year'],
];
export const YEARS: readonly number[] = [1998, 1999, 2000, 2001, 2002, 2003, 2004];

/** Percentages; a near-miss negative may move to a neighbour in this list. */
export const PERCENTS: readonly string[] = [
  '1.5',
  '2',
  '2.5',
  '3',
  '4',
  '4.5',
  '5',
  '6',
  '7',
  '8',
  '9',
  '10',
  '12',
  '14',
  '15',
  '18',
  '20',
  '22',
  '25',
  '30',
  '35',
  '40',
];

/** Money amounts in millions or billions. */
export const AMOUNTS: readonly string[] = [
  '1.2',
  '2',
  '3',
  '4.5',
  '5',
  '8',
  '10',
  '12',
  '15',
  '20',
  '25',
  '40',
  '60',
  '75',
  '90',
  '120',
  '150',
  '200',
  '250',
  '400',
  '600',
  '850',
];

export const JOB_COUNTS: readonly number[] = [
  120, 150, 200, 250, 300, 350, 400, 500, 600, 700, 800, 900, 1000, 1200, 1500, 2000, 2500,
];
