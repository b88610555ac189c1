import { InvalidInputError } from '../../lib/errors.js';
import { list, parse } from './args.js';
import { findDevIssuer } from './dev-issuer-key.js';

const USAGE = 'mlaas4hep token [--scope submit,predict,admin] [--sub NAME] [--data DIR]';

/**
 * Mints a token from a development issuer: the local stack's (npm start) or `serve --dev`'s, whose
 * key lives in the stack's folder (--data; by default the newest of ./mlaas4hep-local and
 * ./mlaas4hep-data).
 */
export async function token(argv: string[], out: NodeJS.WritableStream): Promise<void> {
  const { values } = parse(
    argv,
    {
      scope: { type: 'string', default: 'submit,predict' },
      sub: { type: 'string', default: 'dev' },
      data: { type: 'string' },
    },
    USAGE,
  );
  const scopes = list(values.scope) ?? [];
  const unknown = scopes.filter((s) => !['submit', 'predict', 'admin'].includes(s));
  if (unknown.length)
    throw new InvalidInputError(`unknown scope(s) ${unknown.join(', ')}: use submit, predict, admin`);
  const dev = await findDevIssuer(values.data);
  out.write(`${dev.mintToken({ sub: values.sub!, scopes })}\n`);
}
