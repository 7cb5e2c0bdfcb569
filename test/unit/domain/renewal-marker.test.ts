// The rotation marker's tags: within SLB's tag limits, read back exactly, half markers found.
import { describe, expect, it } from 'vitest';
import {
  answeredByExtensionDomain,
  parseRotationMarkers,
  ROTATION_TAG_PREFIX,
  rotationMarkerTags,
  TAG_KEY_MAX,
  TAG_VALUE_MAX,
} from '../../../shared/domain/renewal';

// The longest certificate id shape SLB documents: uid_hex_seconds_serial-region.
const LONG_ID = '1231579085529123_166f8204689_1714763408_709981430-cn-east-hangzhou-02';

describe('rotation markers', () => {
  it('round-trips through the tags, within 64-character keys and 128-character values', () => {
    const m = { ref: 'de-bp1rp7ta1abcdefghijk', from: LONG_ID, to: `${LONG_ID}x`, at: 1_764_547_200 };
    const tags = rotationMarkerTags(m);
    for (const t of tags) {
      expect(t.key.length).toBeLessThanOrEqual(TAG_KEY_MAX);
      expect(t.value.length).toBeLessThanOrEqual(TAG_VALUE_MAX);
    }
    expect(parseRotationMarkers([{ key: 'managed-by', value: 'slb-autopilot' }, ...tags])).toEqual({
      markers: [m],
      broken: [],
    });
  });

  it.each([
    ['ref', { ref: 'port 443', from: 'a', to: 'b', at: 1 }],
    ['from', { ref: '443', from: 'a;b', to: 'b', at: 1 }],
    ['to', { ref: '443', from: 'a', to: '', at: 1 }],
    ['at', { ref: '443', from: 'a', to: 'b', at: -1 }],
  ])('refuses a bad %s, naming it', (field, m) => {
    expect(() => rotationMarkerTags(m)).toThrow(`rotationMarker.${field}:`);
  });

  it('reports half a marker (or an unreadable value) as broken', () => {
    expect(
      parseRotationMarkers([
        { key: `${ROTATION_TAG_PREFIX}443:from`, value: 'id=a;at=1' },
        { key: `${ROTATION_TAG_PREFIX}de-1:from`, value: 'id=a;at=1' },
        { key: `${ROTATION_TAG_PREFIX}de-1:to`, value: 'garbage' },
      ]),
    ).toEqual({ markers: [], broken: ['443', 'de-1'] });
  });
});

describe('answeredByExtensionDomain', () => {
  it.each([
    ['www.mall.example.com', ['www.mall.example.com'], true],
    ['WWW.Mall.example.com.', ['www.mall.example.com'], true],
    ['mall.example.com', ['www.mall.example.com', 'm.mall.example.com'], false],
    ['a.example.com', ['*.example.com'], true],
    ['example.com', ['*.example.com'], false],
    ['a.b.example.com', ['*.example.com'], false],
    ['check.mall.example.com', ['m.mall.example.com'], false],
    ['mall.example.com', [], false],
  ])('%s with extension domains %j: %s', (servername, domains, expected) => {
    expect(answeredByExtensionDomain(servername, domains)).toBe(expected);
  });
});
