// The FC 3.0 HTTP trigger edge, without sockets: request -> event (fcHttpEventSchema) and handler
// result -> response.
import { describe, expect, it } from 'vitest';
import {
  encodeBody,
  fromHandlerOutput,
  type PlainHttpRequest,
  toFcHttpEvent,
} from '../../../scripts/fc-runtime/http-event';
import { fcHttpEventSchema } from '../../../shared/runtime/fc-events';

const NOW = new Date('2023-09-05T06:41:11.895Z');
const CTX = {
  accountId: '1234567890123456',
  requestId: '1-64f6cd87-abc',
  now: NOW,
  domainName: 'abc.cn-hangzhou.fcapp.run',
};

function request(over: Partial<PlainHttpRequest> = {}): PlainHttpRequest {
  return {
    method: 'get',
    url: '/example',
    httpVersion: '1.1',
    headers: { host: ['abc.cn-hangzhou.fcapp.run'], 'user-agent': ['PostmanRuntime/7.32.3'] },
    sourceIp: '11.11.11.11',
    body: Buffer.alloc(0),
    ...over,
  };
}

describe('toFcHttpEvent', () => {
  it('builds the documented v1 event', () => {
    const event = toFcHttpEvent(request(), CTX);
    expect(event).toEqual({
      version: 'v1',
      rawPath: '/example',
      headers: { host: 'abc.cn-hangzhou.fcapp.run', 'user-agent': 'PostmanRuntime/7.32.3' },
      queryParameters: {},
      body: '',
      isBase64Encoded: false,
      requestContext: {
        accountId: '1234567890123456',
        domainName: 'abc.cn-hangzhou.fcapp.run',
        domainPrefix: 'abc',
        http: {
          method: 'GET',
          path: '/example',
          protocol: 'HTTP/1.1',
          sourceIp: '11.11.11.11',
          userAgent: 'PostmanRuntime/7.32.3',
        },
        requestId: '1-64f6cd87-abc',
        time: '2023-09-05T06:41:11Z',
        timeEpoch: '1693896071895',
      },
    });
    expect(fcHttpEventSchema.parse(event)).toEqual(event);
  });

  it('joins repeated query parameters and headers with ","', () => {
    const event = toFcHttpEvent(
      request({ url: '/q?a=1&a=2&b=x%20y&empty=', headers: { 'x-multi': ['v1', 'v2'], Accept: ['*/*'] } }),
      CTX,
    );
    expect(event.queryParameters).toEqual({ a: '1,2', b: 'x y', empty: '' });
    expect(event.headers).toEqual({ 'x-multi': 'v1,v2', accept: '*/*' });
  });

  it('keeps rawPath encoded and decodes requestContext.http.path', () => {
    const event = toFcHttpEvent(request({ url: '/a%20b/%E4%B8%AD?x=1' }), CTX);
    expect(event.rawPath).toBe('/a%20b/%E4%B8%AD');
    expect(event.requestContext.http.path).toBe('/a b/中');
  });

  it('passes UTF-8 text as is and anything else base64', () => {
    expect(toFcHttpEvent(request({ method: 'POST', body: Buffer.from('{"a":"é"}') }), CTX)).toMatchObject({
      body: '{"a":"é"}',
      isBase64Encoded: false,
    });
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x01]);
    expect(encodeBody(binary)).toEqual({ body: binary.toString('base64'), isBase64Encoded: true });
  });
});

describe('fromHandlerOutput', () => {
  it('maps a formatted response, dropping the headers FC manages', () => {
    const res = fromHandlerOutput({
      kind: 'json',
      value: {
        statusCode: 201,
        headers: {
          'Content-Type': 'application/json',
          'X-Custom': 'yes',
          'x-fc-request-id': 'forged',
          date: 'x',
        },
        body: '{"ok":true}',
      },
    });
    expect(res).toEqual({
      status: 201,
      headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
      body: Buffer.from('{"ok":true}'),
    });
  });

  it('decodes a base64 body', () => {
    const res = fromHandlerOutput({
      kind: 'json',
      value: { statusCode: 200, body: Buffer.from([1, 2, 255]).toString('base64'), isBase64Encoded: true },
    });
    expect([...res.body]).toEqual([1, 2, 255]);
  });

  it('answers 200 with the result itself when it is not a formatted response', () => {
    expect(fromHandlerOutput({ kind: 'json', value: { hello: 'world' } })).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"hello":"world"}'),
    });
    expect(fromHandlerOutput({ kind: 'text', value: 'hi' })).toMatchObject({
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: Buffer.from('hi'),
    });
    expect(fromHandlerOutput({ kind: 'buffer', value: Buffer.from([7]) })).toMatchObject({
      status: 200,
      body: Buffer.from([7]),
    });
    expect(fromHandlerOutput({ kind: 'empty' })).toEqual({ status: 200, headers: {}, body: Buffer.alloc(0) });
  });

  it('serialises a non-string body and refuses an impossible status', () => {
    expect(
      fromHandlerOutput({ kind: 'json', value: { statusCode: 200, body: { a: 1 } } }).body.toString(),
    ).toBe('{"a":1}');
    expect(fromHandlerOutput({ kind: 'json', value: { statusCode: 1000 } }).status).toBe(502);
  });
});
