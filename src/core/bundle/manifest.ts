import { MANIFEST_ENTRY, bundleError, parseManifest, type BundleManifest } from './format.js'
import { readAll, readTar } from './tar-reader.js'
import { MAX_MANIFEST_BYTES } from './verify.js'

/** A bundle's manifest alone, without reading its tarballs (list, --since). */
export async function readManifest(file: string): Promise<BundleManifest> {
  const entries = readTar(file)
  try {
    const first = await entries.next()
    if (first.done || first.value.path !== MANIFEST_ENTRY) throw bundleError(`${file} does not start with ${MANIFEST_ENTRY}: not a sinopia-cli bundle`)
    return parseManifest(await readAll(first.value, MAX_MANIFEST_BYTES))
  } finally {
    await entries.return(undefined)
  }
}
