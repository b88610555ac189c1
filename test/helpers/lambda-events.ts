// The events Lambda hands the functions, as API Gateway's HTTP API and S3 send them.

/** An API Gateway HTTP API (payload 2.0) event, as the function URL and the HTTP API send it. */
export function httpEvent(
  method: string,
  path: string,
  o: { body?: unknown; token?: string; headers?: Record<string, string>; query?: string } = {},
) {
  const raw = o.body instanceof Uint8Array;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: o.query ?? '',
    queryStringParameters: o.query ? Object.fromEntries(new URLSearchParams(o.query)) : undefined,
    headers: {
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(o.body !== undefined && !raw ? { 'content-type': 'application/json' } : {}),
      ...o.headers,
    },
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'local',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'packaged-test' },
      requestId: `r-${method}-${path}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body:
      o.body === undefined
        ? undefined
        : raw
          ? Buffer.from(o.body as Uint8Array).toString('base64')
          : JSON.stringify(o.body),
    isBase64Encoded: raw,
  };
}

/** An S3 ObjectCreated notification for one key, as S3 sends it to a function. */
export function s3Event(bucket: string, key: string, versionId: string) {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 1, versionId, sequencer: '0' },
        },
      },
    ],
  };
}
