// The one call made into hosted-git-info (it ships no types of its own).
declare module 'hosted-git-info' {
  interface HostedGitInfo {
    toString(): string
  }
  const hostedGitInfo: { fromUrl(url: string): HostedGitInfo | undefined }
  export default hostedGitInfo
}
