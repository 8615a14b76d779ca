// A zip whose bytes depend only on the file names and contents: entries sorted by name, one fixed
// modification time, fixed permissions, no extended-timestamp field, and stored (not deflated) so
// the bytes do not depend on the zlib build of the machine either.
import yazl from "yazl";

export interface ZipEntry {
  /** Posix path inside the archive. */
  name: string;
  data: Uint8Array;
}

// yazl converts mtime with local-time getters; a date built from local fields gives the same DOS
// date/time (1980-01-01 00:00, the DOS epoch) in every time zone.
const FIXED_MTIME = (): Date => new Date(1980, 0, 1, 0, 0, 0);
const FILE_MODE = 0o100644;

export async function deterministicZip(entries: readonly ZipEntry[]): Promise<Buffer> {
  const names = entries.map((e) => e.name);
  if (new Set(names).size !== names.length) throw new Error(`duplicate zip entry names: ${names.join(", ")}`);
  const zip = new yazl.ZipFile();
  for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    zip.addBuffer(Buffer.from(entry.data), entry.name, {
      mtime: FIXED_MTIME(),
      mode: FILE_MODE,
      compress: false,
      forceDosTimestamp: true,
    });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
