import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../lib/service/route-table.js';
import { packageStack } from '../helpers/packaged.js';

type Resource = { Type: string; Properties: Record<string, unknown>; Condition?: string };
type Parameter = { Type: string; Default?: unknown; AllowedPattern?: string; AllowedValues?: string[] };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
let resources: Record<string, Resource>;
let parameters: Record<string, Parameter>;

beforeAll(async () => {
  // `serverless package` needs no AWS credentials: it only writes the CloudFormation template (and
  // the zips test/integration/packaged.test.ts runs; one packaging serves both)
  const { template } = await packageStack();
  resources = template.Resources;
  parameters = template.Parameters;
}, 600_000);

const ofType = (t: string) => Object.entries(resources).filter(([, r]) => r.Type === t);
const lambdas = () => ofType('AWS::Lambda::Function').filter(([k]) => !k.startsWith('Custom'));

/** An intrinsic as text: {Ref: X} → <X>, GetAtt → <X.Attr>, Join → its parts joined. */
function show(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if ('Ref' in o) return `<${o.Ref}>`;
  if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(show).join(sep);
  }
  return JSON.stringify(v);
}

function statements(role: string): Statement[] {
  const policies = (resources[role].Properties.Policies ?? []) as Array<{
    PolicyDocument: { Statement: Statement[] };
  }>;
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

/** Every action a role allows, each with the resources it applies to (as text), sorted. */
function grants(role: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of statements(role)) {
    expect(s.Effect).toBe('Allow');
    for (const a of ([] as string[]).concat(s.Action)) {
      out[a] = [...(out[a] ?? []), ...([] as unknown[]).concat(s.Resource).map(show)].sort();
    }
  }
  return out;
}

const roleOf = (fn: string) =>
  (resources[`${fn}LambdaFunction`].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

const bucket = (prefix: string) => `<DataBucket.Arn>/${prefix}*`;
const QUEUE = '<JobQueue.Arn>';
const BUCKET = '<DataBucket.Arn>';

describe('the deployable stack (serverless package)', () => {
  it('declares every function on the nodejs22.x runtime, with the HTTP API and a function URL for predict', () => {
    const fns = ofType('AWS::Lambda::Function').map(([k]) => k);
    for (const f of ['Submit', 'Jobs', 'Models', 'Predict', 'Data', 'Console', 'OnUpload'])
      expect(fns).toContain(`${f}LambdaFunction`);
    for (const [, r] of lambdas()) expect(r.Properties.Runtime).toBe('nodejs22.x');
    expect(ofType('AWS::ApiGatewayV2::Api')).toHaveLength(1);
    expect(ofType('AWS::Lambda::Url').map(([k]) => k)).toEqual(['PredictLambdaFunctionUrl']);
  });

  it("routes exactly the route table's rows, each to the function the table names", () => {
    const fnOf = (integration: string) => {
      const uri = resources[integration].Properties.IntegrationUri as { 'Fn::GetAtt': [string, string] };
      return uri['Fn::GetAtt'][0].replace(/LambdaFunction$/, '');
    };
    const shipped = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => {
        const target = show(r.Properties.Target);
        return `${r.Properties.RouteKey} -> ${fnOf(/^integrations\/<(.+)>$/.exec(target)![1])}`;
      })
      .sort();
    const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
    const table = ROUTES.map((r) => `${routeKey(r)} -> ${cap(r.fn)}`).sort();
    expect(shipped).toEqual(table);
  });

  it('has the job queue with a dead-letter queue after 3 receives', () => {
    const q = resources.JobQueue.Properties as {
      RedrivePolicy: { maxReceiveCount: number; deadLetterTargetArn: unknown };
    };
    expect(q.RedrivePolicy.maxReceiveCount).toBe(3);
    expect(show(q.RedrivePolicy.deadLetterTargetArn)).toBe('<JobDeadLetterQueue.Arn>');
    expect(resources.JobDeadLetterQueue.Type).toBe('AWS::SQS::Queue');
  });

  it('keeps the bucket private, encrypted, and beyond the life of the stack', () => {
    expect(resources.DataBucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(resources.DataBucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(resources.DataBucket.Properties.BucketEncryption).toBeDefined();
  });

  it('sends .root files created under incoming/ to the onUpload function', () => {
    const [[, n]] = ofType('Custom::S3');
    const p = n.Properties as {
      FunctionName: string;
      BucketName: unknown;
      BucketConfigs: Array<{ Event: string; Rules: Array<Record<string, string>> }>;
    };
    expect(p.FunctionName).toBe('mlaas4hep-ci-onUpload');
    expect(show(p.BucketName)).toBe('<DataBucket>');
    expect(p.BucketConfigs).toEqual([
      { Event: 's3:ObjectCreated:*', Rules: [{ Prefix: 'incoming/' }, { Suffix: '.root' }] },
    ]);
  });

  it('gives the token issuer, audience and JWKS URI as stack parameters to every function', () => {
    for (const p of ['JwtIssuer', 'JwtJwksUri']) {
      expect(parameters[p].AllowedPattern).toBe('^https://\\S+$');
      expect(parameters[p].Default).toMatch(/^https:\/\//);
    }
    expect(parameters.JwtAudience.Type).toBe('String');
    for (const [name, r] of lambdas()) {
      const env = (r.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.MLAAS4HEP_JWT_ISSUER, name).toEqual({ Ref: 'JwtIssuer' });
      expect(env.MLAAS4HEP_JWT_AUDIENCE, name).toEqual({ Ref: 'JwtAudience' });
      expect(env.MLAAS4HEP_JWT_JWKS_URI, name).toEqual({ Ref: 'JwtJwksUri' });
      // development keys are for the local stage only
      expect(env.MLAAS4HEP_DEV_ISSUER, name).toBe('');
      expect(env.MLAAS4HEP_DEV_JWKS, name).toBe('');
    }
  });

  it('keeps a log group with a retention for every function and for the trainer', () => {
    for (const [name, r] of lambdas()) {
      const group = `${name.replace(/LambdaFunction$/, '')}LogGroup`;
      expect(resources[group].Type, name).toBe('AWS::Logs::LogGroup');
      expect(resources[group].Properties.RetentionInDays, name).toBe(30);
      expect(resources[group].Properties.LogGroupName).toBe(`/aws/lambda/${r.Properties.FunctionName}`);
    }
    expect(resources.TrainerLogGroup.Properties.RetentionInDays).toBe(30);
  });

  it('gives each function its own role, and no provider-wide one', () => {
    const roles = lambdas().map(([name]) => roleOf(name.replace(/LambdaFunction$/, '')));
    expect(new Set(roles).size).toBe(roles.length);
    for (const r of roles) expect(resources[r].Type).toBe('AWS::IAM::Role');
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it("allows each function exactly what its handler reads and writes, under the bucket's prefixes", () => {
    const own = (fn: string) => ({
      'logs:CreateLogStream': [`<${fn}LogGroup.Arn>`],
      'logs:PutLogEvents': [`<${fn}LogGroup.Arn>`],
    });
    // submit: the job record (create, mark enqueued), the model name's owner record, and the message
    const OWNER = `${BUCKET}/models/*/OWNER`;
    expect(grants(roleOf('Submit'))).toEqual({
      ...own('Submit'),
      's3:GetObject': [bucket('jobs/'), OWNER],
      's3:PutObject': [bucket('jobs/'), OWNER],
      's3:ListBucket': [BUCKET],
      'sqs:SendMessage': [QUEUE],
    });
    // jobs: list, read, logs, cancel (a record update); never the queue
    expect(grants(roleOf('Jobs'))).toEqual({
      ...own('Jobs'),
      's3:GetObject': [bucket('jobs/')],
      's3:PutObject': [bucket('jobs/')],
      's3:ListBucket': [BUCKET],
    });
    // models: the registry (upload, delete) and the trigger rules
    expect(grants(roleOf('Models'))).toEqual({
      ...own('Models'),
      's3:GetObject': [bucket('models/'), bucket('triggers/')],
      's3:PutObject': [bucket('models/'), bucket('triggers/')],
      's3:DeleteObject': [bucket('models/'), bucket('triggers/')],
      's3:ListBucket': [BUCKET],
    });
    // predict: model bundles, read only
    const predict = grants(roleOf('Predict'));
    expect(predict).toEqual({
      ...own('Predict'),
      's3:GetObject': [bucket('models/')],
      's3:ListBucket': [BUCKET],
    });
    expect(predict['sqs:SendMessage']).toBeUndefined();
    expect(predict['s3:PutObject']).toBeUndefined();
    // data: lists and inspects training data; PutObject only so that its presigned URLs may upload
    expect(grants(roleOf('Data'))).toEqual({
      ...own('Data'),
      's3:GetObject': [bucket('data/'), bucket('incoming/')],
      's3:PutObject': [bucket('data/'), bucket('incoming/')],
      's3:ListBucket': [BUCKET],
    });
    // console: serves the files in its own package, nothing else
    expect(grants(roleOf('Console'))).toEqual(own('Console'));
    // onUpload: reads the rules, submits jobs like /submit; the uploaded object is only named, not read
    expect(grants(roleOf('OnUpload'))).toEqual({
      ...own('OnUpload'),
      's3:GetObject': [bucket('jobs/'), OWNER, bucket('triggers/')],
      's3:PutObject': [bucket('jobs/'), OWNER],
      's3:ListBucket': [BUCKET],
      'sqs:SendMessage': [QUEUE],
    });
  });

  it("grants no wildcard action, and '*' resources only to actions without resource-level permissions", () => {
    const unscoped = new Set(['ecr:GetAuthorizationToken', 'ecs:DiscoverPollEndpoint']);
    const roles = ofType('AWS::IAM::Role');
    expect(roles.map(([k]) => k)).toEqual(
      expect.arrayContaining(['TrainerTaskRole', 'TrainerExecutionRole', 'GpuInstanceRole']),
    );
    for (const [name, r] of roles) {
      expect(r.Properties.ManagedPolicyArns, `${name} has managed policies`).toBeUndefined();
      for (const s of statements(name)) {
        const actions = ([] as string[]).concat(s.Action);
        const wildAction = actions.some((a) => a === '*' || a.endsWith(':*'));
        const wildResource = ([] as unknown[]).concat(s.Resource).some((x) => x === '*');
        expect(wildAction, `${name}: ${actions.join(',')}`).toBe(false);
        if (wildResource) for (const a of actions) expect(unscoped.has(a), `${name}: ${a} on *`).toBe(true);
      }
    }
  });

  it('attaches the onnxruntime layer to predict only', () => {
    expect(parameters.OnnxRuntimeLayerArn.AllowedPattern).toMatch(/^\^arn:aws/);
    for (const [name, r] of lambdas())
      expect(r.Properties.Layers, name).toEqual(
        name === 'PredictLambdaFunction' ? [{ Ref: 'OnnxRuntimeLayerArn' }] : undefined,
      );
  });

  it('starts no function with --enable-source-maps (a source map read at cold start doubled the import)', () => {
    for (const [name, r] of lambdas()) {
      const env = (r.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(String(env.NODE_OPTIONS ?? ''), name).not.toContain('source-maps');
    }
  });

  it('runs the trainer as a Fargate service of the queue consumer, sized by stack parameters', () => {
    expect(resources.TrainerCluster.Type).toBe('AWS::ECS::Cluster');
    const cps = resources.TrainerCapacityProviders.Properties;
    expect(cps.Cluster).toEqual({ Ref: 'TrainerCluster' });
    const td = resources.TrainerTaskDefinition;
    expect(td.Type).toBe('AWS::ECS::TaskDefinition');
    const p = td.Properties as Record<string, unknown> & {
      ContainerDefinitions: Array<Record<string, unknown>>;
    };
    // Fargate unless the GPU option is chosen
    expect(p.RequiresCompatibilities).toEqual([{ 'Fn::If': ['TrainerOnGpu', 'EC2', 'FARGATE'] }]);
    expect(p.NetworkMode).toEqual({ 'Fn::If': ['TrainerOnGpu', 'bridge', 'awsvpc'] });
    expect(p.Cpu).toEqual({ Ref: 'TrainerCpu' });
    expect(p.Memory).toEqual({ Ref: 'TrainerMemory' });
    expect(parameters.TrainerCpu.Default).toBe('2048');
    expect(parameters.TrainerCpu.AllowedValues).toContain('4096');
    expect(parameters.TrainerMemory.Default).toBe('8192');
    expect(parameters.TrainerGpu.Default).toBe('false');
    expect(show(p.ExecutionRoleArn)).toBe('<TrainerExecutionRole.Arn>');
    expect(show(p.TaskRoleArn)).toBe('<TrainerTaskRole.Arn>');
    const [c] = p.ContainerDefinitions;
    expect(c.Image).toEqual({ Ref: 'TrainerImage' });
    expect(parameters.TrainerImage.Type).toBe('String');
    expect(c.User).toBe('node');
    // `mlaas4hep worker` on the stack's bucket and queue, whatever the image's default entry
    expect(c.EntryPoint).toEqual(['node', 'dist/bin/mlaas4hep.js']);
    expect((c.Command as unknown[]).map(show)).toEqual([
      'worker',
      '--store',
      's3://<DataBucket>',
      '--queue',
      '<JobQueue>',
      '--dead-letter-queue',
      '<JobDeadLetterQueue>',
    ]);
    expect(c.StopTimeout).toBe(120);
    const logs = (c.LogConfiguration as { LogDriver: string; Options: Record<string, unknown> }) ?? {};
    expect(logs.LogDriver).toBe('awslogs');
    expect(logs.Options['awslogs-group']).toEqual({ Ref: 'TrainerLogGroup' });

    const svc = resources.TrainerService.Properties as Record<string, unknown>;
    expect(resources.TrainerService.Type).toBe('AWS::ECS::Service');
    expect(svc.Cluster).toEqual({ Ref: 'TrainerCluster' });
    expect(svc.TaskDefinition).toEqual({ Ref: 'TrainerTaskDefinition' });
    expect(svc.DesiredCount).toBe(0);
    const net = JSON.stringify(svc.NetworkConfiguration);
    for (const param of ['TrainerSubnets', 'TrainerSecurityGroups', 'TrainerAssignPublicIp'])
      expect(net).toContain(`{"Ref":"${param}"}`);
    expect(parameters.TrainerSubnets.Type).toBe('List<AWS::EC2::Subnet::Id>');
    expect(parameters.TrainerSecurityGroups.Type).toBe('List<AWS::EC2::SecurityGroup::Id>');
  });

  it('gives the trainer what it reads and writes (and ECS what it needs to start it)', () => {
    expect(grants('TrainerTaskRole')).toEqual({
      's3:GetObject': [bucket('data/'), bucket('incoming/'), bucket('jobs/'), bucket('models/')],
      's3:PutObject': [bucket('jobs/'), bucket('models/')],
      's3:DeleteObject': [bucket('models/')],
      's3:ListBucket': [BUCKET],
      'sqs:ReceiveMessage': [QUEUE],
      'sqs:DeleteMessage': [QUEUE],
      'sqs:ChangeMessageVisibility': [QUEUE],
      'sqs:SendMessage': ['<JobDeadLetterQueue.Arn>'],
    });
    const exec = grants('TrainerExecutionRole');
    expect(Object.keys(exec).sort()).toEqual([
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetAuthorizationToken',
      'ecr:GetDownloadUrlForLayer',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    expect(exec['logs:PutLogEvents']).toEqual(['<TrainerLogGroup.Arn>']);
    // a workflow may name only sources the trainer can read
    const env = (
      resources.SubmitLambdaFunction.Properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    const allowed = show(env.MLAAS4HEP_ALLOWED_SOURCES).split(',');
    expect(allowed).toEqual(['s3://<DataBucket>/data/', 's3://<DataBucket>/incoming/']);
    for (const a of allowed)
      expect(grants('TrainerTaskRole')['s3:GetObject']).toContain(
        bucket(a.replace('s3://<DataBucket>/', '')),
      );
  });

  it('scales the trainer on queue depth, from zero tasks when idle', () => {
    const t = resources.TrainerScalableTarget.Properties as Record<string, unknown>;
    expect(resources.TrainerScalableTarget.Type).toBe('AWS::ApplicationAutoScaling::ScalableTarget');
    expect(t.MinCapacity).toBe(0);
    expect(t.MaxCapacity).toEqual({ Ref: 'TrainerMaxTasks' });
    expect(t.ScalableDimension).toBe('ecs:service:DesiredCount');
    expect(show(t.ResourceId)).toBe('service/<TrainerCluster>/<TrainerService.Name>');

    const policies = ofType('AWS::ApplicationAutoScaling::ScalingPolicy');
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const [, p] of policies) {
      expect(p.Properties.PolicyType).toBe('StepScaling');
      expect(p.Properties.ScalingTargetId).toEqual({ Ref: 'TrainerScalableTarget' });
    }
    type Alarm = {
      MetricName?: string;
      Dimensions?: Array<{ Value: unknown }>;
      Metrics?: Array<{ Expression?: string; MetricStat?: { Metric: { MetricName: string } } }>;
      AlarmActions: Array<{ Ref: string }>;
      ComparisonOperator: string;
      Threshold: number;
    };
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as unknown as Alarm);
    const actionOf = (a: Alarm) =>
      resources[a.AlarmActions[0].Ref].Properties.StepScalingPolicyConfiguration as {
        AdjustmentType: string;
        StepAdjustments: Array<{ ScalingAdjustment: number }>;
      };
    // scale out while messages wait
    const backlog = alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(backlog).toBeDefined();
    expect(show(backlog!.Dimensions![0].Value)).toBe('<JobQueue.QueueName>');
    expect(backlog!.ComparisonOperator).toBe('GreaterThanThreshold');
    expect(actionOf(backlog!).StepAdjustments.every((s) => s.ScalingAdjustment > 0)).toBe(true);
    // scale in to zero only when nothing waits and nothing is in flight (a running job)
    const idle = alarms.find((a) => a.Metrics?.some((m) => m.Expression));
    expect(idle).toBeDefined();
    expect(idle!.Metrics!.map((m) => m.MetricStat?.Metric.MetricName).filter(Boolean)).toEqual([
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesNotVisible',
    ]);
    expect(idle!.ComparisonOperator).toBe('LessThanOrEqualToThreshold');
    expect(idle!.Threshold).toBe(0);
    expect(actionOf(idle!)).toMatchObject({
      AdjustmentType: 'ExactCapacity',
      StepAdjustments: [{ ScalingAdjustment: 0 }],
    });
  });

  it('offers GPU instances through an EC2 capacity provider, only when asked for', () => {
    for (const r of ['GpuCapacityProvider', 'GpuAutoScalingGroup', 'GpuLaunchTemplate', 'GpuInstanceRole'])
      expect(resources[r].Condition, r).toBe('TrainerOnGpu');
    const asg = resources.GpuAutoScalingGroup.Properties;
    expect(asg.MinSize).toBe('0');
    const strategy = resources.TrainerService.Properties.CapacityProviderStrategy as Array<{
      CapacityProvider: unknown;
    }>;
    expect(strategy[0].CapacityProvider).toEqual({
      'Fn::If': ['TrainerOnGpu', { Ref: 'GpuCapacityProvider' }, { Ref: 'TrainerCapacityProvider' }],
    });
    expect(parameters.TrainerCapacityProvider.AllowedValues).toEqual(['FARGATE', 'FARGATE_SPOT']);
  });
});
