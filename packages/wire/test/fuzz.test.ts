import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRandom,
  DECODE_ERROR_CODES,
  type DecodeResult,
  decodeDatagram,
  decodeFrame,
  encodeDatagram,
  encodeFrame,
  FRAME_PREFIX_BYTES,
  FrameDecoder,
  type FrameMessage,
} from '../src/index.js';
import { datagramMessage, frameMessage } from './arbitraries.js';

/**
 * At least 100,000 random and mutated inputs, for datagrams and for FrameDecoder fed in
 * random slices: each decodes to a message or a typed error, never an exception. A decoded
 * message must also be canonical: encoding it again gives the same bytes.
 */

const INPUTS = 120_000;
const random = createRandom(0x5eed);
const randomInt = (bound: number) => Math.floor(random.next() * bound);
const VALID_TYPES = [0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19];

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = randomInt(256);
  return bytes;
}

/** Random bytes whose header is usually valid, so decoding gets past the first checks. */
function randomMessageBytes(): Uint8Array {
  const bytes = randomBytes(randomInt(80));
  if (bytes.length > 0 && random.next() < 0.9) bytes[0] = 1;
  if (bytes.length > 1 && random.next() < 0.8)
    bytes[1] = VALID_TYPES[randomInt(VALID_TYPES.length)]!;
  return bytes;
}

/** A valid encoding with bytes flipped, truncated or extended (or left alone). */
function mutate(valid: Uint8Array, skip: number): Uint8Array {
  switch (randomInt(5)) {
    case 0: {
      const bytes = valid.slice();
      for (let flips = 1 + randomInt(3); flips > 0; flips--) {
        const at = skip + randomInt(Math.max(1, bytes.length - skip));
        if (at < bytes.length)
          bytes[at] = random.next() < 0.5 ? randomInt(256) : bytes[at]! ^ (1 << randomInt(8));
      }
      return bytes;
    }
    case 1:
      return valid.slice(0, randomInt(valid.length));
    case 2: {
      const bytes = new Uint8Array(valid.length + 1 + randomInt(8));
      bytes.set(valid);
      bytes.set(randomBytes(bytes.length - valid.length), valid.length);
      return bytes;
    }
    case 3:
      return randomMessageBytes();
    default:
      return valid.slice();
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** What the decoders answered: problems found, as text, and how often each outcome came. */
class Outcomes {
  readonly problems: string[] = [];
  readonly #counts = new Map<string, number>();

  /** An error result must be typed, with a detail that tells of no internal failure. */
  check<T>(result: DecodeResult<T>, input: Uint8Array): void {
    if (result.ok) return;
    const { code, detail } = result.error;
    if (!DECODE_ERROR_CODES.includes(code) || typeof detail !== 'string') {
      this.problems.push(`untyped error ${JSON.stringify(result.error)} for ${hex(input)}`);
    } else if (detail.startsWith('internal')) {
      this.problems.push(`${detail} for ${hex(input)}`);
    }
  }

  /** Checks a result and counts its outcome (`ok` or the error code). */
  record<T>(result: DecodeResult<T>, input: Uint8Array): void {
    this.check(result, input);
    const key = result.ok ? 'ok' : result.error.code;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** No problem, and the mix reached every outcome named, not only the first check. */
  expectClean(outcomes: readonly string[]): void {
    expect(this.problems).toEqual([]);
    for (const outcome of outcomes) {
      expect(this.#counts.get(outcome) ?? 0, outcome).toBeGreaterThan(100);
    }
  }
}

// About 2 s and 5 s on an idle machine; the limit leaves room for a loaded 2-core CI runner.
describe('fuzzing the decoders', { timeout: 60_000 }, () => {
  it(`${INPUTS} random and mutated datagrams decode to a message or a typed error`, () => {
    const valid = fc.sample(datagramMessage, { numRuns: 2000, seed: 7 }).map(encodeDatagram);
    const outcomes = new Outcomes();
    const problems = outcomes.problems;
    for (let index = 0; index < INPUTS && problems.length < 5; index++) {
      const input = mutate(valid[randomInt(valid.length)]!, 0);
      let result: ReturnType<typeof decodeDatagram>;
      try {
        result = decodeDatagram(input);
      } catch (thrown) {
        problems.push(`threw ${String(thrown)} for ${hex(input)}`);
        continue;
      }
      outcomes.record(result, input);
      if (result.ok && !equalBytes(encodeDatagram(result.message), input)) {
        problems.push(`not canonical: ${hex(input)}`);
      }
    }
    outcomes.expectClean([
      'ok',
      'truncated',
      'bad-version',
      'unknown-type',
      'bad-length',
      'bad-value',
    ]);
  });

  it(`${INPUTS} random and mutated frame streams fed to FrameDecoder in random slices`, () => {
    const valid = fc.sample(frameMessage, { numRuns: 1000, seed: 11 }).map((m) => encodeFrame(m));
    const outcomes = new Outcomes();
    const problems = outcomes.problems;
    for (let index = 0; index < INPUTS && problems.length < 5; index++) {
      const frames = Array.from({ length: 1 + randomInt(3) }, () =>
        mutate(valid[randomInt(valid.length)]!, random.next() < 0.8 ? FRAME_PREFIX_BYTES : 0),
      );
      const stream = new Uint8Array(Buffer.concat(frames));
      const decoder = new FrameDecoder({ maxFrameBytes: random.next() < 0.5 ? 64 : undefined });
      try {
        let offset = 0;
        while (offset < stream.length) {
          const size = 1 + randomInt(64);
          decoder.push(stream.subarray(offset, offset + size));
          offset += size;
          for (const result of decoder) {
            outcomes.record(result, stream);
            if (result.ok) roundTrip(result.message, problems);
          }
        }
        if (decoder.bufferedBytes > stream.length) problems.push('bufferedBytes over input');
      } catch (thrown) {
        problems.push(`threw ${String(thrown)} for ${hex(stream)}`);
      }
      // The same bytes as one whole body, straight to decodeFrame.
      const body = frames[0]!.subarray(FRAME_PREFIX_BYTES);
      try {
        const result = decodeFrame(body);
        outcomes.check(result, body);
        if (result.ok && !equalBytes(encodeFrame(result.message).subarray(4), body)) {
          problems.push(`not canonical: ${hex(body)}`);
        }
      } catch (thrown) {
        problems.push(`decodeFrame threw ${String(thrown)} for ${hex(body)}`);
      }
    }
    outcomes.expectClean([
      'ok',
      'truncated',
      'bad-version',
      'unknown-type',
      'bad-value',
      'frame-too-large',
    ]);
  });
});

function roundTrip(message: FrameMessage, problems: string[]): void {
  const again = decodeFrame(encodeFrame(message).subarray(FRAME_PREFIX_BYTES));
  if (!again.ok)
    problems.push(`re-encoding ${message.type} does not decode: ${again.error.detail}`);
}
