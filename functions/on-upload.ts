import type { S3Event } from 'aws-lambda';
import { defaultLog } from '../lib/log.js';
import { configFor, submitService } from './compose.js';

const config = configFor('bucket', 'queueUrl');
const service = submitService(config);

/** S3 ObjectCreated on incoming/**.root: a training job per covering trigger rule and object version. */
export async function handler(event: S3Event): Promise<{ jobs: string[] }> {
  const jobs: string[] = [];
  for (const r of event.Records ?? []) {
    const key = decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '));
    const version = r.s3.object.versionId ?? r.s3.object.eTag ?? r.s3.object.sequencer;
    jobs.push(...(await service.objectCreated({ bucket: r.s3.bucket.name, key, version })));
  }
  defaultLog({
    level: 'info',
    message: 'upload handled',
    records: event.Records?.length ?? 0,
    jobs,
  });
  return { jobs };
}
