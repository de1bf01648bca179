/**
 * What a bench run started, stopped through one place: last started first, once, however the
 * run ends (its own end, or SIGINT/SIGTERM, after which the process exits 130). `onSignal`
 * runs first on a signal (to end a load run in progress).
 */
export function stopList({ onSignal = () => undefined } = {}) {
  const steps = []
  let stopping = null
  const stopAll = () => {
    stopping ??= (async () => {
      for (const step of steps.reverse()) await step().catch(() => undefined)
    })()
    return stopping
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping`)
      onSignal(signal)
      void stopAll().then(() => process.exit(130))
    })
  }
  return { push: (step) => steps.push(step), stopAll }
}
