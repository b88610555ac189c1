import { createS3Client } from '../lib/aws/s3-client.js';
import { s3DataAccess } from '../lib/aws/s3-data-access.js';
import { S3ObjectStore } from '../lib/aws/s3-object-store.js';
import { dataHandlers } from '../lib/service/data-routes.js';
import { DataService } from '../lib/service/data-service.js';
import { configFor, httpApi, sourcePolicy } from './compose.js';

const config = configFor('bucket');
const s3 = createS3Client({ endpoint: config.endpoints.s3 });
const service = new DataService({
  store: new S3ObjectStore(s3, config.bucket),
  data: s3DataAccess(s3, config.bucket),
  checkSources: sourcePolicy(config),
  maxDataUploadBytes: config.maxDataUploadBytes,
});

/** The `data` rows of the route table: data files, their branches, upload URLs, schema, expressions. */
export const handler = httpApi(dataHandlers(service), config);
