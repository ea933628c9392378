/**
 * Tokenizer loading and `tokenizer(a, b, truncation=True)` encoding.
 *
 * `@huggingface/tokenizers` turns text into ids but has no truncation, so each text is encoded without
 * special tokens, truncated here exactly as the Rust `tokenizers` crate (what transformers' fast
 * tokenizers run) does, and the model's post-processor template ([CLS] A [SEP] B [SEP] for BERT) is applied.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { type HubOptions, hubDownloadOptional } from './hub.js';

/** Largest sequence length we default to, whatever the model declares. */
export const MAX_DEFAULT_LENGTH = 512;

export interface Encoded {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
}

type TemplatePiece = { special: number[]; typeId: number } | { sequence: 0 | 1; typeId: number };

interface Template {
  single: TemplatePiece[];
  pair: TemplatePiece[];
}

type Json = Record<string, unknown>;

function specialIds(piece: TemplatePiece[]): number {
  return piece.reduce((n, p) => n + ('special' in p ? p.special.length : 0), 0);
}

/** The template's pieces for a single text and for a pair. */
const allPieces = (t: Template): TemplatePiece[] => [...t.single, ...t.pair];

/** Compiles a tokenizer.json `post_processor` into single/pair templates. */
function compileTemplate(pp: Json | null | undefined, vocab: Map<string, number>): Template {
  if (!pp)
    return {
      single: [{ sequence: 0, typeId: 0 }],
      pair: [
        { sequence: 0, typeId: 0 },
        { sequence: 1, typeId: 1 },
      ],
    };
  const type = pp.type as string;
  if (type === 'Sequence') {
    const inner = (pp.processors as Json[]).filter((p) => p.type !== 'ByteLevel');
    if (inner.length > 1) throw new Error('unsupported post_processor: a Sequence of several templates');
    return compileTemplate(inner[0], vocab);
  }
  if (type === 'BertProcessing' || type === 'RobertaProcessing') {
    const [, clsId] = pp.cls as [string, number];
    const [, sepId] = pp.sep as [string, number];
    const cls = { special: [clsId], typeId: 0 };
    const sep = { special: [sepId], typeId: 0 };
    if (type === 'RobertaProcessing') {
      return {
        single: [cls, { sequence: 0, typeId: 0 }, sep],
        pair: [cls, { sequence: 0, typeId: 0 }, sep, sep, { sequence: 1, typeId: 0 }, sep],
      };
    }
    return {
      single: [cls, { sequence: 0, typeId: 0 }, sep],
      pair: [
        cls,
        { sequence: 0, typeId: 0 },
        sep,
        { sequence: 1, typeId: 1 },
        { special: [sepId], typeId: 1 },
      ],
    };
  }
  if (type === 'TemplateProcessing') {
    const specials = (pp.special_tokens ?? {}) as Record<string, { ids: number[] }>;
    const compile = (items: Json[]): TemplatePiece[] =>
      items.map((item) => {
        if (item.SpecialToken) {
          const { id, type_id } = item.SpecialToken as { id: string; type_id: number };
          const ids = specials[id]?.ids ?? (vocab.has(id) ? [vocab.get(id)!] : undefined);
          if (!ids) throw new Error(`post_processor template names unknown special token "${id}"`);
          return { special: ids, typeId: type_id };
        }
        const { id, type_id } = item.Sequence as { id: string; type_id: number };
        return { sequence: id === 'B' ? 1 : 0, typeId: type_id };
      });
    return { single: compile(pp.single as Json[]), pair: compile(pp.pair as Json[]) };
  }
  throw new Error(`unsupported post_processor type "${type}"`);
}

/**
 * Pair `longest_first` truncation as in the Rust `tokenizers` crate (utils/truncation.rs): given the
 * un-truncated lengths and the budget `max` (max length minus special tokens), returns the kept lengths.
 * If only the longer side must shrink it keeps `max - shorter`; if both must, the shorter keeps
 * `floor(max/2)` and the longer `ceil(max/2)` (on a tie the second sequence is the "longer").
 */
export function longestFirstLengths(n1: number, n2: number, max: number): [number, number] {
  if (n1 + n2 <= max) return [n1, n2];
  const swap = n1 > n2;
  let short = swap ? n2 : n1;
  let long: number;
  long = short > max ? short : Math.max(short, max - short);
  if (short + long > max) {
    short = Math.floor(max / 2);
    long = short + (max % 2);
  }
  return swap ? [long, short] : [short, long];
}

export interface TokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizer: Json;
  /** Parsed tokenizer_config.json ({} when absent). */
  config?: Json;
  /** Parsed model config.json, for `max_position_embeddings`. */
  modelConfig?: Json;
}

/** Builds the tokenizer.json equivalent of a BERT folder that only has vocab.txt (+ tokenizer_config). */
export function bertTokenizerJsonFromVocab(vocabText: string, config: Json = {}): Json {
  const tokens = vocabText.split(/\r?\n/);
  if (tokens[tokens.length - 1] === '') tokens.pop();
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  const name = (key: string, dflt: string) =>
    typeof config[key] === 'string' ? (config[key] as string) : dflt;
  const [unk, sep, pad, cls, mask] = [
    name('unk_token', '[UNK]'),
    name('sep_token', '[SEP]'),
    name('pad_token', '[PAD]'),
    name('cls_token', '[CLS]'),
    name('mask_token', '[MASK]'),
  ];
  for (const t of [unk, sep, cls]) {
    if (vocab[t] === undefined) throw new Error(`vocab.txt has no "${t}" token`);
  }
  const added = [pad, unk, cls, sep, mask]
    .filter((t) => vocab[t] !== undefined)
    .map((t) => ({
      id: vocab[t],
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }))
    .sort((a, b) => a.id! - b.id!);
  const special = (t: string) => ({ id: t, ids: [vocab[t]], tokens: [t] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null,
      lowercase: config.do_lower_case ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: { [cls]: special(cls), [sep]: special(sep) },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** Words memoized per tokenizer before the cache is cleared (bounds memory on huge corpora). */
const WORD_CACHE_LIMIT = 200_000;

/**
 * WordPiece maps each pre-tokenized word to sub-tokens independently of its context, and it is ~40% of
 * encode time in tokenizers.js; words repeat a lot in a corpus, so memoize the model per word.
 */
function memoizeWords(tok: Tokenizer): void {
  const model = tok.model as unknown as { encode(tokens: string[]): string[] };
  const encodeWords = model.encode.bind(model);
  const cache = new Map<string, string[]>();
  model.encode = (words: string[]): string[] => {
    const out: string[] = [];
    for (const w of words) {
      let pieces = cache.get(w);
      if (pieces === undefined) {
        pieces = encodeWords([w]);
        if (cache.size >= WORD_CACHE_LIMIT) cache.clear();
        cache.set(w, pieces);
      }
      for (const p of pieces) out.push(p);
    }
    return out;
  };
}

export class TextTokenizer {
  /** Default max length: min(model_max_length, max_position_embeddings, 512). */
  readonly modelMaxLength: number;
  readonly padTokenId: number;
  /** One more than the largest id it can emit: its vocabulary, added tokens and the template's special tokens. */
  readonly vocabSize: number;
  /** One more than the largest token type id its template gives (2 for BERT's pairs, 1 for RoBERTa's). */
  readonly typeVocabSize: number;
  /** sha256 of the tokenizer definition and config: keys cached tokenizations. */
  readonly fingerprint: string;
  private readonly tok: Tokenizer;
  private readonly template: Template;
  /** The definition and config it was built from, written back by savePretrained. */
  private readonly files: { tokenizer: Json; config: Json };

  constructor(files: TokenizerFiles) {
    const config = files.config ?? {};
    this.files = { tokenizer: files.tokenizer, config };
    this.tok = new Tokenizer(files.tokenizer, config);
    if ((files.tokenizer.model as Json | undefined)?.type === 'WordPiece') memoizeWords(this.tok);
    this.fingerprint = createHash('sha256')
      .update(JSON.stringify([files.tokenizer, config]))
      .digest('hex');
    const vocab = this.tok.get_vocab(true);
    this.template = compileTemplate(files.tokenizer.post_processor as Json | null, vocab);
    const pieces = allPieces(this.template);
    let maxId = -1;
    for (const id of vocab.values()) maxId = Math.max(maxId, id); // no spread: vocabularies reach 250k ids
    for (const p of pieces) if ('special' in p) maxId = Math.max(maxId, ...p.special);
    this.vocabSize = maxId + 1;
    this.typeVocabSize = Math.max(...pieces.map((p) => p.typeId)) + 1;
    const limits = [MAX_DEFAULT_LENGTH, config.model_max_length, files.modelConfig?.max_position_embeddings];
    this.modelMaxLength = Math.min(...limits.filter((v): v is number => typeof v === 'number' && v > 0));
    // pad_token is a string or, in older tokenizer_config.json files, an AddedToken object ({ content }).
    const configured = config.pad_token as string | { content?: string } | undefined;
    const padToken = (typeof configured === 'object' ? configured?.content : configured) ?? '[PAD]';
    const pad =
      this.tok.token_to_id(padToken) ??
      (files.tokenizer.padding as { pad_id?: number } | null)?.pad_id ??
      (files.modelConfig?.pad_token_id as number | undefined);
    this.padTokenId = pad ?? 0;
  }

  /**
   * Loads from a local folder (tokenizer.json [+ tokenizer_config.json, config.json], or a BERT folder with
   * only vocab.txt) or, when `pathOrId` is not a folder, from the hub repo of that id (cached).
   */
  static async fromPretrained(pathOrId: string, hub: HubOptions = {}): Promise<TextTokenizer> {
    const names = ['tokenizer.json', 'tokenizer_config.json', 'config.json', 'vocab.txt'] as const;
    let paths: (string | null)[];
    if (existsSync(pathOrId)) {
      paths = names.map((n) => (existsSync(join(pathOrId, n)) ? join(pathOrId, n) : null));
    } else {
      paths = [];
      for (const n of names) {
        // vocab.txt is only needed when the repo has no tokenizer.json.
        paths.push(n === 'vocab.txt' && paths[0] ? null : await hubDownloadOptional(pathOrId, n, hub));
      }
    }
    const [tokJson, cfgJson, modelJson, vocabTxt] = paths;
    const readJson = async (p: string | null | undefined): Promise<Json | undefined> => {
      if (!p) return undefined;
      try {
        return JSON.parse(await readFile(p, 'utf8')) as Json;
      } catch (e) {
        throw new Error(`${p}: not valid JSON (${(e as Error).message})`);
      }
    };
    const config = (await readJson(cfgJson)) ?? {};
    const modelConfig = await readJson(modelJson);
    let tokenizer = await readJson(tokJson);
    if (!tokenizer) {
      if (!vocabTxt) {
        throw new Error(
          `${pathOrId}: no tokenizer.json or vocab.txt found (local folder or hub repo, cache/offline included)`,
        );
      }
      tokenizer = bertTokenizerJsonFromVocab(await readFile(vocabTxt, 'utf8'), config);
    }
    return new TextTokenizer({ tokenizer, config, ...(modelConfig ? { modelConfig } : {}) });
  }

  /**
   * Like transformers' `save_pretrained`: writes the tokenizer.json and tokenizer_config.json this tokenizer
   * was built from into `dir` (a folder with only vocab.txt gets the tokenizer.json built from it), so the
   * folder loads back here and in transformers.js. Returns the paths written.
   */
  savePretrained(dir: string): string[] {
    mkdirSync(dir, { recursive: true });
    const written = [join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json')];
    writeFileSync(written[0]!, JSON.stringify(this.files.tokenizer));
    writeFileSync(written[1]!, `${JSON.stringify(this.files.config, null, 2)}\n`);
    return written;
  }

  /** Ids of `text` without special tokens. */
  encodeIds(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Special tokens the template adds for a single text or a pair. */
  numSpecialTokens(pair: boolean): number {
    return specialIds(pair ? this.template.pair : this.template.single);
  }

  /**
   * Like transformers' `tokenizer(a, b, truncation=True, max_length=maxLength)`: longest_first truncation
   * to `maxLength` (default modelMaxLength) including special tokens.
   */
  encode(a: string, b?: string, maxLength = this.modelMaxLength): Encoded {
    return this.encodeFromIds(this.encodeIds(a), b === undefined ? undefined : this.encodeIds(b), maxLength);
  }

  /** Truncates already-encoded texts and applies the template (the hot path of tokenizeDataset). */
  encodeFromIds(idsA: number[], idsB: number[] | undefined, maxLength = this.modelMaxLength): Encoded {
    const pair = idsB !== undefined;
    const budget = Math.max(0, maxLength - this.numSpecialTokens(pair));
    const [na, nb] = pair
      ? longestFirstLengths(idsA.length, idsB.length, budget)
      : [Math.min(idsA.length, budget), 0];
    const inputIds: number[] = [];
    const tokenTypeIds: number[] = [];
    for (const piece of pair ? this.template.pair : this.template.single) {
      if ('special' in piece) {
        for (const id of piece.special) {
          inputIds.push(id);
          tokenTypeIds.push(piece.typeId);
        }
      } else {
        const [ids, n] = piece.sequence === 0 ? [idsA, na] : [idsB!, nb];
        for (let i = 0; i < n; i++) {
          inputIds.push(ids[i]!);
          tokenTypeIds.push(piece.typeId);
        }
      }
    }
    return { inputIds, tokenTypeIds, attentionMask: new Array<number>(inputIds.length).fill(1) };
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return this.tok.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }
}
