import { describeOldBundle } from '../helpers/old-bundle.js';

describeOldBundle('onnxruntime');
