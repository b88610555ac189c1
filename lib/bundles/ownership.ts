import { ForbiddenError, PreconditionFailedError, truncateName } from '../errors.js';
import type { ModelOwner } from '../wire-types.js';
import type { BundleStore } from './bundle-store.js';

/**
 * The model namespace: names are flat, as in TFaaS (`/json` with `"model": "higgs"`), and a name
 * belongs to whoever first publishes into it (a job at submit, an upload), or to a group they
 * named then. Only the owner, or members of the owning group, may publish new versions; admins may
 * delete a model (which frees its name) and claim a model that predates ownership records, but
 * they cannot publish into someone else's. The record is models/<name>/OWNER, created once with a
 * conditional write, so two first claims cannot both win.
 */
export type { ModelOwner } from '../wire-types.js';

/** Who is publishing or looking: the caller's token, or a job's owner. */
export interface Actor {
  sub: string;
  groups?: readonly string[];
  admin?: boolean;
}

/** Whether `actor` may publish into a model owned by `owner`. */
export function mayPublish(owner: ModelOwner, actor: Actor): boolean {
  return (
    owner.user === actor.sub || (owner.group !== undefined && (actor.groups ?? []).includes(owner.group))
  );
}

/** Whether `actor` may see what only the owner sees of a model (its workflow, file paths): owners and admins. */
export function maySeeInternals(owner: ModelOwner | undefined, actor: Actor): boolean {
  return Boolean(actor.admin) || (owner !== undefined && mayPublish(owner, actor));
}

function parseOwner(bytes: Uint8Array): ModelOwner | undefined {
  try {
    const o = JSON.parse(new TextDecoder().decode(bytes)) as Partial<ModelOwner>;
    if (typeof o?.user === 'string' && o.user)
      return {
        user: o.user,
        group: typeof o.group === 'string' ? o.group : undefined,
        since: String(o.since ?? ''),
      };
  } catch {
    // an unreadable record claims nothing for anyone: only an admin's claim can replace it
  }
  return undefined;
}

/** The model's owner, or undefined when its name was never claimed. */
export async function modelOwner(bundles: BundleStore, name: string): Promise<ModelOwner | undefined> {
  const body = await bundles.ownerRecord(name);
  return body && parseOwner(body);
}

function whose(o: ModelOwner): string {
  return o.group ? `group "${truncateName(o.group)}"` : `another user`;
}

function refuse(name: string, owner: ModelOwner): ForbiddenError {
  return new ForbiddenError(
    `the model name "${truncateName(name)}" belongs to ${whose(owner)}: only its owner may publish new versions; choose another name`,
  );
}

/**
 * Makes sure `actor` may publish into the model `name`, claiming the name (for `group` when given,
 * which the actor must belong to) if nobody has. Throws ForbiddenError (403) when the name belongs
 * to someone else, or is a model published before ownership was recorded and the actor is no admin.
 */
export async function claimModel(
  bundles: BundleStore,
  name: string,
  actor: Actor,
  group?: string,
): Promise<ModelOwner> {
  if (group !== undefined && !(actor.groups ?? []).includes(group))
    throw new ForbiddenError(
      `you are not a member of the group "${truncateName(group)}", so it cannot own a model`,
    );
  for (let attempt = 0; ; attempt++) {
    const body = await bundles.ownerRecord(name);
    const current = body && parseOwner(body);
    if (current) {
      if (!mayPublish(current, actor)) throw refuse(name, current);
      return current;
    }
    if (body !== undefined)
      throw new ForbiddenError(
        `the owner record of model "${truncateName(name)}" is unreadable; an admin can delete the model`,
      );
    if (!actor.admin && (await bundles.listing(name)).versions.size)
      throw new ForbiddenError(
        `the model "${truncateName(name)}" was published before model names had owners; an admin can claim it (by publishing to it) or delete it`,
      );
    const claim: ModelOwner = { user: actor.sub, group, since: new Date().toISOString() };
    try {
      await bundles.createOwnerRecord(name, JSON.stringify(claim));
      return claim;
    } catch (err) {
      // another first claim won the conditional write: judge against it
      if (!(err instanceof PreconditionFailedError) || attempt >= 2) throw err;
    }
  }
}
