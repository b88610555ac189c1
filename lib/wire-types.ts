/**
 * Shapes of the API's answers that the web console reads too. This file imports nothing, so the
 * console's type check (browser types, no Node) can include it: the server's types and the page's
 * are then one declaration, and a change to an answer is a type error in the page that reads it.
 */

/** How the browser signs in: OpenID Connect authorization code with PKCE, public values only. */
export interface ConsoleOidc {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  /** what the authorization request asks for, e.g. "openid mlaas4hep/submit mlaas4hep/predict" */
  scope: string;
  /** where sign-out sends the browser (Cognito's /logout), if anywhere */
  logoutEndpoint?: string;
}

/** GET /console/config.json */
export interface ConsoleConfig {
  /** null: no issuer configured; the console then takes a pasted token (kept in memory as well) */
  oidc: ConsoleOidc | null;
  /** origins besides its own the page may call: the token endpoint, the bucket uploads go to */
  connect: string[];
}

/** A running job's position, in its record. */
export interface JobProgress {
  chunk: number;
  chunks: number;
  epoch: number;
  epochs: number;
  loss: number;
  eventsPerSecond: number;
  /** the validation split's AUC after the last complete epoch */
  valAuc?: number;
}

/** One epoch as the job page draws it (chunk mode repeats epochs per chunk). */
export interface JobEpoch {
  epoch: number;
  chunk?: number;
  loss: number;
  valLoss?: number;
  valAuc?: number;
}

/** Who may publish versions of a model. */
export interface ModelOwner {
  /** the token subject of the user who claimed the name */
  user: string;
  /** a group whose members may publish too */
  group?: string;
  /** when the name was claimed */
  since: string;
}

/** GET /models/{name}: a version as anyone with the predict scope sees it. */
export interface ModelDescription<OnnxMapping = unknown> {
  name: string;
  latest: string;
  /** the version described (the latest unless asked for another) */
  version: string;
  /** complete versions, newest first */
  versions: string[];
  description: string;
  timestamp: string;
  features: string[];
  classes: Array<number | string>;
  metrics: Record<string, unknown>;
  /** plot names of the version described */
  plots: string[];
  /** the latest version's ONNX input mapping, when it has model.onnx */
  onnx?: OnnxMapping;
  /** who may publish versions (absent for a model published before names had owners) */
  owner?: ModelOwner;
  /** the workflow that trained the latest version (its file paths): shown to its owner and admins only */
  workflow?: unknown;
}
