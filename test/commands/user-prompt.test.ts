import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readFirstLine, readHidden, readNewPassword, type PromptInput } from '../../src/cli/prompt.js'

/** The password prompts of `sinopia-cli user add|passwd`, on fake terminals. */

function fakeTerminal(): { input: PromptInput & PassThrough; output: PassThrough; printed: () => string; rawModes: boolean[] } {
  const rawModes: boolean[] = []
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (mode: boolean) => rawModes.push(mode) })
  const output = new PassThrough()
  let printed = ''
  output.setEncoding('utf8').on('data', (text: string) => (printed += text))
  return { input, output, printed: () => printed, rawModes }
}

describe('readHidden', () => {
  it('reads keys in raw mode without echo, with Backspace, and ignores arrow keys', async () => {
    const t = fakeTerminal()
    const pending = readHidden('Password: ', t.input, t.output)
    for (const keys of ['pa', 'x\u007f', '\u001b[D', 'sé', '\r']) t.input.write(keys)
    expect(await pending).toBe('pasé')
    expect(t.printed()).toBe('Password: \n')
    expect(t.rawModes).toEqual([true, false])
  })

  it('cancels on Ctrl-C and on the end of input', async () => {
    const t = fakeTerminal()
    const pending = readHidden('Password: ', t.input, t.output)
    t.input.write('ab\u0003')
    await expect(pending).rejects.toMatchObject({ code: 'ECANCELED' })
    expect(t.rawModes).toEqual([true, false])
    const ended = readHidden('Password: ', t.input, t.output)
    t.input.end()
    await expect(ended).rejects.toMatchObject({ code: 'ECANCELED' })
  })
})

describe('readNewPassword', () => {
  it('asks twice on a terminal and accepts matching answers', async () => {
    const t = fakeTerminal()
    const pending = readNewPassword({ fromStdin: false, input: t.input, output: t.output })
    t.input.write('s3cret\r')
    t.input.write('s3cret\r')
    expect(await pending).toBe('s3cret')
    expect(t.printed()).toBe('Password: \nRepeat the password: \n')
  })

  it('refuses answers that differ, and an empty one', async () => {
    const t = fakeTerminal()
    const differ = readNewPassword({ fromStdin: false, input: t.input, output: t.output })
    t.input.write('one\r')
    t.input.write('two\r')
    await expect(differ).rejects.toMatchObject({ code: 'EPASSWORDMISMATCH' })
    const empty = readNewPassword({ fromStdin: false, input: t.input, output: t.output })
    t.input.write('\r')
    t.input.write('\r')
    await expect(empty).rejects.toMatchObject({ code: 'EBADPASSWORD' })
  })

  it('reads the first line of stdin with fromStdin, and refuses to wait for a terminal that is not there', async () => {
    const pipe = new PassThrough()
    const pending = readNewPassword({ fromStdin: true, input: pipe })
    pipe.write('from-')
    pipe.write('pipe\r\nsecond line\n')
    expect(await pending).toBe('from-pipe')
    await expect(readNewPassword({ fromStdin: false, input: new PassThrough() })).rejects.toMatchObject({ code: 'ENOTTY' })
  })

  it('takes a last line without a newline, and refuses an endless one', async () => {
    const pipe = new PassThrough()
    const pending = readFirstLine(pipe)
    pipe.end('no-newline')
    expect(await pending).toBe('no-newline')
    const endless = new PassThrough()
    const tooLong = readFirstLine(endless)
    endless.write('x'.repeat(5000))
    await expect(tooLong).rejects.toMatchObject({ code: 'EBADPASSWORD' })
  })
})
