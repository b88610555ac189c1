import { type DataAccess, inspectSource, listDataFiles, uploadTicket } from '../data/files.js';
import { checkExpression, workflowJsonSchema } from '../dataset/workflow-schema.js';
import { InvalidInputError, UnprocessableError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Caller } from './job-service.js';

export interface DataServiceDeps {
  /** the bucket (or folder) whose data/ and incoming/ hold training data */
  store: ObjectStore;
  /** how its keys are named in workflows, opened and uploaded to; absent: no data routes */
  data?: DataAccess;
  /** files a workflow may read; throws (or rejects) for anything else (the deployment's policy) */
  checkSources?(files: string[]): void | Promise<void>;
  /** the largest .root file an upload URL is issued for (default 2 GiB) */
  maxDataUploadBytes?: number;
}

/**
 * Training data and workflow help for the console (the `data` function): the files workflows may
 * read, their trees and branches, upload URLs, the workflow's JSON Schema and the expression check.
 */
export class DataService {
  constructor(private readonly deps: DataServiceDeps) {}

  private access(): DataAccess {
    if (!this.deps.data)
      throw new UnprocessableError('this deployment has no training data store', 'NoDataStore');
    return this.deps.data;
  }

  private readable = async (source: string): Promise<boolean> => {
    try {
      await this.deps.checkSources?.([source]);
      return true;
    } catch {
      return false;
    }
  };

  /** .root files under data/ and incoming/ that workflows here may read. */
  listDataFiles() {
    return listDataFiles(this.deps.store, this.access(), this.readable);
  }

  /** The trees and branches of one readable file (the allow-list applies as on /submit). */
  async inspectData(source: string | undefined) {
    if (!source) throw new InvalidInputError('name the file: ?source=s3://bucket/data/file.root');
    // the policy may resolve host names: awaited, or a refusal would arrive after the answer
    await this.deps.checkSources?.([source]);
    return inspectSource(this.access(), source);
  }

  /** A presigned PUT for one .root file under the caller's folder of data/ or incoming/. */
  uploadTicket(caller: Caller, body: unknown) {
    return uploadTicket(this.access(), caller.sub, body, this.deps.maxDataUploadBytes ?? 2 * 2 ** 30);
  }

  workflowSchema() {
    return workflowJsonSchema();
  }

  checkExpression(body: unknown) {
    return checkExpression(body);
  }
}
