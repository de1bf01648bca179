/**
 * The pages' one script, served as /-/web/static/app.js (`(${clientMain})()`), so it is
 * type-checked here and needs no build step. It may use nothing from outside its own body.
 * Without it every page still works: the search box is a GET form, paging is plain links.
 *
 * Live search: typing fetches the result list (an HTML fragment the server renders with the
 * same code as the full page) and swaps it in, keeping the URL in step.
 */
export function clientMain(): void {
  const root = document.body.dataset.root ?? '/'
  const input = document.querySelector<HTMLInputElement>('input#q')
  const results = document.querySelector<HTMLElement>('#results')
  if (!input || !results) return
  const list = results
  let timer: ReturnType<typeof setTimeout> | undefined
  let inflight: AbortController | null = null

  async function load(q: string, page: number, push: boolean): Promise<void> {
    inflight?.abort()
    const controller = new AbortController()
    inflight = controller
    const params = new URLSearchParams()
    if (q) params.set('q', q)
    if (page > 1) params.set('page', String(page))
    const query = params.toString()
    try {
      const res = await fetch(`${root}-/web/fragment${query ? `?${query}` : ''}`, { signal: controller.signal, credentials: 'same-origin' })
      if (!res.ok || controller !== inflight) return
      const markup = await res.text()
      if (controller !== inflight) return
      list.innerHTML = markup
      list.setAttribute('aria-busy', 'false')
      const url = `${root}${query ? `?${query}` : ''}`
      if (push) history.pushState(null, '', url)
      else history.replaceState(null, '', url)
    } catch {
      // Aborted by the next keystroke, or the server is gone: the form still works.
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer)
    list.setAttribute('aria-busy', 'true')
    timer = setTimeout(() => void load(input.value.trim(), 1, false), 120)
  })
  input.form?.addEventListener('submit', (event) => {
    event.preventDefault()
    clearTimeout(timer)
    void load(input.value.trim(), 1, true)
  })
  list.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target.closest('a[data-page]') : null
    if (!target) return
    event.preventDefault()
    void load(input.value.trim(), Number(target.getAttribute('data-page')) || 1, true)
  })
  window.addEventListener('popstate', () => {
    const params = new URLSearchParams(location.search)
    input.value = params.get('q') ?? ''
    void load(input.value.trim(), Number(params.get('page')) || 1, false)
  })
}
