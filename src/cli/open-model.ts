// Opens a GGUF (or the first shard of a split one) from a path for the CLI commands.
import { openGGUF, type GGUFModel } from '../gguf/model.ts';
import { NodeFileSource, siblingOpener } from '../storage/node-fs.ts';

export async function openModelFile(path: string): Promise<GGUFModel> {
  const src = await NodeFileSource.open(path);
  try {
    return await openGGUF(src, siblingOpener(path));
  } catch (e) {
    await src.close();
    throw e;
  }
}
