/**
 * A compact BERT-uncased WordPiece vocabulary for the embedded corpus, plus the tokenizer files a
 * vocab.txt-only BERT folder carries. Every word the corpus contains is a whole-word entry, so WordPiece never
 * splits or drops it; single characters and their `##` continuations let any other lowercase ASCII text
 * (a user's own sentence at predict time) be spelled out instead of becoming [UNK].
 */
import type { ParaphraseCorpus } from './corpus.js';

export const SPECIAL_TOKENS = {
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  mask_token: '[MASK]',
} as const;

/** Special tokens in id order: [PAD] is 0 as BERT's pad_token_id expects. */
const SPECIAL_ORDER = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** BERT's punctuation test: ASCII symbol ranges plus Unicode punctuation. */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (
    (cp >= 33 && cp <= 47) ||
    (cp >= 58 && cp <= 64) ||
    (cp >= 91 && cp <= 96) ||
    (cp >= 123 && cp <= 126)
  ) {
    return true;
  }
  return /\p{P}/u.test(ch);
}

/**
 * BERT's uncased basic tokenization (BertPreTokenizer after lowercasing and accent stripping): split on
 * whitespace, and every punctuation character becomes its own token.
 */
export function basicTokenize(text: string): string[] {
  const normalized = text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '');
  const tokens: string[] = [];
  for (const word of normalized.split(/\s+/)) {
    let current = '';
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (current) tokens.push(current);
        tokens.push(ch);
        current = '';
      } else {
        current += ch;
      }
    }
    if (current) tokens.push(current);
  }
  return tokens;
}

const ASCII_PUNCTUATION = Array.from({ length: 94 }, (_, k) => String.fromCharCode(33 + k)).filter(
  isPunctuation,
);
const LETTERS_AND_DIGITS = [...'abcdefghijklmnopqrstuvwxyz0123456789'];

/** Deterministic order independent of locale: by UTF-16 code units. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The vocabulary (one token per line, line number = id): special tokens, then every word of the corpus and
 * the single-character fallbacks, sorted.
 */
export function generateVocab(corpus: ParaphraseCorpus): string[] {
  const words = new Set<string>([...LETTERS_AND_DIGITS, ...ASCII_PUNCTUATION]);
  for (const split of [corpus.train, corpus.dev, corpus.test]) {
    for (const pair of split) {
      for (const t of basicTokenize(pair.sentence1)) words.add(t);
      for (const t of basicTokenize(pair.sentence2)) words.add(t);
    }
  }
  const pieces = LETTERS_AND_DIGITS.map((c) => `##${c}`);
  return [...SPECIAL_ORDER, ...[...words].sort(byCodeUnits), ...pieces];
}

export function toVocabTxt(vocab: readonly string[]): string {
  return `${vocab.join('\n')}\n`;
}

/** tokenizer_config.json in the shape transformers writes for bert-base-uncased. */
export function tokenizerConfig(vocab: readonly string[], modelMaxLength: number): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const token of SPECIAL_ORDER) {
    const id = vocab.indexOf(token);
    if (id < 0) throw new Error(`vocab lacks the special token ${token}`);
    decoder[String(id)] = {
      content: token,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  }
  return {
    added_tokens_decoder: decoder,
    clean_up_tokenization_spaces: true,
    ...SPECIAL_TOKENS,
    do_basic_tokenize: true,
    do_lower_case: true,
    model_max_length: modelMaxLength,
    never_split: null,
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
  };
}

export function specialTokensMap(): Record<string, string> {
  return { ...SPECIAL_TOKENS };
}
