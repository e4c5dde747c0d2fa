import { describe, expect, it } from 'vitest';
import {
  admitSourceRequest,
  ChunkedBodyDecoder,
  parseSourceRequestHead,
  type SourceMount,
  type SourceRequestHead,
  sourceErrorResponse,
  streamInfoOf,
} from './icecast-source-protocol.js';

const text = (value: string) => Buffer.from(value, 'latin1');
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function head(method: string, path: string, headers: Record<string, string>): SourceRequestHead {
  return {
    method,
    path,
    query: new URLSearchParams(),
    version: 'HTTP/1.1',
    headers: new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
  };
}

const MOUNT: SourceMount = {
  mount: '/live.mp3',
  password: 'hackme',
  inUse: false,
  checkContentType: (contentType) =>
    contentType.startsWith('audio/') ? null : `Content-type ${contentType} not supported`,
};

describe('parseSourceRequestHead (RFC 9112 section 2)', () => {
  it('parses the request line, lower-cases header names, drops the query, finds the body', () => {
    const bytes = text(
      'PUT /live.mp3?x=1 HTTP/1.1\r\nContent-Type: audio/mpeg\r\nIce-Name:  Radio \r\n\r\nBODY',
    );
    const parsed = parseSourceRequestHead(bytes);
    expect(parsed).toMatchObject({ status: 'head', bodyOffset: bytes.length - 4 });
    if (parsed.status !== 'head') return;
    expect(parsed.head).toMatchObject({ method: 'PUT', path: '/live.mp3', version: 'HTTP/1.1' });
    expect(parsed.head.headers.get('ice-name')).toBe('Radio');
    expect(parsed.head.headers.get('content-type')).toBe('audio/mpeg');
  });

  it('takes bare LF line ends (old encoders)', () => {
    const parsed = parseSourceRequestHead(text('SOURCE /a HTTP/1.0\nContent-Type: audio/ogg\n\nX'));
    expect(parsed).toMatchObject({ status: 'head', bodyOffset: 44 });
  });

  it('waits for the empty line, and bounds the head', () => {
    expect(parseSourceRequestHead(text('PUT /a HTTP/1.1\r\nHost: x\r\n'))).toEqual({
      status: 'need-more',
    });
    expect(parseSourceRequestHead(text(`PUT /a HTTP/1.1\r\nX: ${'a'.repeat(100)}`), 64)).toEqual({
      status: 'too-large',
    });
  });

  it('refuses what is not an HTTP/1.x request', () => {
    expect(parseSourceRequestHead(text('hello there\r\n\r\n'))).toMatchObject({
      status: 'invalid',
    });
    expect(parseSourceRequestHead(text('PUT /a HTTP/1.1\r\nno colon\r\n\r\n'))).toMatchObject({
      status: 'invalid',
    });
  });
});

describe('admitSourceRequest, in Icecast 2.4 order', () => {
  const good = {
    Authorization: basic('source', 'hackme'),
    'Content-Type': 'audio/mpeg',
  };

  it.each([
    ['GET is not a source method', head('GET', '/live.mp3', good), MOUNT, 405],
    ['no password', head('PUT', '/live.mp3', { 'Content-Type': 'audio/mpeg' }), MOUNT, 401],
    [
      'a wrong password',
      head('PUT', '/live.mp3', { ...good, Authorization: basic('source', 'nope') }),
      MOUNT,
      401,
    ],
    [
      'a user other than source',
      head('PUT', '/live.mp3', { ...good, Authorization: basic('admin', 'hackme') }),
      MOUNT,
      401,
    ],
    ['another mount', head('PUT', '/other.mp3', good), MOUNT, 404],
    ['a mount in use', head('SOURCE', '/live.mp3', good), { ...MOUNT, inUse: true }, 403],
    [
      'no Content-Type',
      head('PUT', '/live.mp3', { Authorization: good.Authorization }),
      MOUNT,
      403,
    ],
    [
      'a Content-Type the cluster cannot carry',
      head('PUT', '/live.mp3', { ...good, 'Content-Type': 'text/html' }),
      MOUNT,
      403,
    ],
    [
      'an unknown Transfer-Encoding',
      head('PUT', '/live.mp3', { ...good, 'Transfer-Encoding': 'gzip' }),
      MOUNT,
      400,
    ],
  ] as const)('refuses %s', (_name, request, mount, status) => {
    expect(admitSourceRequest(request, mount)).toMatchObject({ ok: false, status });
  });

  it('answers with Icecast wording for the cases radios log', () => {
    const inUse = admitSourceRequest(head('PUT', '/live.mp3', good), { ...MOUNT, inUse: true });
    expect(inUse).toMatchObject({ message: 'Mountpoint in use' });
    const untyped = admitSourceRequest(
      head('SOURCE', '/live.mp3', { Authorization: good.Authorization }),
      MOUNT,
    );
    expect(untyped).toMatchObject({ message: 'No Content-type given' });
    const html = admitSourceRequest(
      head('PUT', '/live.mp3', { ...good, 'Content-Type': 'text/html; charset=utf-8' }),
      MOUNT,
    );
    expect(html).toMatchObject({ message: 'Content-type text/html not supported' });
  });

  it('admits PUT and SOURCE, with the body framing and Expect: 100-continue', () => {
    expect(
      admitSourceRequest(head('PUT', '/live.mp3', { ...good, Expect: '100-continue' }), MOUNT),
    ).toMatchObject({
      ok: true,
      contentType: 'audio/mpeg',
      expectContinue: true,
      framing: { kind: 'until-close' },
    });
    expect(
      admitSourceRequest(head('SOURCE', '/live.mp3', { ...good, 'Content-Length': '10' }), MOUNT),
    ).toMatchObject({ ok: true, expectContinue: false, framing: { kind: 'length', bytes: 10 } });
    expect(
      admitSourceRequest(
        head('PUT', '/live.mp3', { ...good, 'Transfer-Encoding': 'chunked' }),
        MOUNT,
      ),
    ).toMatchObject({ ok: true, framing: { kind: 'chunked' } });
  });
});

describe('streamInfoOf', () => {
  it('reads the ice-* headers, and the icy-* ones in their absence, as Icecast does', () => {
    const info = streamInfoOf(
      new Map([
        ['ice-name', 'Radio Libre'],
        ['ice-description', 'Community radio'],
        ['ice-url', 'https://radio.example'],
        ['icy-genre', 'Jazz'],
        ['ice-bitrate', '128'],
        ['ice-public', '1'],
        ['ice-audio-info', 'ice-samplerate=44100;ice-bitrate=128;ice-channels=2;title=A%20B'],
      ]),
    );
    expect(info).toEqual({
      name: 'Radio Libre',
      description: 'Community radio',
      url: 'https://radio.example',
      genre: 'Jazz',
      bitrate: 128,
      public: true,
      audioInfo: {
        'ice-samplerate': '44100',
        'ice-bitrate': '128',
        'ice-channels': '2',
        title: 'A B',
      },
    });
    expect(streamInfoOf(new Map([['icy-pub', '0']]))).toMatchObject({
      name: null,
      bitrate: null,
      public: false,
      audioInfo: {},
    });
  });
});

describe('ChunkedBodyDecoder (RFC 9112 section 7.1)', () => {
  it('decodes chunks split anywhere, extensions and trailers included', () => {
    const body = text(
      '4;x=y\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: 1\r\n\r\n',
    );
    for (let step = 1; step <= body.length; step += 1) {
      const decoder = new ChunkedBodyDecoder();
      const parts: Uint8Array[] = [];
      let ended = false;
      for (let offset = 0; offset < body.length; offset += step) {
        const result = decoder.push(body.subarray(offset, offset + step));
        parts.push(...result.data);
        ended = result.ended;
      }
      expect(Buffer.concat(parts).toString(), `step ${step}`).toBe('Wikipedia in\r\n\r\nchunks.');
      expect(ended).toBe(true);
    }
  });

  it('throws on a malformed size line or missing CRLF after the data', () => {
    expect(() => new ChunkedBodyDecoder().push(text('zz\r\n'))).toThrow(/chunk-size/);
    expect(() => new ChunkedBodyDecoder().push(text('2\r\nabX\r\n'))).toThrow(/CRLF/);
    expect(() => new ChunkedBodyDecoder().push(text('1'.repeat(2000)))).toThrow(/too long/);
  });
});

describe('sourceErrorResponse', () => {
  it('is an HTTP/1.0 answer with a text body; 401 asks for Basic auth', () => {
    const answer = sourceErrorResponse(401, 'You need to authenticate');
    expect(answer).toMatch(/^HTTP\/1\.0 401 /);
    expect(answer).toContain('WWW-Authenticate: Basic realm="Icecast2 Server"\r\n');
    expect(answer.endsWith('\r\n\r\nYou need to authenticate\n')).toBe(true);
    expect(sourceErrorResponse(403, 'Mountpoint in use')).not.toContain('WWW-Authenticate');
  });
});
