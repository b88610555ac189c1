import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

type Resource = { Type: string; Properties: Record<string, unknown> };
let resources: Record<string, Resource>;

beforeAll(async () => {
  // `serverless package` needs no AWS credentials: it only writes the CloudFormation template
  await promisify(execFile)('npx', ['serverless', 'package', '--stage', 'ci'], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    timeout: 240_000,
  });
  resources = JSON.parse(
    await readFile('.serverless/cloudformation-template-update-stack.json', 'utf8'),
  ).Resources;
}, 300_000);

const ofType = (t: string) => Object.entries(resources).filter(([, r]) => r.Type === t);

describe('the deployable stack (serverless package)', () => {
  it('declares every function on the nodejs22.x runtime, with the HTTP API and a function URL for predict', () => {
    const fns = ofType('AWS::Lambda::Function').map(([k]) => k);
    for (const f of ['Submit', 'Jobs', 'Models', 'Predict', 'OnUpload'])
      expect(fns).toContain(`${f}LambdaFunction`);
    for (const [, r] of ofType('AWS::Lambda::Function').filter(([k]) => !k.startsWith('Custom'))) {
      expect(r.Properties.Runtime).toBe('nodejs22.x');
    }
    expect(ofType('AWS::ApiGatewayV2::Api')).toHaveLength(1);
    expect(ofType('AWS::Lambda::Url').map(([k]) => k)).toEqual(['PredictLambdaFunctionUrl']);
  });

  it('has the job queue with a dead-letter queue after 3 receives', () => {
    const q = resources.JobQueue.Properties as { RedrivePolicy: { maxReceiveCount: number } };
    expect(q.RedrivePolicy.maxReceiveCount).toBe(3);
    expect(resources.JobDeadLetterQueue.Type).toBe('AWS::SQS::Queue');
  });

  it('keeps the bucket private and encrypted', () => {
    expect(resources.DataBucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('grants no wildcard action on "*" resources', () => {
    for (const [name, r] of ofType('AWS::IAM::Role')) {
      const policies = (r.Properties.Policies ?? []) as Array<{
        PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> };
      }>;
      for (const p of policies) {
        for (const s of p.PolicyDocument.Statement) {
          const actions = ([] as string[]).concat(s.Action);
          const wildAction = actions.some((a) => a === '*' || a.endsWith(':*'));
          const wildResource = ([] as unknown[]).concat(s.Resource).some((x) => x === '*');
          expect(wildAction && wildResource, `${name}: ${actions.join(',')} on *`).toBe(false);
        }
      }
    }
  });
});
