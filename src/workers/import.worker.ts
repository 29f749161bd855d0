// Entry of the model-import worker: OPFS sync access handles (fast, flushable in place, hence resumable) exist only
// in dedicated workers, so ModelStore (src/storage/opfs-store.ts) runs each import's copy loop here.
import { serveImportJobs } from '../storage/import-job.ts';

serveImportJobs(self as unknown as Parameters<typeof serveImportJobs>[0]);
