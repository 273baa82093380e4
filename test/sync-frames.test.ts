/** The sync wire's frames: Cap'n Web messages with their bytes carried raw, decoded exactly. */
import { serialize } from 'capnweb';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, frameTransport } from '../sync/frames.ts';

describe('sync frames', () => {
  it('a message without bytes is the same text Cap’n Web sends', () => {
    const message = ['push', ['pipeline', 0, ['hello'], [[{ replica: 'r-1' }]]]];
    const frame = encodeFrame(structuredClone(message));
    expect(frame).toBe(JSON.stringify(message));
    expect(decodeFrame(frame)).toEqual(message);
  });

  it('bytes travel raw after the JSON, each exactly once, and come back equal', () => {
    const a = new Uint8Array(65_536).map((_, i) => i * 7);
    const b = new Uint8Array([1, 2, 3]);
    const message = [
      'resolve',
      1,
      [
        [
          { hash: 'h', bytes: ['bytes', a] },
          { hash: 'g', bytes: ['bytes', b] },
        ],
      ],
    ];
    const frame = encodeFrame(structuredClone(message)) as Uint8Array;
    expect(frame).toBeInstanceOf(Uint8Array);
    // Base64 in JSON would be 87,382 characters for the first array alone.
    expect(frame.byteLength).toBeLessThan(a.byteLength + b.byteLength + 200);
    expect(decodeFrame(frame)).toEqual(message);
  });

  it('data that looks like a marker stays data', () => {
    // An application array is escaped as [[...]]: a look-alike inside it is not a bytes form.
    const lookalike = [['bytes', { $b: [0, 3] }]];
    const message = ['resolve', 2, [[lookalike, ['bytes', new Uint8Array([9, 9, 9])]]]];
    expect(decodeFrame(encodeFrame(structuredClone(message)))).toEqual(message);
  });

  it('encodes what Cap’n Web itself devalues', () => {
    const value = { objects: [{ hash: 'x', bytes: new Uint8Array([5, 6]) }], note: ['bytes', 1] };
    const text = serialize(value);
    expect(decodeFrame(text)).toEqual(JSON.parse(text));
  });

  it('refuses a truncated frame, a marker past the end, and a frame over the limit', async () => {
    const frame = encodeFrame(['resolve', 1, ['bytes', new Uint8Array(10)]]) as Uint8Array;
    expect(() => decodeFrame(frame.subarray(0, 3))).toThrow(TypeError);
    expect(() => decodeFrame(frame.subarray(0, frame.byteLength - 1))).toThrow(/past the end/);
    const transport = frameTransport({ send: () => undefined, receive: async () => frame }, 16);
    await expect(transport.receive()).rejects.toThrow(/exceeds 16/);
  });
});
