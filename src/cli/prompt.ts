import { SinopiaError } from '../core/errors.js'

/** The parts of process.stdin a prompt uses (a fake stream in tests). */
export interface PromptInput extends NodeJS.ReadableStream {
  isTTY?: boolean
  setRawMode?: (mode: boolean) => unknown
}

const MAX_PASSWORD_INPUT = 4096
const CTRL_C = '\u0003'
const CTRL_D = '\u0004'

const canceled = () => new SinopiaError('ECANCELED', 'canceled')

/**
 * Asks for a secret on a terminal without echoing it: raw mode, one key at a time, Enter
 * ends, Backspace deletes, Ctrl-C cancels. The prompt goes to `output` (stderr by default,
 * so stdout stays clean for scripts).
 */
export function readHidden(prompt: string, input: PromptInput = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (error: SinopiaError | null) => {
      input.removeListener('data', onData)
      input.removeListener('end', onEnd)
      input.setRawMode?.(false)
      input.pause()
      output.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onEnd = () => finish(canceled())
    const onData = (chunk: string | Buffer) => {
      const text = chunk.toString()
      // Arrow and function keys arrive as escape sequences: not part of a password.
      if (text.startsWith('\u001b')) return
      for (const char of text) {
        if (char === '\r' || char === '\n') return finish(null)
        if (char === CTRL_C || (char === CTRL_D && value === '')) return finish(canceled())
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('')
        else if (char >= ' ') value += char
        if (value.length > MAX_PASSWORD_INPUT) return finish(new SinopiaError('EBADPASSWORD', 'password too long'))
      }
    }
    output.write(prompt)
    input.setRawMode?.(true)
    input.on('data', onData)
    input.on('end', onEnd)
    input.resume()
  })
}

/** The first line of a stream that is not a terminal (`--password-stdin`), without its line ending. */
export function readFirstLine(input: PromptInput = process.stdin): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const finish = (error: SinopiaError | null) => {
      input.removeListener('data', onData)
      input.removeListener('end', onEnd)
      input.removeListener('error', onError)
      // Done with it: an open pipe (the writer still running) would otherwise keep the process alive.
      ;(input as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.()
      if (error) return reject(error)
      const newline = text.indexOf('\n')
      resolve((newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, ''))
    }
    const onData = (chunk: string | Buffer) => {
      text += chunk.toString()
      if (text.includes('\n')) finish(null)
      else if (text.length > MAX_PASSWORD_INPUT) finish(new SinopiaError('EBADPASSWORD', 'the first line of standard input is too long for a password'))
    }
    const onEnd = () => finish(null)
    const onError = (error: Error) => finish(new SinopiaError('ESTDIN', `cannot read standard input: ${error.message}`))
    input.on('data', onData)
    input.on('end', onEnd)
    input.on('error', onError)
    input.resume()
  })
}

/**
 * A new password: from the first line of stdin with `fromStdin`, else asked twice on the
 * terminal. Without a terminal and without `fromStdin` it fails rather than hang.
 */
export async function readNewPassword(options: { fromStdin: boolean; input?: PromptInput; output?: NodeJS.WritableStream }): Promise<string> {
  const input = options.input ?? process.stdin
  let password: string
  if (options.fromStdin) {
    password = await readFirstLine(input)
  } else if (input.isTTY) {
    password = await readHidden('Password: ', input, options.output)
    if ((await readHidden('Repeat the password: ', input, options.output)) !== password) {
      throw new SinopiaError('EPASSWORDMISMATCH', 'the two passwords differ; nothing was changed')
    }
  } else {
    throw new SinopiaError('ENOTTY', 'no terminal to ask for the password on', { hint: 'run it in a terminal, or pass --password-stdin and pipe the password in' })
  }
  if (password === '') throw new SinopiaError('EBADPASSWORD', 'the password is empty; nothing was changed')
  return password
}
