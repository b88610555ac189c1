import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDevIssuer } from '../../lib/auth/dev-issuer.js';
import { InvalidInputError } from '../../lib/errors.js';
import { list, parse } from './args.js';

const USAGE = 'mlaas4hep token [--scope submit,predict,admin] [--sub NAME] [--data ./mlaas4hep-local]';

/** Mints a token from the local stack's development issuer (its key lives in the stack's folder). */
export async function token(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(
    argv,
    {
      scope: { type: 'string', default: 'submit,predict' },
      sub: { type: 'string', default: 'dev' },
      data: { type: 'string', default: './mlaas4hep-local' },
    },
    USAGE,
  );
  const pem = await readFile(join(values.data!, 'dev-issuer-key.pem'), 'utf8').catch(() => {
    throw new InvalidInputError(
      `no development issuer in ${values.data}: start the local stack first (npm start)`,
    );
  });
  const scopes = list(values.scope) ?? [];
  const unknown = scopes.filter((s) => !['submit', 'predict', 'admin'].includes(s));
  if (unknown.length)
    throw new InvalidInputError(`unknown scope(s) ${unknown.join(', ')}: use submit, predict, admin`);
  out.write(`${createDevIssuer(undefined, undefined, pem).mint({ sub: values.sub!, scopes })}\n`);
}
