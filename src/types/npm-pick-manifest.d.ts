// The part of npm-pick-manifest this project calls (it ships no types of its own).
declare module 'npm-pick-manifest' {
  interface PickOptions {
    defaultTag?: string
    before?: string | Date | null
    /** `null` leaves `engines.node` out of the choice; the default is the running process's version. */
    nodeVersion?: string | null
    npmVersion?: string | null
  }
  interface PickablePackument {
    name: string
    'dist-tags'?: Record<string, string>
    versions: Record<string, { version: string; deprecated?: string }>
  }
  function pickManifest<T extends PickablePackument>(packument: T, wanted: string, options?: PickOptions): T['versions'][string]
  export default pickManifest
}
