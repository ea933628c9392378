import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** tokenizer.json's entry for a special token. */
const addedToken = (content: string, id: number) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** A WordPiece tokenizer over the fixture model's 128 ids: [PAD] [UNK] [CLS] [SEP] [MASK] tok5 .. tok127. */
export function writeTinyTokenizer(dir: string): void {
  const vocab: Record<string, number> = { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4 };
  for (let i = 5; i < 128; i++) vocab[`tok${i}`] = i;
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: Object.entries(vocab)
      .slice(0, 5)
      .map(([c, id]) => addedToken(c, id)),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 64,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
    }),
  );
}

/** RoBERTa's kind: byte-level BPE over single letters (ids 4..), `<s> A </s>`, tokenizer_class RobertaTokenizer. */
export function writeByteLevelBpeTokenizer(dir: string): void {
  const specials = ['<s>', '<pad>', '</s>', '<unk>'];
  const vocab: Record<string, number> = Object.fromEntries(specials.map((t, i) => [t, i]));
  for (const c of 'Ġabcdefghijklmnopqrstuvwxyz') vocab[c] = Object.keys(vocab).length;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(addedToken),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', 2],
      cls: ['<s>', 0],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: [],
    },
  };
  const config = {
    tokenizer_class: 'RobertaTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    cls_token: '<s>',
    sep_token: '</s>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    model_max_length: 64,
  };
  writeTokenizer(dir, tokenizer, config);
}

/** ALBERT's / XLM-R's kind: Unigram with Metaspace; `cls A sep` with the given special tokens. */
export function writeUnigramTokenizer(dir: string, tokenizerClass: string, cls: string, sep: string): void {
  const specials = ['<pad>', '<unk>', cls, sep];
  const pieces: [string, number][] = specials.map((t) => [t, 0]);
  for (const w of ['▁hello', '▁world', '▁good', '▁day']) pieces.push([w, -1]);
  for (const c of '▁abcdefghijklmnopqrstuvwxyz') pieces.push([c, -4]);
  const metaspace = {
    type: 'Metaspace',
    replacement: '▁',
    add_prefix_space: true,
    prepend_scheme: 'always',
    split: true,
  };
  const template = (items: [string, number][]) =>
    items.map(([id, type_id]) =>
      id === 'A' || id === 'B' ? { Sequence: { id, type_id } } : { SpecialToken: { id, type_id } },
    );
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(addedToken),
    normalizer: null,
    pre_tokenizer: metaspace,
    post_processor: {
      type: 'TemplateProcessing',
      single: template([
        [cls, 0],
        ['A', 0],
        [sep, 0],
      ]),
      pair: template([
        [cls, 0],
        ['A', 0],
        [sep, 0],
        ['B', 1],
        [sep, 1],
      ]),
      special_tokens: Object.fromEntries(
        [cls, sep].map((t) => [t, { id: t, ids: [specials.indexOf(t)], tokens: [t] }]),
      ),
    },
    decoder: metaspace,
    model: { type: 'Unigram', unk_id: 1, vocab: pieces, byte_fallback: false },
  };
  const config = {
    tokenizer_class: tokenizerClass,
    cls_token: cls,
    sep_token: sep,
    pad_token: '<pad>',
    unk_token: '<unk>',
    model_max_length: 64,
  };
  writeTokenizer(dir, tokenizer, config);
}

function writeTokenizer(dir: string, tokenizer: object, config: object): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
}
